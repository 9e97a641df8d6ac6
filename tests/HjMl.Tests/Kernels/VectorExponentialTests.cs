using System.Runtime.Intrinsics;
using HjMl.Kernels;

namespace HjMl.Tests.Kernels;

public class VectorExponentialTests
{
    [Fact]
    public void ExpIsWithin2UlpOfDoubleExpOnNonPositiveArgumentsAtEveryWidth()
    {
        var random = new Random(11);
        var arguments = new float[200_000];
        for (int i = 0; i < arguments.Length; i++)
        {
            // Half spread over the whole range, half near 0, where most of a soft maximum's weight is.
            arguments[i] = i % 2 == 0 ? (float)(-87.3 * random.NextDouble()) : (float)(-random.NextDouble());
        }

        foreach (Func<float, float> exp in Widths())
        {
            double worst = 0;
            foreach (float x in arguments)
            {
                double exact = Math.Exp(x);
                float rounded = (float)exact;
                double ulp = MathF.BitIncrement(rounded) - rounded;
                worst = Math.Max(worst, Math.Abs(exp(x) - exact) / ulp);
            }

            Assert.True(worst <= 2, $"worst error {worst} ulp");
        }
    }

    [Fact]
    public void Exp2IsWithin2UlpOfDoublePowOnNonPositiveArgumentsAtEveryWidth()
    {
        var random = new Random(12);
        foreach (Func<float, float> exp2 in PowerWidths())
        {
            double worst = 0;
            for (int i = 0; i < 200_000; i++)
            {
                float t = i % 2 == 0 ? (float)(-126 * random.NextDouble()) : (float)-random.NextDouble();
                double exact = Math.Pow(2, t);
                float rounded = (float)exact;
                worst = Math.Max(worst, Math.Abs(exp2(t) - exact) / (MathF.BitIncrement(rounded) - rounded));
            }

            Assert.True(worst <= 2, $"worst error {worst} ulp");
            Assert.Equal(1f, exp2(0f));
            Assert.Equal(0.5f, exp2(-1f));
            Assert.Equal(0f, exp2(-127f));
            Assert.Equal(0f, exp2(float.NegativeInfinity));
        }
    }

    [Fact]
    public void ExpOfZeroIsOneAndBelowTheSmallestNormalIsZero()
    {
        foreach (Func<float, float> exp in Widths())
        {
            Assert.Equal(1f, exp(0f));
            Assert.Equal(0f, exp(-87.5f));
            Assert.Equal(0f, exp(-1e30f));
            Assert.Equal(0f, exp(float.NegativeInfinity));
            Assert.True(exp(-87.3f) > 0);
        }
    }

    [Fact]
    public void DoubleExponentialMatchesMathExpDownToTheFloorAndIsZeroBelowItAtEveryWidth()
    {
        // Arguments a max-shifted log-sum-exp passes: near 0, far below, at the floor, past it, and the -infinity of a
        // padded tail. Each lane is computed in a vector whose other lanes lie below the floor, as a tail vector's do.
        double[] arguments = [0, -1e-300, -0.5, -3, -40, -300, -700, -707.999, VectorExponential.DoubleFloor, -708.001, -745, -800, -1e300, double.NegativeInfinity];
        foreach (Func<double, double, double> exp in DoubleWidths())
        {
            foreach (double x in arguments)
            {
                double value = exp(x, double.NegativeInfinity);
                if (x < VectorExponential.DoubleFloor)
                {
                    Assert.Equal(0.0, value);
                    continue;
                }

                double exact = Math.Exp(x);
                Assert.True(Math.Abs(value - exact) <= Math.BitIncrement(exact) - exact, $"exp({x}) = {value}, Math.Exp gives {exact}");
                Assert.Equal(value, exp(x, -1.0));
            }

            Assert.True(double.IsNaN(exp(double.NaN, 0)));
        }
    }

    // exp of lane 0 = x, every other lane = neighbour, read back from lane 0.
    private static IEnumerable<Func<double, double, double>> DoubleWidths()
    {
        yield return (x, neighbour) => Simd512<double>.Exponential(Vector512.Create(neighbour).WithElement(0, x)).ToScalar();
        yield return (x, neighbour) => Simd256<double>.Exponential(Vector256.Create(neighbour).WithElement(0, x)).ToScalar();
        yield return (x, neighbour) => Simd128<double>.Exponential(Vector128.Create(neighbour).WithElement(0, x)).ToScalar();
        yield return (x, neighbour) => Simd512<double>.ScaledExponential(Vector512.Create(neighbour).WithElement(0, x)).ToScalar();
    }

    private static IEnumerable<Func<float, float>> PowerWidths()
    {
        yield return t => VectorExponential.Exp2<float, Vector512<float>, Simd512<float>>(Vector512.Create(t)).ToScalar();
        yield return t => VectorExponential.Exp2<float, Vector256<float>, Simd256<float>>(Vector256.Create(t)).ToScalar();
        yield return t => VectorExponential.Exp2<float, Vector128<float>, Simd128<float>>(Vector128.Create(t)).ToScalar();
    }

    private static IEnumerable<Func<float, float>> Widths()
    {
        yield return x => VectorExponential.Exp<float, Vector512<float>, Simd512<float>>(Vector512.Create(x)).ToScalar();
        yield return x => VectorExponential.Exp<float, Vector256<float>, Simd256<float>>(Vector256.Create(x)).ToScalar();
        yield return x => VectorExponential.Exp<float, Vector128<float>, Simd128<float>>(Vector128.Create(x)).ToScalar();
    }
}
