using System.Globalization;
using System.Text;
using HjMl.Cli.Data;
using HjMl.Models;
using HjMl.Training;

namespace HjMl.Cli.Modelling;

/// <summary>
/// Writes, beside a trained ML.NET zip, what Model Builder writes: a consumption project (ModelInput and ModelOutput
/// classes from the inferred schema, a model class with Predict and Explain, a Program that runs both on one row), and
/// the training code that rebuilds the pipeline with ML.NET's API.
/// </summary>
internal static class ConsumptionProject
{
    /// <summary>
    /// Writes the project into <paramref name="folder"/> (created), with a copy of <paramref name="modelPath"/> and the
    /// training code (<see cref="TrainingCode"/>) for <paramref name="options"/> on <paramref name="dataFile"/>.
    /// HjMl.MLNet is referenced as a package of <paramref name="hjmlVersion"/>, or as the project at
    /// <paramref name="hjmlProject"/> when given (a checkout of the repository).
    /// </summary>
    public static void Write(string folder, string modelPath, TabularSchema schema, HopfColeTrainerOptions options, string dataFile, IReadOnlyList<string?[]> exampleRows, string hjmlVersion, string? hjmlProject)
    {
        Directory.CreateDirectory(folder);
        string name = Identifier(Path.GetFileNameWithoutExtension(folder));
        File.Copy(modelPath, Path.Combine(folder, "model.zip"), overwrite: true);
        string reference = hjmlProject is null
            ? $"    <PackageReference Include=\"HjMl.MLNet\" Version=\"{hjmlVersion}\" />"
            : $"    <ProjectReference Include=\"{Path.GetFullPath(hjmlProject)}\" />";
        File.WriteAllText(Path.Combine(folder, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Microsoft.ML" Version="6.0.0" />
                <PackageReference Include="Microsoft.ML.OnnxTransformer" Version="6.0.0" />
                <PackageReference Include="Microsoft.ML.OnnxRuntime" Version="1.32.0" />
            {reference}
              </ItemGroup>
              <ItemGroup>
                <None Include="model.zip" CopyToOutputDirectory="PreserveNewest" />
              </ItemGroup>
            </Project>

            """);
        File.WriteAllText(Path.Combine(folder, "Directory.Build.props"), "<Project>\n  <!-- Keeps this project free of any enclosing repository's build settings. -->\n</Project>\n");
        File.WriteAllText(Path.Combine(folder, "Directory.Packages.props"), "<Project>\n  <PropertyGroup>\n    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>\n  </PropertyGroup>\n</Project>\n");
        File.WriteAllText(Path.Combine(folder, "ModelInput.cs"), Input(name, schema));
        File.WriteAllText(Path.Combine(folder, "ModelOutput.cs"), Output(name, schema.Label.Task));
        File.WriteAllText(Path.Combine(folder, "Model.cs"), Model(name));
        File.WriteAllText(Path.Combine(folder, "Program.cs"), Program(name, schema, exampleRows[0]));
        File.WriteAllText(Path.Combine(folder, "Training.cs"), TrainingCode(schema, options, dataFile, name));
    }

    /// <summary>The training code: the featurisers and trainer <c>hjml train</c> used, in ML.NET's API.</summary>
    public static string TrainingCode(TabularSchema schema, HopfColeTrainerOptions options, string dataFile, string name)
    {
        var code = new StringBuilder();
        code.AppendLine("using HjMl.MLNet;");
        code.AppendLine("using Microsoft.ML;");
        code.AppendLine();
        code.AppendLine($"namespace {name};");
        code.AppendLine();
        code.AppendLine("/// <summary>The pipeline `hjml train` fitted, in ML.NET's API (HjMl.MLNet's Hopf–Cole trainer with the settings it chose).</summary>");
        code.AppendLine("public static class Training");
        code.AppendLine("{");
        code.AppendLine("    /// <summary>Fits the pipeline on a CSV laid out as the training file and saves it to <paramref name=\"modelPath\"/>.</summary>");
        code.AppendLine($"    public static ITransformer Train(string dataPath = \"{dataFile}\", string modelPath = \"model.zip\")");
        code.AppendLine("    {");
        code.AppendLine($"        var mlContext = new MLContext(seed: {options.Seed});");
        code.AppendLine("        IDataView data = mlContext.Data.LoadFromTextFile<ModelInput>(dataPath, separatorChar: ',', hasHeader: true, allowQuoting: true);");
        LabelColumn label = schema.Label;
        var stages = new List<string>();
        if (label.Task == ModelKind.BinaryClassification)
        {
            stages.Add($"mlContext.Transforms.Conversion.MapValue(\"{label.Name}\", new[] {{ new KeyValuePair<string, bool>(\"{label.Classes[0]}\", false), new KeyValuePair<string, bool>(\"{label.Classes[1]}\", true) }}, \"{label.Name}\")");
        }
        else if (label.Task == ModelKind.MulticlassClassification)
        {
            stages.Add($"mlContext.Transforms.Conversion.MapValueToKey(\"{label.Name}\", \"{label.Name}\", keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue)");
        }

        var parts = new List<string>();
        foreach (FeatureColumn column in schema.Used)
        {
            switch (column.Kind)
            {
                case ColumnKind.Numeric when column.Missing > 0:
                    stages.Add($"mlContext.Transforms.IndicateMissingValues(\"{column.Name}.missing\", \"{column.Name}\")");
                    stages.Add($"mlContext.Transforms.Conversion.ConvertType(\"{column.Name}.missing\", \"{column.Name}.missing\", Microsoft.ML.Data.DataKind.Single)");
                    stages.Add($"mlContext.Transforms.ReplaceMissingValues(\"{column.Name}\", \"{column.Name}\", Microsoft.ML.Transforms.MissingValueReplacingEstimator.ReplacementMode.Mean)");
                    parts.Add(column.Name);
                    parts.Add(column.Name + ".missing");
                    break;
                case ColumnKind.Categorical when column.Distinct > ColumnInference.HashingThreshold:
                    stages.Add($"mlContext.Transforms.Categorical.OneHotHashEncoding(\"{column.Name}\", \"{column.Name}\", numberOfBits: 10)");
                    parts.Add(column.Name);
                    break;
                case ColumnKind.Categorical:
                    stages.Add($"mlContext.Transforms.Categorical.OneHotEncoding(\"{column.Name}\", \"{column.Name}\")");
                    parts.Add(column.Name);
                    break;
                case ColumnKind.Text:
                    stages.Add($"mlContext.Transforms.Text.FeaturizeText(\"{column.Name}\", \"{column.Name}\")");
                    parts.Add(column.Name);
                    break;
                default:
                    parts.Add(column.Name);
                    break;
            }
        }

        stages.Add($"mlContext.Transforms.Concatenate(\"Features\", {string.Join(", ", parts.Select(p => $"\"{p}\""))})");
        string catalog = label.Task switch
        {
            ModelKind.Regression => "Regression",
            ModelKind.BinaryClassification => "BinaryClassification",
            _ => "MulticlassClassification",
        };
        string optionsType = label.Task switch
        {
            ModelKind.Regression => "HjMl.MLNet.Trainers.HopfColeRegressionTrainer.Options",
            ModelKind.BinaryClassification => "HjMl.MLNet.Trainers.HopfColeBinaryTrainer.Options",
            _ => "HjMl.MLNet.Trainers.HopfColeMulticlassTrainer.Options",
        };
        stages.Add(string.Create(CultureInfo.InvariantCulture, $"mlContext.{catalog}.Trainers.HopfCole(new {optionsType} {{ LabelColumnName = \"{label.Name}\", NumberOfSupportPoints = {options.NumberOfSupportPoints}, Viscosity = {options.Viscosity:R}, LearningRate = {options.LearningRate:R}, MaximumEpochs = {options.MaximumEpochs}, Depth = {options.Depth}, Seed = {options.Seed} }})"));
        if (label.Task == ModelKind.BinaryClassification)
        {
            stages.Add($"mlContext.Transforms.Conversion.MapValue(\"PredictedClass\", new[] {{ new KeyValuePair<bool, string>(false, \"{label.Classes[0]}\"), new KeyValuePair<bool, string>(true, \"{label.Classes[1]}\") }}, \"PredictedLabel\")");
        }
        else if (label.Task == ModelKind.MulticlassClassification)
        {
            stages.Add("mlContext.Transforms.Conversion.MapKeyToValue(\"PredictedClass\", \"PredictedLabel\")");
        }

        code.Append($"        var pipeline = {stages[0]}");
        foreach (string stage in stages.Skip(1))
        {
            code.AppendLine();
            code.Append($"            .Append({stage})");
        }

        code.AppendLine(";");
        code.AppendLine("        ITransformer model = pipeline.Fit(data);");
        code.AppendLine("        mlContext.Model.SaveAtomically(model, data.Schema, modelPath);");
        code.AppendLine("        return model;");
        code.AppendLine("    }");
        code.AppendLine("}");
        return code.ToString();
    }

    /// <summary>A C# identifier from <paramref name="text"/>: letters, digits and underscores, not starting with a digit.</summary>
    public static string Identifier(string text)
    {
        var name = new StringBuilder();
        bool upper = true;
        foreach (char c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                name.Append(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }
            else
            {
                upper = true;
            }
        }

        string result = name.ToString();
        return result.Length == 0 ? "Column" : char.IsDigit(result[0]) ? "_" + result : result;
    }

    private static string Input(string name, TabularSchema schema)
    {
        var code = new StringBuilder();
        code.AppendLine("using Microsoft.ML.Data;");
        code.AppendLine();
        code.AppendLine($"namespace {name};");
        code.AppendLine();
        code.AppendLine("/// <summary>One row of the training CSV: the columns the model reads (LoadColumn is the column's position in the file).</summary>");
        code.AppendLine("public sealed class ModelInput");
        code.AppendLine("{");
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (FeatureColumn column in schema.Used)
        {
            Property(code, column.Name, column.Index, column.Kind == ColumnKind.Numeric ? "float" : "string", used);
        }

        Property(code, schema.Label.Name, schema.Label.Index, schema.Label.Task == ModelKind.Regression ? "float" : "string", used);
        code.AppendLine("}");
        return code.ToString();
    }

    private static void Property(StringBuilder code, string column, int index, string type, HashSet<string> used)
    {
        string property = Identifier(column);
        while (!used.Add(property))
        {
            property += "_";
        }

        code.AppendLine($"    [LoadColumn({index}), ColumnName(\"{column}\")]");
        code.AppendLine(type == "string" ? $"    public string {property} {{ get; set; }} = string.Empty;" : $"    public float {property} {{ get; set; }}");
        code.AppendLine();
    }

    private static string Output(string name, ModelKind kind)
    {
        string predictions = kind switch
        {
            ModelKind.Regression => "    /// <summary>The predicted value.</summary>\n    public float Score { get; set; }\n",
            ModelKind.BinaryClassification => "    /// <summary>The margin: positive for the positive class.</summary>\n    public float Score { get; set; }\n\n    /// <summary>P(positive class).</summary>\n    public float Probability { get; set; }\n\n    /// <summary>The predicted class, as the label's value.</summary>\n    public string PredictedClass { get; set; } = string.Empty;\n",
            _ => "    /// <summary>The class probabilities, in the order of the classes.</summary>\n    public float[] Score { get; set; } = [];\n\n    /// <summary>The predicted class, as the label's value.</summary>\n    public string PredictedClass { get; set; } = string.Empty;\n",
        };
        return $$"""
            namespace {{name}};

            /// <summary>What the model predicts for a row.</summary>
            public class ModelOutput
            {
            {{predictions}}}

            /// <summary>A prediction with its explanation (HjMl's GibbsAttribution).</summary>
            public sealed class ExplainedOutput : ModelOutput
            {
                /// <summary>Each feature's part of the explained score; with ScoreTerms they sum to ExplainedScore exactly.</summary>
                public float[] FeatureContributions { get; set; } = [];

                /// <summary>The bias and eps·entropy terms (and the label mean for regression).</summary>
                public float[] ScoreTerms { get; set; } = [];

                /// <summary>The score the contributions explain.</summary>
                public float ExplainedScore { get; set; }

                /// <summary>The training rows (support points) carrying the prediction, largest weight first.</summary>
                public long[] TopSupportRows { get; set; } = [];

                /// <summary>Their Gibbs weights.</summary>
                public float[] TopSupportWeights { get; set; } = [];

                /// <summary>No change of the standardised features shorter than this changes the prediction.</summary>
                public float CertifiedRadius { get; set; }

                /// <summary>Whether the row lies outside the data the model was trained on.</summary>
                public bool OutOfSupport { get; set; }
            }

            """;
    }

    private static string Model(string name) => $$"""
        using HjMl.MLNet;
        using HjMl.MLNet.Prediction;
        using Microsoft.ML;
        using Microsoft.ML.Data;

        namespace {{name}};

        /// <summary>The trained model (model.zip beside the program): Predict, and Explain with HjMl's Gibbs attribution.</summary>
        public sealed class Model
        {
            private readonly PredictionEngine<ModelInput, ModelOutput> predictor;
            private readonly PredictionEngine<ModelInput, ExplainedOutput> explainer;

            /// <summary>Loads <paramref name="path"/> with HjMl's kernels (plain mlContext.Model.Load works too, through ONNX Runtime).</summary>
            public Model(string path = "model.zip")
            {
                var mlContext = new MLContext(seed: 0);
                ITransformer model = mlContext.Model.LoadWithHopfCole(Path.Combine(AppContext.BaseDirectory, path), out DataViewSchema schema);
                predictor = mlContext.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
                HopfColePredictionTransformer hopfCole = ((IEnumerable<ITransformer>)model).OfType<HopfColePredictionTransformer>().Single();
                IDataView empty = mlContext.Data.LoadFromEnumerable(Array.Empty<ModelInput>());
                ITransformer attribution = mlContext.Transforms.GibbsAttribution(hopfCole, topSupportPoints: 3).Fit(model.Transform(empty));
                explainer = mlContext.Model.CreatePredictionEngine<ModelInput, ExplainedOutput>(new TransformerChain<ITransformer>(model, attribution));
            }

            /// <summary>The prediction for one row.</summary>
            public ModelOutput Predict(ModelInput row) => predictor.Predict(row);

            /// <summary>The prediction for one row with its explanation.</summary>
            public ExplainedOutput Explain(ModelInput row) => explainer.Predict(row);
        }

        """;

    private static string Program(string name, TabularSchema schema, string?[] example)
    {
        var assignments = new StringBuilder();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (FeatureColumn column in schema.Used)
        {
            string property = Identifier(column.Name);
            while (!used.Add(property))
            {
                property += "_";
            }

            string? cell = example[column.Index];
            string value = column.Kind == ColumnKind.Numeric
                ? (cell is null ? "float.NaN" : float.Parse(cell, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture) + "f")
                : "\"" + (cell ?? string.Empty).Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
            assignments.AppendLine($"    {property} = {value},");
        }

        string shown = schema.Label.Task switch
        {
            ModelKind.Regression => "$\"predicted {prediction.Score}\"",
            ModelKind.BinaryClassification => "$\"predicted {prediction.PredictedClass}, P(positive) = {prediction.Probability:F3}\"",
            _ => "$\"predicted {prediction.PredictedClass}\"",
        };
        return $$"""
            using {{name}};

            // One row of the training data (its first row); change the values to score another.
            var row = new ModelInput
            {
            {{assignments}}};
            var model = new Model();
            ModelOutput prediction = model.Predict(row);
            Console.WriteLine({{shown}});
            ExplainedOutput explained = model.Explain(row);
            Console.WriteLine($"explained score {explained.ExplainedScore:F4} = {explained.FeatureContributions.Sum():F4} (features) + {explained.ScoreTerms.Sum():F4} (bias, eps·H)");
            Console.WriteLine($"carried by training rows {string.Join(", ", explained.TopSupportRows.Select(index => index + 1))} (numbered from 1 in the order trained on; TopSupportRows holds 0-based indices); certified radius {explained.CertifiedRadius:F3}; out of support: {explained.OutOfSupport}");

            """;
    }
}
