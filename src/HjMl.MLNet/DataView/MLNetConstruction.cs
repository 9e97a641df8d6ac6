using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.DataView;

/// <summary>
/// ML.NET's public interfaces hand out <see cref="SchemaShape.Column"/> and <see cref="TrainerInfo"/> values, but their
/// constructors are internal, so a component outside ML.NET cannot describe its output shape or itself any other way.
/// This class calls those two constructors by reflection, in one place, and says so when an ML.NET version moves them.
/// </summary>
internal static class MLNetConstruction
{
    private static readonly ConstructorInfo ColumnConstructor = Find(
        typeof(SchemaShape.Column),
        [typeof(string), typeof(SchemaShape.Column.VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape)]);

    private static readonly ConstructorInfo TrainerInfoConstructor = Find(
        typeof(TrainerInfo),
        [typeof(bool), typeof(bool), typeof(bool), typeof(bool), typeof(bool), typeof(bool)]);

    /// <summary>A column of an estimator's output shape.</summary>
    public static SchemaShape.Column Column(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType, bool isKey, SchemaShape? annotations = null)
        => (SchemaShape.Column)ColumnConstructor.Invoke([name, kind, itemType, isKey, annotations]);

    /// <summary>A scalar column of <paramref name="type"/>.</summary>
    public static SchemaShape.Column Scalar(string name, DataViewType type, SchemaShape? annotations = null)
        => Column(name, SchemaShape.Column.VectorKind.Scalar, type, type is KeyDataViewType, annotations);

    /// <summary>A known-size vector column of <paramref name="itemType"/>.</summary>
    public static SchemaShape.Column Vector(string name, DataViewType itemType, SchemaShape? annotations = null)
        => Column(name, SchemaShape.Column.VectorKind.Vector, itemType, false, annotations);

    /// <summary>The annotation shape of text annotations with the given names (score kinds, slot names).</summary>
    public static SchemaShape Annotations(params (string Name, DataViewType Type, SchemaShape.Column.VectorKind Kind)[] annotations)
        => new(annotations.Select(annotation => Column(annotation.Name, annotation.Kind, annotation.Type, false)));

    /// <summary>
    /// What a trainer tells ML.NET about itself: HjMl standardises features itself (no normalisation needed), reads
    /// the data once into memory (no caching wanted), and is not calibrated by ML.NET.
    /// </summary>
    public static TrainerInfo TrainerInfo()
        => (TrainerInfo)TrainerInfoConstructor.Invoke([false, false, false, false, false, false]);

    /// <summary>The input shape with <paramref name="added"/> appended; a new column replaces one of the same name.</summary>
    public static SchemaShape Append(SchemaShape input, IEnumerable<SchemaShape.Column> added)
    {
        var columns = input.ToDictionary(column => column.Name);
        foreach (SchemaShape.Column column in added)
        {
            columns[column.Name] = column;
        }

        return new SchemaShape(columns.Values);
    }

    private static ConstructorInfo Find(Type type, Type[] parameters)
        => type.GetConstructor(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, null, parameters, null)
            ?? throw new InvalidOperationException($"This ML.NET ({type.Assembly.GetName().Version}) has no {type.Name}({string.Join(", ", parameters.Select(parameter => parameter.Name))}) constructor, which HjMl.MLNet needs; use the ML.NET version HjMl.MLNet was built against.");
}
