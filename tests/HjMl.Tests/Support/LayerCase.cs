using FsCheck;
using FsCheck.Fluent;
using HjMl.Layers;

namespace HjMl.Tests.Support;

/// <summary>
/// A randomly drawn layer and input for property tests: dimension 1..8, 1..32 pieces, 1..3 heads, eps log-uniform
/// over [1e-12, 1e12] (or exactly 0 sometimes), weights and inputs of scale 10^s for s in [-3, 3].
/// FsCheck draws and shrinks the parameters; the values come from a seeded generator.
/// </summary>
public sealed record LayerCase(int Seed, int Dimension, int Pieces, int Heads, int ViscosityExponent, int Scale)
{
    public double Viscosity => ViscosityExponent == int.MinValue ? 0 : Math.Pow(10, ViscosityExponent / 2.0);

    public static Arbitrary<LayerCase> Arbitrary(int minimumViscosityExponent = -24, int maximumViscosityExponent = 24, bool allowZeroViscosity = false) =>
        (from seed in Gen.Choose(0, 1_000_000)
         from dimension in Gen.Choose(1, 8)
         from pieces in Gen.Choose(1, 32)
         from heads in Gen.Choose(1, 3)
         from exponent in Gen.Choose(minimumViscosityExponent, maximumViscosityExponent)
         from zero in allowZeroViscosity ? Gen.Choose(0, 9) : Gen.Constant(1)
         from scale in Gen.Choose(-3, 3)
         select new LayerCase(seed, dimension, pieces, heads, zero == 0 ? int.MinValue : exponent, scale)).ToArbitrary();

    public LseLayer<double> Layer()
    {
        var random = new Random(Seed);
        double magnitude = Math.Pow(10, Scale);
        var weights = Draw(random, Heads * Pieces * Dimension, magnitude);
        var biases = Draw(random, Heads * Pieces, magnitude);
        return new LseLayer<double>(weights, biases, Dimension, Viscosity, Heads);
    }

    public double[] Input()
    {
        var random = new Random(Seed + 7919);
        return Draw(random, Dimension, 2.0);
    }

    public static double[] Draw(Random random, int count, double magnitude)
    {
        var values = new double[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = ((2 * random.NextDouble()) - 1) * magnitude;
        }

        return values;
    }
}

public static class Properties
{
    // A fixed seed keeps CI deterministic; set HJML_PROPERTY_SEED to explore other draws.
    private static readonly ulong Seed = ulong.TryParse(Environment.GetEnvironmentVariable("HJML_PROPERTY_SEED"), out ulong seed) ? seed : 20261122UL;

    private static Config Configuration(int count) =>
        Config.QuickThrowOnFailure.WithMaxTest(count).WithReplay(
            Microsoft.FSharp.Core.FSharpOption<Replay>.Some(new Replay(new Rnd(Seed), Microsoft.FSharp.Core.FSharpOption<int>.None)));

    /// <summary>Checks <paramref name="property"/> on <paramref name="count"/> drawn cases; throws with the shrunk counterexample.</summary>
    public static void Hold<T>(Arbitrary<T> cases, Func<T, bool> property, int count = 300)
        => Check.One(Configuration(count), Prop.ForAll(cases, property));

    /// <summary>Like <see cref="Hold{T}"/> for an assertion-style body.</summary>
    public static void Hold<T>(Arbitrary<T> cases, Action<T> property, int count = 300)
        => Check.One(Configuration(count), Prop.ForAll(cases, property));
}
