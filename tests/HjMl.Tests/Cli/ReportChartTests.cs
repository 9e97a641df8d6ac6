using System.Text;
using HjMl.Cli;
using HjMl.Cli.Report;
using HjMl.Data;
using HjMl.Landscape;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;
using ScottPlot;

namespace HjMl.Tests.Cli;

/// <summary>
/// The charts: a pixel map puts pixel (r, c) where the image has it, the landscape heat map puts H(u, v) at (u, v),
/// <c>hjml budget --plot</c> writes real PNG or SVG by extension and refuses others, and <c>hjml report</c> writes the page.
/// </summary>
public sealed class ReportChartTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-report-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void APixelMapShowsPixelRowRColumnCAtColumnCRowR()
    {
        double[] values = Enumerable.Range(0, 64).Select(k => (double)k).ToArray();
        using Plot plot = ExplanationSection.PixelPanel("test", values, 8, diverging: false, null);
        ScottPlot.Plottables.Heatmap map = plot.GetPlottables<ScottPlot.Plottables.Heatmap>().Single();
        plot.RenderInMemory(400, 400);
        for (int r = 0; r < 8; r++)
        {
            for (int c = 0; c < 8; c++)
            {
                Assert.Equal(values[(r * 8) + c], map.GetValue(new Coordinates(c, r)));
            }
        }

        Assert.True(plot.Axes.Left.Range.Min > plot.Axes.Left.Range.Max, "the pixel row axis runs downwards, as an image's");
    }

    [Fact]
    public void TheLandscapeHeatMapShowsTheEntropyAtEachGridPointOfThePlane()
    {
        Dataset data = TestData.Load("iris.csv");
        HopfColeModel model = new HopfColeTrainer(new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 6, MaximumEpochs = 5, Seed = 9 }).Fit(data);
        LandscapePlane plane = LandscapePlane.ForModel(model, data.Features);
        LandscapeSurface surface = EntropyLandscape.Surface(model.Layer, plane, null, 11);
        var context = new ReportContext(new ReportInputs(model, data, "iris", "m", null, new Dictionary<string, string>()), CancellationToken.None);
        using Plot plot = LandscapeSection.SurfacePanel(context, plane, surface, new Dictionary<string, IReadOnlyList<Basin>>(), "test");
        ScottPlot.Plottables.Heatmap map = plot.GetPlottables<ScottPlot.Plottables.Heatmap>().Single();
        plot.RenderInMemory(500, 500);
        for (int i = 0; i < 11; i++)
        {
            for (int j = 0; j < 11; j++)
            {
                Assert.Equal(surface.Entropy[(i * 11) + j], map.GetValue(new Coordinates(surface.U[i], surface.V[j])));
            }
        }
    }

    [Fact]
    public void BudgetPlotWritesARealPngOrSvgByExtensionAndRefusesOthersBeforeSweeping()
    {
        string model = Path.Combine(folder, "bc.hjml");
        string data = Path.Combine(TestData.Folder, "breast_cancer.csv");
        Assert.Equal(0, Program.Run(["train", "--width", "4", "--epochs", "5", "--out", model], new StringWriter(), new StringWriter()));
        string png = Path.Combine(folder, "b.png"), svg = Path.Combine(folder, "b.svg"), jpg = Path.Combine(folder, "b.jpg");
        Assert.Equal(0, Program.Run(["budget", "--model", model, "--data", data, "--viscosity", "0.1..10", "--steps", "3", "--plot", png], new StringWriter(), new StringWriter()));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(png)[..4]);
        Assert.Equal(0, Program.Run(["budget", "--model", model, "--data", data, "--viscosity", "0.1..10", "--steps", "3", "--plot", svg], new StringWriter(), new StringWriter()));
        string text = File.ReadAllText(svg);
        Assert.StartsWith("<svg", text);
        Assert.Contains("trained eps", text);
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(2, Program.Run(["budget", "--model", model, "--data", data, "--viscosity", "0.1..10", "--steps", "3", "--plot", jpg], output, error));
        Assert.Contains("'.jpg' is neither", error.ToString());
        Assert.Equal(string.Empty, output.ToString());
        Assert.False(File.Exists(jpg));
    }

    [Fact]
    public void ReportCommandWritesOneSelfContainedPageAndSaysTheHistoryIsNotInTheFile()
    {
        string model = Path.Combine(folder, "iris.hjml");
        string data = Path.Combine(TestData.Folder, "iris.csv");
        Assert.Equal(0, Program.Run(["train", "--data", data, "--task", "multiclass", "--width", "6", "--epochs", "10", "--out", model], new StringWriter(), new StringWriter()));
        string html = Path.Combine(folder, "report.html");
        var output = new StringWriter();
        Assert.Equal(0, Program.Run(["report", "--model", model, "--data", data, "--out", html, "--budget-steps", "3", "--grid", "11"], output, new StringWriter()));
        string page = File.ReadAllText(html, Encoding.UTF8);
        Assert.StartsWith("<!DOCTYPE html>", page);
        Assert.Contains("carries no training history", output.ToString());
        Assert.Contains("does not carry its training history", page);
        Assert.Contains($"hjml budget --model {model} --data {data}", page);
    }

    [Fact]
    public void ACancelledReportWritesNoFile()
    {
        string model = Path.Combine(folder, "iris.hjml");
        string iris = Path.Combine(TestData.Folder, "iris.csv");
        Assert.Equal(0, Program.Run(["train", "--data", iris, "--task", "multiclass", "--width", "4", "--epochs", "3", "--out", model], new StringWriter(), new StringWriter()));
        string html = Path.Combine(folder, "r.html");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Equal(130, Program.Run(["report", "--model", model, "--data", iris, "--out", html], new StringWriter(), new StringWriter(), cancelled.Token));
        Assert.False(File.Exists(html));
    }

    [Fact]
    public void ReportCommandRefusesAnOutputThatIsNotHtmlAndDataWithoutTheModelsColumns()
    {
        string model = Path.Combine(folder, "iris.hjml");
        string iris = Path.Combine(TestData.Folder, "iris.csv");
        Assert.Equal(0, Program.Run(["train", "--data", iris, "--task", "multiclass", "--width", "4", "--epochs", "3", "--out", model], new StringWriter(), new StringWriter()));
        var error = new StringWriter();
        Assert.Equal(2, Program.Run(["report", "--model", model, "--data", iris, "--out", Path.Combine(folder, "r.pdf")], new StringWriter(), error));
        Assert.Contains("HTML file", error.ToString());
        string other = Path.Combine(folder, "other.csv");
        File.WriteAllLines(other, ["sepal_length_cm,petal_width_cm,Label", "5.1,0.2,0"]);
        error = new StringWriter();
        Assert.Equal(2, Program.Run(["report", "--model", model, "--data", other, "--out", Path.Combine(folder, "r.html")], new StringWriter(), error));
        Assert.Contains("no column 'sepal_width_cm'", error.ToString());
        Assert.False(File.Exists(Path.Combine(folder, "r.html")));
    }
}
