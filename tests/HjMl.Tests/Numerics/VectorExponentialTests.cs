using System.Runtime.Intrinsics;
using HjMl.Numerics;

namespace HjMl.Tests.Numerics;

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
