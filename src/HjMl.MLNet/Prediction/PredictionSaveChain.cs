using HjMl.MLNet.Columns;
using HjMl.MLNet.Persistence;
using HjMl.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace HjMl.MLNet.Prediction;

/// <summary>
/// What <see cref="HopfColePredictionTransformer"/> saves in its place: OnnxTransformer running HjMl's graph, identity
/// stages turning its one-slot outputs into scalars, and copy, expression, key and drop stages giving the live
/// transformer's columns (see <see cref="OnnxPipeline"/>).
/// </summary>
internal static class PredictionSaveChain
{
    private const string Prefix = OnnxPipeline.Prefix;

    /// <summary>The saveable chain standing for <paramref name="transformer"/>.</summary>
    public static TransformerChain<ITransformer> For(HopfColePredictionTransformer transformer)
    {
        HopfColeModel model = transformer.Model.Model;
        if (model.Kind == ModelKind.MulticlassClassification && model.NumberOfClasses != transformer.LabelKeys!.Count)
        {
            throw new NotSupportedException($"The label's key type has {transformer.LabelKeys.Count} values but only {model.NumberOfClasses} occurred in the training data; a saved model's Score would have {model.NumberOfClasses} slots instead of {transformer.LabelKeys.Count}. Train on data with every class, or map the label to keys on the training data only.");
        }

        var chain = new SaveChain(OnnxPipeline.FeaturesOnly(transformer.FeatureColumnName, model.InputDimension));
        MLContext context = chain.Context;
        string score = DefaultColumnNames.Score, probability = DefaultColumnNames.Probability, predicted = DefaultColumnNames.PredictedLabel;
        switch (model.Kind)
        {
            case ModelKind.Regression:
                chain.Add(OnnxPipeline.Apply(context, model, null, transformer.FeatureColumnName, [score], chain.Current, out _));
                chain.Add(OnnxPipeline.Identity(context, Prefix + score));
                chain.Fit(context.Transforms.DropColumns(Prefix + score));
                break;
            case ModelKind.BinaryClassification:
                chain.Add(OnnxPipeline.Apply(context, model, null, transformer.FeatureColumnName, [score, probability], chain.Current, out _));
                chain.Add(OnnxPipeline.Identity(context, Prefix + probability));
                chain.Fit(context.Transforms.CopyColumns(Prefix + "probability", score));
                chain.Add(OnnxPipeline.Identity(context, Prefix + score));
                chain.Fit(context.Transforms.CopyColumns(Prefix + "margin", score));
                chain.Fit(context.Transforms.CopyColumns(score, Prefix + "margin"));
                chain.Fit(context.Transforms.CopyColumns(probability, Prefix + "probability"));
                chain.Fit(context.Transforms.Expression(predicted, "margin => margin > 0", score));
                chain.Fit(context.Transforms.DropColumns(Prefix + score, Prefix + probability, Prefix + "probability", Prefix + "margin"));
                break;
            default:
                chain.Add(OnnxPipeline.Apply(context, model, null, transformer.FeatureColumnName, [score, predicted], chain.Current, out _));
                chain.Add(OnnxPipeline.Identity(context, Prefix + predicted));
                chain.Fit(context.Transforms.CopyColumns(Prefix + "class", score));
                chain.Fit(context.Transforms.CopyColumns(score, Prefix + score));
                foreach (IEstimator<ITransformer> stage in transformer.LabelKeys!.ClassIndexToKey(context, Prefix + "class", Prefix + "value"))
                {
                    chain.Fit(stage);
                }

                chain.Fit(context.Transforms.DropColumns(Prefix + score, Prefix + predicted, Prefix + "class", Prefix + "value"));
                break;
        }

        return chain.ToChain();
    }
}
