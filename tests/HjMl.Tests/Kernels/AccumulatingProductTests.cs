using HjMl.Kernels;

namespace HjMl.Tests.Kernels;

/// <summary>
/// <see cref="AccumulatingProduct{T}"/>, the in-place product the float32 flow adds its corrections with: pinned to the
/// scalar sum it stands for (z + w_1 x_1 + w_2 x_2 + ..., one fused multiply-add per term, in that order) to the bit, for
/// every register-block shape, rows that end mid-block, strided rows and every vector width.
/// </summary>
public class AccumulatingProductTests
{
    // Vector widths in bits that this machine accelerates.
    public static TheoryData<int> Widths()
    {
        var widths = new TheoryData<int> { 128 };
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
        {
            widths.Add(256);
        }

        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            widths.Add(512);
        }

        return widths;
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public unsafe void AccumulatedRowsEqualTheScalarFusedSumInOrderToTheBit(int bits)
    {
        VectorWidth width = bits switch { 512 => VectorWidth.Bits512, 256 => VectorWidth.Bits256, _ => VectorWidth.Bits128 };
        int lanes = bits / 32;
        var random = new Random(15);
        foreach (int vectors in new[] { 1, 2, 3, 4, 5, 7 })
        {
            foreach (int inputs in new[] { 0, 1, 5, 32, 67 })
            {
                int outputs = vectors * lanes;
                float[] weights = Values(random, outputs * inputs);
                var product = new AccumulatingProduct<float>(weights, inputs, outputs, width);
                foreach (int rows in new[] { 0, 1, 3, 4, 9 })
                {
                    // Inputs and outputs as slices of wider rows, as the flow passes them.
                    int inputStride = inputs + 3;
                    int outputStride = outputs + (2 * lanes);
                    float[] x = Values(random, (rows * inputStride) + 1);
                    float[] z = Values(random, (rows * outputStride) + 1);
                    var expected = (float[])z.Clone();
                    for (int row = 0; row < rows; row++)
                    {
                        for (int output = 0; output < outputs; output++)
                        {
                            float sum = expected[(row * outputStride) + lanes + output];
                            for (int k = 0; k < inputs; k++)
                            {
                                sum = MathF.FusedMultiplyAdd(weights[(output * inputs) + k], x[(row * inputStride) + k], sum);
                            }

                            expected[(row * outputStride) + lanes + output] = sum;
                        }
                    }

                    fixed (float* input = x)
                    fixed (float* output = z)
                    {
                        product.Accumulate(input, inputStride, rows, output + lanes, outputStride);
                    }

                    Assert.Equal(expected, z);
                }
            }
        }
    }

    [Fact]
    public void OutputsThatAreNotWholeVectorsAreRefused()
    {
        var exception = Assert.Throws<ArgumentException>(() => new AccumulatingProduct<float>(new float[3 * 2], 2, 3, VectorWidth.Bits128));
        Assert.Contains("whole vectors", exception.Message, StringComparison.Ordinal);
    }

    private static float[] Values(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return values;
    }
}
