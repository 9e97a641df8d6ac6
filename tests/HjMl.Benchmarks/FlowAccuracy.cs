using System.Text.Json;
using HjMl.Models;
using HjMl.Onnx;
using HjMl.Persistence;
using HjMl.Training;

namespace HjMl.Benchmarks;

/// <summary>
/// HjMl's half of the "equal accuracy" check of issue 15's training bar: the case trained by HopfColeTrainer for
/// <see cref="FlowCase.AccuracyEpochs"/> epochs (the options the PyTorch peer mirrors), its per-epoch training loss and
/// wall time, and its accuracy on the 2000 test rows. The trained model is saved (model file and ONNX graph) for the
/// scoring benchmarks, so they score a trained mnist flow.
/// </summary>
internal static class FlowAccuracy
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    /// <summary>What <see cref="Run"/> writes to flow-hjml.json.</summary>
    /// <param name="Epochs">Epochs trained.</param>
    /// <param name="Parameters">Trained parameters (read-out and flow).</param>
    /// <param name="TrainSeconds">Wall time of HopfColeTrainer.Train, set-up and final model included.</param>
    /// <param name="EpochEndSeconds">Per epoch, the time since Train started at which it ended (progress reports).</param>
    /// <param name="Losses">Per epoch, the mean mini-batch training loss.</param>
    /// <param name="TestAccuracy">Accuracy on the 2000 test rows.</param>
    public sealed record Result(int Epochs, int Parameters, double TrainSeconds, double[] EpochEndSeconds, double[] Losses, double TestAccuracy);

    /// <summary>Trains, writes flow-hjml.json, model.hjml and model.onnx into <paramref name="folder"/>, and returns the result.</summary>
    public static Result Run(string folder)
    {
        Directory.CreateDirectory(folder);
        var reports = new List<TrainingProgress>();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        TrainingResult trained = new HopfColeTrainer(FlowCase.Options(FlowCase.AccuracyEpochs)).Train(FlowCase.Train, progress: new Recorder(reports));
        double seconds = watch.Elapsed.TotalSeconds;
        HopfColeModel model = trained.Model;
        int parameters = model.Layer.Weights.Length + model.Layer.Biases.Length + (model.Flow?.Parameters.Length ?? 0);
        var result = new Result(
            reports.Count,
            parameters,
            seconds,
            reports.Select(report => report.Elapsed.TotalSeconds).ToArray(),
            reports.Select(report => report.TrainingLoss).ToArray(),
            FlowCase.TestAccuracy(model));
        ModelFile.Save(model, Path.Combine(folder, "model.hjml"));
        OnnxExport.Save(model, Path.Combine(folder, "model.onnx"));
        File.WriteAllText(Path.Combine(folder, "flow-hjml.json"), JsonSerializer.Serialize(result, IndentedJson));
        Console.WriteLine($"HjMl: {result.Epochs} epochs in {seconds:F2} s, losses {string.Join(" ", result.Losses.Select(loss => FlowCase.Format(loss, "F4")))}, test accuracy {FlowCase.Format(result.TestAccuracy, "F4")}");
        return result;
    }

    /// <summary>Reads flow-hjml.json.</summary>
    public static Result Read(string folder) => JsonSerializer.Deserialize<Result>(File.ReadAllText(Path.Combine(folder, "flow-hjml.json")))!;

    // Records reports on the trainer's thread (Progress<T> would post them elsewhere).
    private sealed class Recorder(List<TrainingProgress> reports) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => reports.Add(value);
    }
}
