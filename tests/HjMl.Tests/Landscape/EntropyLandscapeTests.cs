using System.Numerics.Tensors;
using HjMl.Data;
using HjMl.Landscape;
using HjMl.Layers;
using HjMl.Models;
using HjMl.Tests.Support;
using HjMl.Training;

namespace HjMl.Tests.Landscape;

public class EntropyLandscapeTests
{
    private static readonly Lazy<(HopfColeModel Model, Dataset Data)> Iris = new(() =>
    {
        Dataset data = TestData.Load("iris.csv");
        var options = new HopfColeTrainerOptions { Kind = ModelKind.MulticlassClassification, NumberOfSupportPoints = 8, Seed = 1, MaximumDegreeOfParallelism = 2 };
        return (new HopfColeTrainer(options).Fit(data), data);
    });

    /// <summary>
    /// A layer in the plane whose pieces are the Hopf–Cole construction (THEORY.md section 1, t = 1, g = 0) on two
    /// well-separated clusters of support points, 8 each, around (-1.5, -1.5) and (1.5, 1.5): its tropical cells are
    /// the Voronoi cells of the support points.
    /// </summary>
    public static LseLayer<double> TwoClusters()
    {
        var random = new Random(3);
        var weights = new List<double>();
        var biases = new List<double>();
        foreach ((double x, double y) in new[] { (-1.5, -1.5), (1.5, 1.5) })
        {
            for (int i = 0; i < 8; i++)
            {
                double first = x + (0.4 * Normal(random)), second = y + (0.4 * Normal(random));
                weights.Add(first / 2);
                weights.Add(second / 2);
                biases.Add(-((first * first) + (second * second)) / 4);
            }
        }

        return new LseLayer<double>(weights.ToArray(), biases.ToArray(), 2, 1.0);
    }

    private static LandscapePlane Square(double half) => LandscapePlane.Through([0, 0], [1, 0], [0, 1], -half, half, -half, half);

    [Fact]
    [Trait("Speed", "Slow")]
    public void TwoClusterBasinsMergeFromManyToOneAndThenFlattenAway()
    {
        LandscapeSweep sweep = EntropyLandscape.Sweep(TwoClusters(), Square(3.5), EntropyLandscape.GeometricViscosities(1e-3, 10, 41));
        int[] counts = sweep.Levels.Select(level => level.Count).ToArray();
        string shown = string.Join(" ", counts);
        Assert.True(counts[0] >= 8, $"counts {shown}: the smallest eps should show a basin in most bounded cells");
        AssertNonIncreasing(counts, shown);
        Assert.Contains(1, counts);
        Assert.Equal(0, counts[^1]);
        Assert.Equal(counts[0] - counts[^1], sweep.Merges.Sum(merge => merge.Lost));
        Assert.All(sweep.Merges, merge => Assert.InRange(merge.Viscosity, merge.FromViscosity, merge.ToViscosity));
    }

    [Fact]
    [Trait("Speed", "Slow")]
    public void BasinCountsNeverRiseAlongTheSweepOnEveryIrisHead()
    {
        (HopfColeModel model, Dataset data) = Iris.Value;
        double[] viscosities = EntropyLandscape.GeometricViscosities(0.005, 50, 41);
        int basinsAtSmallestViscosity = 0;
        for (int head = 0; head < model.Layer.NumberOfHeads; head++)
        {
            LandscapeSweep sweep = EntropyLandscape.Sweep(model, data.Features, viscosities, head);
            int[] counts = sweep.Levels.Select(level => level.Count).ToArray();
            AssertNonIncreasing(counts, $"head {head}: {string.Join(" ", counts)}");
            Assert.Equal(0, counts[^1]);
            basinsAtSmallestViscosity += counts[0];
        }

        Assert.True(basinsAtSmallestViscosity >= 2, $"{basinsAtSmallestViscosity} basins over all heads at the smallest eps; the test would check nothing");
    }

    [Fact]
    public void BasinsAreStationaryPointsOfTheEntropy()
    {
        LseLayer<double> layer = TwoClusters();
        foreach (double viscosity in new[] { 0.03, 0.1, 0.2 })
        {
            LandscapeLevel level = EntropyLandscape.Basins(layer.WithViscosity(viscosity), Square(3.5));
            Assert.NotEmpty(level.Basins);
            foreach (Basin basin in level.Basins)
            {
                // |grad H| = |Cov_pi(w, z)| / eps^2 <= max|w| * spread(z) / eps^2: the basin's is tiny against that scale.
                Assert.True(basin.GradientNorm <= 1e-6 * Math.Max(1, basin.Entropy) / viscosity, $"eps {viscosity}: |grad H| = {basin.GradientNorm} at ({basin.First}, {basin.Second}), H = {basin.Entropy}");
                var gradient = new double[2];
                double entropy = layer.WithViscosity(viscosity).EntropyGradient([basin.First, basin.Second], 0, gradient);
                Assert.Equal(entropy, basin.Entropy, 1e-12 * Math.Max(1, entropy));
                Assert.InRange(basin.Area, 0, 1);
            }

            Assert.True(level.Basins.Sum(basin => basin.Area) <= 1 + 1e-12);
            Assert.Equal(level.Basins.OrderBy(basin => basin.LogEntropy).Select(basin => basin.LogEntropy), level.Basins.Select(basin => basin.LogEntropy));
        }
    }

