namespace HjMl.MLNet.Columns;

/// <summary>ML.NET's default column names, which every simple catalog overload uses.</summary>
public static class DefaultColumnNames
{
    /// <summary>"Features".</summary>
    public const string Features = "Features";

    /// <summary>"Label".</summary>
    public const string Label = "Label";

    /// <summary>"Score".</summary>
    public const string Score = "Score";

    /// <summary>"Probability".</summary>
    public const string Probability = "Probability";

    /// <summary>"PredictedLabel".</summary>
    public const string PredictedLabel = "PredictedLabel";
}
