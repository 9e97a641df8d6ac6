using System.Reflection;
using HjMl.MLNet.DataView;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Tests.Contract;

/// <summary>Reads every visible column of a view, whatever its type, and compares views and schemas as the contract needs.</summary>
internal static class ColumnValues
{
    /// <summary>
    /// The shape ML.NET's SchemaShape.Create gives a schema (internal to ML.NET): one column per visible name, vector kind,
    /// item type (a key's raw type, with IsKey), and the annotations' shapes.
    /// </summary>
    public static SchemaShape Shape(DataViewSchema schema)
        => new(schema.Where(column => !column.IsHidden).Select(column => Column(column.Name, column.Type, new SchemaShape(column.Annotations.Schema.Select(annotation => Column(annotation.Name, annotation.Type, null))))));

    /// <summary>
    /// ML.NET's SchemaShape.Column.IsCompatibleWith (internal to ML.NET): the same vector kind, item type and key-ness,
    /// and every annotation delivered was promised, compatibly.
    /// </summary>
    public static bool Compatible(SchemaShape.Column delivered, SchemaShape.Column promised)
        => delivered.Name == promised.Name && delivered.Kind == promised.Kind && delivered.ItemType.Equals(promised.ItemType) && delivered.IsKey == promised.IsKey
            && delivered.Annotations.All(annotation => promised.Annotations.Any(promise => Compatible(annotation, promise)));

    /// <summary>A shape column as text: kind, item type, key-ness and annotation names.</summary>
    public static string Describe(SchemaShape.Column column)
        => $"{column.Kind} {column.ItemType}{(column.IsKey ? " key" : string.Empty)} [{string.Join(", ", column.Annotations.Select(annotation => annotation.Name).Order())}]";

    /// <summary>Name, type (sizes and key counts included) and, if asked, annotation names of each visible column, in order.</summary>
    public static string[] Describe(DataViewSchema schema, bool annotations = true)
        => [.. schema.Where(column => !column.IsHidden).Select(column => $"{column.Name}: {column.Type}" + (annotations ? $" [{string.Join(", ", column.Annotations.Schema.Select(annotation => annotation.Name).Order())}]" : string.Empty))];

    /// <summary>Every visible column's values, row by row: numbers as double, text as string, vectors as dense arrays.</summary>
    public static Dictionary<string, object[]> Read(IDataView view)
    {
        DataViewSchema.Column[] columns = [.. view.Schema.Where(column => !column.IsHidden)];
        var values = columns.ToDictionary(column => column.Name, _ => new List<object>());
        using DataViewRowCursor cursor = view.GetRowCursor(columns);
        Func<object>[] readers = [.. columns.Select(column => Reader(cursor, column))];
        while (cursor.MoveNext())
        {
            for (int i = 0; i < columns.Length; i++)
            {
                values[columns[i].Name].Add(readers[i]());
            }
        }

        return values.ToDictionary(pair => pair.Key, pair => pair.Value.ToArray());
    }

    /// <summary>Equal columns: numbers within <paramref name="tolerance"/> relative to max(1, |value|) (0: the same floats), everything else exactly.</summary>
    public static void AssertSame(Dictionary<string, object[]> expected, Dictionary<string, object[]> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach ((string name, object[] left) in expected)
        {
            object[] right = actual[name];
            Assert.True(left.Length == right.Length, $"{what}: column {name} has {left.Length} rows, then {right.Length}.");
            for (int row = 0; row < left.Length; row++)
            {
                object[] a = left[row] as object[] ?? [left[row]];
                object[] b = right[row] as object[] ?? [right[row]];
                Assert.True(a.Length == b.Length, $"{what}: {name}, row {row}: {a.Length} values, then {b.Length}.");
                for (int slot = 0; slot < a.Length; slot++)
                {
                    Assert.True(Same(a[slot], b[slot], tolerance), $"{what}: {name}, row {row}, slot {slot}: {a[slot]} then {b[slot]}.");
                }
            }
        }
    }

    private static bool Same(object a, object b, double tolerance)
    {
        if (a is double x && b is double y)
        {
            return x.Equals(y) || Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x));
        }

        return a.Equals(b);
    }

    private static SchemaShape.Column Column(string name, DataViewType type, SchemaShape? annotations)
    {
        DataViewType item = type is VectorDataViewType vector ? vector.ItemType : type;
        SchemaShape.Column.VectorKind kind = type is VectorDataViewType { IsKnownSize: var known } ? (known ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.VariableVector) : SchemaShape.Column.VectorKind.Scalar;
        bool isKey = item is KeyDataViewType;
        DataViewType shapeItem = isKey ? (item.RawType == typeof(uint) ? NumberDataViewType.UInt32 : NumberDataViewType.UInt64) : item;
        return MLNetConstruction.Column(name, kind, shapeItem, isKey, annotations);
    }

    private static Func<object> Reader(DataViewRow row, DataViewSchema.Column column)
    {
        MethodInfo typed = typeof(ColumnValues).GetMethod(nameof(TypedReader), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(column.Type.RawType);
        return (Func<object>)typed.Invoke(null, [row, column])!;
    }

    private static Func<object> TypedReader<T>(DataViewRow row, DataViewSchema.Column column)
    {
        ValueGetter<T> getter = row.GetGetter<T>(column);
        return () =>
        {
            T value = default!;
            getter(ref value);
            return Normalise(value!);
        };
    }

    // Numbers to double, text to string, vectors to dense arrays of those (copied: getters may reuse their buffers).
    private static object Normalise(object value)
    {
        Type type = value.GetType();
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(VBuffer<>))
        {
            MethodInfo dense = typeof(ColumnValues).GetMethod(nameof(Dense), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(type.GetGenericArguments()[0]);
            return dense.Invoke(null, [value])!;
        }

        return value switch
        {
            float number => (double)number,
            double number => number,
            uint number => (double)number,
            ulong number => (double)number,
            int number => (double)number,
            long number => (double)number,
            bool flag => flag,
            ReadOnlyMemory<char> text => text.ToString(),
            _ => throw new NotSupportedException($"The contract test cannot read {type.Name} values."),
        };
    }

    private static object[] Dense<T>(VBuffer<T> vector) => [.. vector.DenseValues().Select(item => Normalise(item!))];
}