    [Fact]
    public void RestrictedLayerIsTheLayerOnThePlane()
    {
        (HopfColeModel model, Dataset data) = Iris.Value;
        LandscapePlane plane = LandscapePlane.ForModel(model, data.Features);
        LseLayer<double> restricted = plane.Restrict(model.Layer);
        var point = new double[model.InputDimension];
        var gradient = new double[model.InputDimension];
        var planeGradient = new double[2];
        foreach ((double u, double v) in new[] { (0.0, 0.0), (1.3, -0.7), (-2.1, 0.4) })
        {
            plane.ToInput(u, v, point);
            for (int head = 0; head < model.Layer.NumberOfHeads; head++)
            {
                Assert.Equal(model.Layer.Evaluate(point, head), restricted.Evaluate([u, v], head), 1e-12);
                double entropy = model.Layer.EntropyGradient(point, head, gradient);
                Assert.Equal(entropy, restricted.EntropyGradient([u, v], head, planeGradient), 1e-12);
                Assert.Equal(TensorPrimitives.Dot<double>(gradient, plane.First), planeGradient[0], 1e-10);
                Assert.Equal(TensorPrimitives.Dot<double>(gradient, plane.Second), planeGradient[1], 1e-10);
            }
        }
    }

    [Fact]
    public void PrincipalPlaneSpansTheTopTwoEigenvectorsOfTheCovariance()
    {
        Dataset data = TestData.Load("digits.csv");
        int d = data.Columns;
        var scaling = FeatureScaling.Fit(data);
        var rows = new double[data.Features.Length];
        for (int row = 0; row < data.Rows; row++)
        {
            scaling.Apply(data.Row(row), rows.AsSpan(row * d, d));
        }

        LandscapePlane plane = LandscapePlane.PrincipalComponents(rows, d);
        double[] covariance = Covariance(rows, data.Rows, d);
        double largest = HjMl.Numerics.SymmetricEigenvalues.Largest((double[])covariance.Clone(), d);
        Assert.Equal(largest, plane.FirstVariance, 1e-8 * largest);
        AssertEigenvector(covariance, d, plane.First, plane.FirstVariance);
        AssertEigenvector(covariance, d, plane.Second, plane.SecondVariance);

        // The second is the top eigenvalue once the first direction is deflated away.
        double[] deflated = (double[])covariance.Clone();
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                deflated[(i * d) + j] -= plane.FirstVariance * plane.First[i] * plane.First[j];
            }
        }

        Assert.Equal(HjMl.Numerics.SymmetricEigenvalues.Largest(deflated, d), plane.SecondVariance, 1e-8 * largest);
        Assert.Equal(0, TensorPrimitives.Dot(plane.First, plane.Second), 1e-12);
        Assert.Equal(1, TensorPrimitives.Norm(plane.First), 1e-12);
        Assert.Equal(1, TensorPrimitives.Norm(plane.Second), 1e-12);
        Assert.Equal(0, TensorPrimitives.Norm(plane.Origin), 1e-9); // standardised on the same rows: the mean is 0
    }

    [Fact]
    public void TwoFeatureDataUseTheFeaturesAsAxes()
    {
        double[] rows = [0, 0, 2, 1, 4, -1, 6, 4];
        LandscapePlane plane = LandscapePlane.PrincipalComponents(rows, 2);
        Assert.Equal([3.0, 1.0], plane.Origin.ToArray());
        Assert.Equal([1.0, 0.0], plane.First.ToArray());
        Assert.Equal([0.0, 1.0], plane.Second.ToArray());
        Assert.Equal(-3.6, plane.FirstMinimum, 12);
        Assert.Equal(3.6, plane.FirstMaximum, 12);
    }

    [Fact]
    public void CriticalScaleIsWidthToTheMinusOneOverDimension()
    {
        (HopfColeModel model, _) = Iris.Value;
        Assert.Equal(Math.Pow(8, -1.0 / 4), EntropyLandscape.CriticalViscosity(model.Layer), 15);
        LandscapeSweep sweep = EntropyLandscape.Sweep(TwoClusters(), Square(3), [0.1, 1]);
        Assert.Equal(Math.Pow(16, -0.5), sweep.CriticalViscosity, 15);
    }

    [Fact]
    public void CsvHasOneRowPerBasinAndOneForAViscosityWithout()
    {
        LandscapeSweep sweep = EntropyLandscape.Sweep(TwoClusters(), Square(3.5), [0.05, 10]);
        var text = new StringWriter();
        sweep.WriteCsv(text);
        string[] lines = text.ToString().TrimEnd().Split('\n').Select(line => line.TrimEnd('\r')).ToArray();
        Assert.Equal(LandscapeSweep.CsvHeader, lines[0]);
        int basins = sweep.Levels[0].Count;
        Assert.True(basins > 0);
        Assert.Equal(1 + basins + 1, lines.Length);
        Assert.StartsWith($"0.05,{basins},1,", lines[1]);
        Assert.Equal("10,0,,,,,,,,", lines[^1]);
        Assert.Equal(LandscapeSweep.CsvHeader.Split(',').Length, lines[1].Split(',').Length);
    }

    [Fact]
    public void SurfaceHoldsTheEntropyOfEveryGridPoint()
    {
        LseLayer<double> layer = TwoClusters().WithViscosity(0.3);
        LandscapeSurface surface = EntropyLandscape.Surface(layer, Square(2), head: 0, gridSize: 9);
        Assert.Equal(81, surface.Entropy.Count);
        for (int i = 0; i < 9; i += 4)
        {
            for (int j = 0; j < 9; j += 2)
            {
                double expected = layer.Entropy([surface.U[i], surface.V[j]]);
                Assert.Equal(expected, surface.Entropy[(i * 9) + j], 1e-12 * Math.Max(1, expected));
            }
        }
    }

    [Theory]
    [InlineData(0.0, "viscosities[0] is 0")]
    [InlineData(-1.0, "viscosities[0] is -1")]
    [InlineData(double.NaN, "viscosities[0] is NaN")]
    public void NonPositiveViscosityIsRejectedWithItsIndex(double viscosity, string message)
    {
        var problem = Assert.Throws<ArgumentException>(() => EntropyLandscape.Sweep(TwoClusters(), Square(1), [viscosity, 1.0]));
        Assert.Contains(message, problem.Message);
        Assert.Equal("viscosities", problem.ParamName);
    }

    [Fact]
    public void BadSweepsAndSettingsAreRejected()
    {
        LseLayer<double> layer = TwoClusters();
        Assert.Contains("increase strictly", Assert.Throws<ArgumentException>(() => EntropyLandscape.Sweep(layer, Square(1), [1.0, 1.0])).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => EntropyLandscape.Sweep(layer, Square(1), [])).Message);
        Assert.Contains("gridSize is 3", Assert.Throws<ArgumentException>(() => EntropyLandscape.Sweep(layer, Square(1), [1.0], gridSize: 3)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => EntropyLandscape.Sweep(layer, Square(1), [1.0], head: 1));
        Assert.Contains("the plane lies in 3 dimensions", Assert.Throws<ArgumentException>(() => LandscapePlane.Through([0, 0, 0], [1, 0, 0], [0, 1, 0], -1, 1, -1, 1).Restrict(layer)).Message);
        Assert.Contains("parallel", Assert.Throws<ArgumentException>(() => LandscapePlane.Through([0, 0], [1, 1], [2, 2], -1, 1, -1, 1)).Message);
        Assert.Contains("at least 2 features", Assert.Throws<ArgumentException>(() => LandscapePlane.PrincipalComponents([1.0, 2.0], 1)).Message);
        Assert.Contains("from 1 to 1", Assert.Throws<ArgumentException>(() => EntropyLandscape.GeometricViscosities(1, 1, 5)).Message);
        Assert.Contains("eps = 0", Assert.Throws<ArgumentException>(() => EntropyLandscape.Basins(layer.WithViscosity(0), Square(1))).Message);
    }

    private static void AssertNonIncreasing(int[] counts, string shown)
    {
        for (int i = 1; i < counts.Length; i++)
        {
            Assert.True(counts[i] <= counts[i - 1], $"the basin count rose from {counts[i - 1]} to {counts[i]} at step {i}: {shown}");
        }
    }

    private static void AssertEigenvector(double[] matrix, int d, ReadOnlySpan<double> vector, double value)
    {
        var image = new double[d];
        for (int i = 0; i < d; i++)
        {
            image[i] = TensorPrimitives.Dot(matrix.AsSpan(i * d, d), vector);
        }

        TensorPrimitives.MultiplyAdd(vector, -value, image, image);
        Assert.True(TensorPrimitives.Norm<double>(image) <= 1e-6 * value, $"|C v - lambda v| = {TensorPrimitives.Norm<double>(image)} for lambda = {value}");
    }

    private static double[] Covariance(double[] rows, int count, int d)
    {
        var mean = new double[d];
        for (int row = 0; row < count; row++)
        {
            TensorPrimitives.Add(mean, rows.AsSpan(row * d, d), mean);
        }

        TensorPrimitives.Divide(mean, count, mean);
        var covariance = new double[d * d];
        var centred = new double[d];
        for (int row = 0; row < count; row++)
        {
            TensorPrimitives.Subtract(rows.AsSpan(row * d, d), mean, centred);
            for (int i = 0; i < d; i++)
            {
                TensorPrimitives.MultiplyAdd(centred, centred[i], covariance.AsSpan(i * d, d), covariance.AsSpan(i * d, d));
            }
        }

        TensorPrimitives.Divide(covariance, count - 1, covariance);
        return covariance;
    }

    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
