using HjMl.MLNet.Columns;
using HjMl.MLNet.DataView;
using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Prediction;

/// <summary>The prediction columns of a <see cref="HopfColePredictionTransformer"/> over one input schema.</summary>
internal sealed class PredictionMapping : RowMapping
{
    private readonly HopfColePredictionTransformer transformer;
    private readonly int featureIndex;

    public PredictionMapping(DataViewSchema inputSchema, HopfColePredictionTransformer transformer)
        : base(inputSchema, Outputs(transformer, inputSchema), [Feature(inputSchema, transformer)])
    {
        this.transformer = transformer;
        featureIndex = Feature(inputSchema, transformer);
    }

    public override Delegate?[] CreateGetters(DataViewRow input, bool[] activeOutputs)
    {
        var getters = new Delegate?[OutputColumns.Count];
        if (!activeOutputs.Any(active => active))
        {
            return getters;
        }

        var scorer = new RowScorer(transformer, input, input.Schema[featureIndex]);
        switch (transformer.Kind)
        {
            case ModelKind.Regression:
                getters[0] = (ValueGetter<float>)((ref float value) => value = (float)scorer.Current.Score);
                break;
            case ModelKind.BinaryClassification:
                getters[0] = (ValueGetter<float>)((ref float value) => value = (float)scorer.Current.Score);
                getters[1] = (ValueGetter<float>)((ref float value) => value = (float)scorer.Current.Probability);
                getters[2] = (ValueGetter<bool>)((ref bool value) => value = scorer.Current.ClassIndex == 1);
                break;
            default:
                getters[0] = (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) => scorer.KeyProbabilities(ref value));
                getters[1] = (ValueGetter<uint>)((ref uint value) => value = (uint)scorer.Current.PredictedLabel + 1);
                break;
        }

        for (int i = 0; i < getters.Length; i++)
        {
            getters[i] = activeOutputs[i] ? getters[i] : null;
        }

        return getters;
    }

    private static int Feature(DataViewSchema schema, HopfColePredictionTransformer transformer)
        => FeatureColumns.Require(schema, transformer.FeatureColumnName, transformer.Model.Model.InputDimension).Index;

    private static DataViewSchema.DetachedColumn[] Outputs(HopfColePredictionTransformer transformer, DataViewSchema inputSchema)
    {
        Feature(inputSchema, transformer);
        string kind = ScoreKind(transformer.Kind);
        switch (transformer.Kind)
        {
            case ModelKind.Regression:
                return [new(DefaultColumnNames.Score, NumberDataViewType.Single, ModelAnnotation.With(ScoreAnnotations(kind, "Score"), transformer))];
            case ModelKind.BinaryClassification:
                return
                [
                    new(DefaultColumnNames.Score, NumberDataViewType.Single, ModelAnnotation.With(ScoreAnnotations(kind, "Score"), transformer)),
                    new(DefaultColumnNames.Probability, NumberDataViewType.Single, ScoreAnnotations(kind, "Probability")),
                    new(DefaultColumnNames.PredictedLabel, BooleanDataViewType.Instance, ScoreAnnotations(kind, "PredictedLabel")),
                ];
            default:
                LabelKeys keys = transformer.LabelKeys!;
                var scoreAnnotations = new DataViewSchema.Annotations.Builder();
                scoreAnnotations.Add(ScoreAnnotations(kind, "Score"), _ => true);
                ModelAnnotation.Add(scoreAnnotations, transformer);
                string[] names = keys.Names;
                scoreAnnotations.Add(AnnotationNames.SlotNames, new VectorDataViewType(TextDataViewType.Instance, names.Length), (ref VBuffer<ReadOnlyMemory<char>> value) => value = new VBuffer<ReadOnlyMemory<char>>(names.Length, names.Select(name => name.AsMemory()).ToArray()));
                var labelAnnotations = new DataViewSchema.Annotations.Builder();
                labelAnnotations.Add(ScoreAnnotations(kind, "PredictedLabel"), _ => true);
                if (keys.KeyValues is not null)
                {
                    labelAnnotations.Add(keys.KeyValues, _ => true);
                }

                return
                [
                    new(DefaultColumnNames.Score, new VectorDataViewType(NumberDataViewType.Single, keys.Count), scoreAnnotations.ToAnnotations()),
                    new(DefaultColumnNames.PredictedLabel, keys.Type, labelAnnotations.ToAnnotations()),
                ];
        }
    }

    internal static string ScoreKind(ModelKind kind) => kind switch
    {
        ModelKind.Regression => "Regression",
        ModelKind.BinaryClassification => "BinaryClassification",
        _ => "MulticlassClassification",
    };

    internal static DataViewSchema.Annotations ScoreAnnotations(string columnKind, string valueKind)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(AnnotationNames.ScoreColumnKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = columnKind.AsMemory());
        builder.Add(AnnotationNames.ScoreValueKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = valueKind.AsMemory());
        return builder.ToAnnotations();
    }

    /// <summary>Scores the current row once, however many of its prediction columns are read.</summary>
    private sealed class RowScorer
    {
        private readonly HopfColePredictionTransformer transformer;
        private readonly DataViewRow input;
        private readonly DataViewSchema.Column column;
        private readonly ValueGetter<VBuffer<float>> getFeatures;
        private readonly double[] features;
        private readonly double[] scores;
        private readonly double[] probabilities;
        private VBuffer<float> buffer;
        private long position = -1;
        private HjMl.Models.Prediction current;

        public RowScorer(HopfColePredictionTransformer transformer, DataViewRow input, DataViewSchema.Column column)
        {
            this.transformer = transformer;
            this.input = input;
            this.column = column;
            getFeatures = input.GetGetter<VBuffer<float>>(column);
            HopfColeModel model = transformer.Model.Model;
            features = new double[model.InputDimension];
            scores = new double[model.OutputLength];
            probabilities = new double[Math.Max(1, model.NumberOfClasses)];
        }

        public HjMl.Models.Prediction Current
        {
            get
            {
                Update();
                return current;
            }
        }

        public void KeyProbabilities(ref VBuffer<float> value)
        {
            Update();
            HopfColeModel model = transformer.Model.Model;
            int count = transformer.LabelKeys!.Count;
            VBufferEditor<float> editor = VBufferEditor.Create(ref value, count);
            editor.Values.Clear();
            for (int c = 0; c < model.NumberOfClasses; c++)
            {
                editor.Values[(int)model.ClassLabels[c]] = (float)probabilities[c];
            }

            value = editor.Commit();
        }

        private void Update()
        {
            if (position == input.Position)
            {
                return;
            }

            getFeatures(ref buffer);
            FeatureColumns.Densify(buffer, features, column, input.Position);
            HopfColeModel model = transformer.Model.Model;
            try
            {
                model.Score(features, scores);
            }
            catch (ArgumentException exception)
            {
                throw new InvalidOperationException($"Row {input.Position + 1}, column '{column.Name}': {exception.Message}", exception);
            }

            current = model.Interpret(scores, probabilities);
            position = input.Position;
        }
    }
}
