namespace HjMl.MLNet.Columns;

/// <summary>The names of the annotations ML.NET's own components write and read (ML.NET keeps its constants internal).</summary>
internal static class AnnotationNames
{
    public const string SlotNames = "SlotNames";
    public const string KeyValues = "KeyValues";
    public const string ScoreColumnKind = "ScoreColumnKind";
    public const string ScoreValueKind = "ScoreValueKind";
    public const string IsNormalized = "IsNormalized";
}
