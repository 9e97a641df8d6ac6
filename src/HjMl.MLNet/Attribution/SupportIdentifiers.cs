using HjMl.MLNet.Prediction;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Attribution;

/// <summary>
/// The user's ids of a model's support points: per support point (head-major, as <see cref="HjMl.Models.HopfColeModel.SupportRows"/>),
/// the value of an id column of the training data at the row the support point started on. Read once at Fit; the
/// GibbsAttribution transform then reports these ids in TopSupportRows instead of positions.
/// </summary>
internal abstract class SupportIdentifiers
{
    protected SupportIdentifiers(string columnName, PrimitiveDataViewType type)
    {
        ColumnName = columnName;
        Type = type;
    }

    /// <summary>The id column of the training data.</summary>
    public string ColumnName { get; }

    /// <summary>Its type, the item type of TopSupportRows.</summary>
    public PrimitiveDataViewType Type { get; }

    /// <summary>
    /// TopSupportRows' type: a vector of <see cref="Type"/> whose size the type leaves open (each row holds k ids),
    /// because the value mapping a saved model runs in its place (<see cref="PiecesToIds"/>) cannot declare one.
    /// </summary>
    public VectorDataViewType VectorType => new(Type);

    /// <summary>
    /// Reads <paramref name="columnName"/> of <paramref name="trainingData"/>, which must be the rows the model was
    /// trained on in the order the trainer read them (support rows are positions among them).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing or of an unsupported type, the row count is not the training data's, or an integer id cannot mark a support point without a training row.</exception>
    public static SupportIdentifiers Read(IDataView trainingData, string columnName, HopfColeModelParameters model)
    {
        DataViewSchema.Column column = trainingData.Schema.GetColumnOrNull(columnName)
            ?? throw new ArgumentOutOfRangeException(nameof(columnName), $"The id column '{columnName}' (IdColumnName) is not in the data GibbsAttribution was fitted on; it must be a column of the training data.");
        if (column.Type is not (TextDataViewType or NumberDataViewType))
        {
            throw new ArgumentOutOfRangeException(nameof(columnName), $"The id column '{columnName}' holds {column.Type}; an id column must hold text or numbers.");
        }

        var read = (Func<IDataView, DataViewSchema.Column, HopfColeModelParameters, SupportIdentifiers>)Delegate.CreateDelegate(
            typeof(Func<IDataView, DataViewSchema.Column, HopfColeModelParameters, SupportIdentifiers>),
            typeof(SupportIdentifiers).GetMethod(nameof(ReadTyped), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.MakeGenericMethod(column.Type.RawType));
        return read(trainingData, column, model);
    }

    /// <summary>A getter writing the ids of <paramref name="pieces"/>' current support points (head-major indices).</summary>
    public abstract Delegate Getter(Func<int[]> pieces);

    /// <summary>
    /// ML.NET's own stages mapping a vector of head-major support point indices (Int64, <paramref name="inputColumnName"/>)
    /// to their ids (<paramref name="outputColumnName"/>, a vector of <see cref="Type"/>): what a saved pipeline runs.
    /// </summary>
    public abstract IEstimator<ITransformer> PiecesToIds(MLContext context, string outputColumnName, string inputColumnName);

    private static SupportIdentifiers<TId> ReadTyped<TId>(IDataView data, DataViewSchema.Column column, HopfColeModelParameters model)
    {
        IReadOnlyList<int> rows = model.Model.SupportRows;
        var wanted = new Dictionary<int, TId>();
        foreach (int row in rows.Where(row => row >= 0))
        {
            wanted[row] = default!;
        }

        long count = 0;
        using (DataViewRowCursor cursor = data.GetRowCursor([column]))
        {
            ValueGetter<TId> get = cursor.GetGetter<TId>(column);
            while (cursor.MoveNext())
            {
                if (cursor.Position <= int.MaxValue && wanted.ContainsKey((int)cursor.Position))
                {
                    TId value = default!;
                    get(ref value);

                    // Text values may point into the loader's buffers; keep a copy.
                    wanted[(int)cursor.Position] = value is ReadOnlyMemory<char> text ? (TId)(object)text.ToString().AsMemory() : value;
                }

                count++;
            }
        }

        if (model.NumberOfTrainingRows > 0 && count != model.NumberOfTrainingRows)
        {
            throw new ArgumentOutOfRangeException(nameof(data), $"The id column '{column.Name}' (IdColumnName) is read by position, so GibbsAttribution must be fitted on the training data in the order the trainer read it (as it is when it follows the trainer in one chain); it got {count} rows, the model was trained on {model.NumberOfTrainingRows}.");
        }

        TId missing = Missing<TId>(column, rows);
        var ids = new TId[rows.Count];
        for (int piece = 0; piece < ids.Length; piece++)
        {
            ids[piece] = rows[piece] >= 0 ? wanted[rows[piece]] : missing;
        }

        return new SupportIdentifiers<TId>(column.Name, (PrimitiveDataViewType)column.Type, ids);
    }

    // A support point that did not start on a training row (SupportInitialisation.Random) has no id: empty text, NaN,
    // and for integer ids, which have no missing value, an error rather than an id some row may really have.
    private static TId Missing<TId>(DataViewSchema.Column column, IReadOnlyList<int> rows)
    {
        object? missing = column.Type.RawType switch
        {
            Type t when t == typeof(ReadOnlyMemory<char>) => ReadOnlyMemory<char>.Empty,
            Type t when t == typeof(float) => float.NaN,
            Type t when t == typeof(double) => double.NaN,
            _ => null,
        };
        if (missing is null && rows.Any(row => row < 0))
        {
            throw new ArgumentOutOfRangeException(nameof(column), $"The id column '{column.Name}' holds {column.Type}, which has no missing value, but {rows.Count(row => row < 0)} support points did not start on a training row (SupportInitialisation.Random); use a text or floating-point id column.");
        }

        return (TId)(missing ?? default(TId)!);
    }
}

/// <summary>Support point ids of the id column's raw type <typeparamref name="TId"/>.</summary>
internal sealed class SupportIdentifiers<TId>(string columnName, PrimitiveDataViewType type, TId[] ids) : SupportIdentifiers(columnName, type)
{
    public override Delegate Getter(Func<int[]> pieces)
        => (ValueGetter<VBuffer<TId>>)((ref VBuffer<TId> value) =>
        {
            int[] current = pieces();
            VBufferEditor<TId> editor = VBufferEditor.Create(ref value, current.Length);
            for (int i = 0; i < current.Length; i++)
            {
                editor.Values[i] = ids[current[i]];
            }

            value = editor.Commit();
        });

    public override IEstimator<ITransformer> PiecesToIds(MLContext context, string outputColumnName, string inputColumnName)
        => typeof(TId) == typeof(ReadOnlyMemory<char>)
            ? context.Transforms.Conversion.MapValue(outputColumnName, ids.Select((id, piece) => new KeyValuePair<long, string>(piece, id!.ToString()!)), inputColumnName)
            : context.Transforms.Conversion.MapValue(outputColumnName, ids.Select((id, piece) => new KeyValuePair<long, TId>(piece, id)), inputColumnName);
}
