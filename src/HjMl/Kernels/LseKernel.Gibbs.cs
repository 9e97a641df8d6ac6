using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

// The register-blocked logits of a block of rows, and one head's Gibbs weights per row: what a residual Gibbs flow's
// float32 Euler step reads (THEORY.md sections 8 and 9).
internal sealed unsafe partial class LseKernel<T>
{
    /// <summary>
    /// The length of a logit buffer for <paramref name="rows"/> rows of <see cref="BatchLogits"/>: rows of
    /// <see cref="Columns"/> and one vector of slack for whole-vector tail loads.
    /// </summary>
    public int BatchLogitsLength(int rows) => (rows * Columns) + Lanes;

    /// <summary>
    /// z = W x + b for <paramref name="rows"/> rows of <paramref name="inputs"/> (d each, back to back) into
    /// <paramref name="logits"/> (rows of <see cref="Columns"/>, at least <see cref="BatchLogitsLength"/> long): the
    /// kernel's register-blocked product, which sums every logit in one order (b, then k = 1..d), so a row's logits are
    /// the same bits alone and in any block. On the calling thread; allocates nothing.
    /// </summary>
    public void BatchLogits(ReadOnlySpan<T> inputs, int rows, Span<T> logits)
    {
        if (inputs.Length < rows * Dimension || logits.Length < BatchLogitsLength(rows))
        {
            throw new ArgumentException($"BatchLogits needs {rows * Dimension} inputs and {BatchLogitsLength(rows)} logits; it has {inputs.Length} and {logits.Length}.", nameof(logits));
        }

        fixed (T* x = inputs)
        fixed (T* z = logits)
        {
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    Logits<Vector512<T>, Simd512<T>>(x, rows, z);
                    break;
                case VectorWidth.Bits256:
                    Logits<Vector256<T>, Simd256<T>>(x, rows, z);
                    break;
                default:
                    Logits<Vector128<T>, Simd128<T>>(x, rows, z);
                    break;
            }
        }
    }

    /// <summary>
    /// The Gibbs weights pi_j = exp((z_j - m) / eps) / S of a one-head kernel for every row, z = W x + b from
    /// <see cref="BatchLogits"/> into <paramref name="logits"/>, the weights into <paramref name="weights"/> (rows of
    /// <see cref="Pieces"/>, back to back, at least rows N + <see cref="Lanes"/> long: whole vectors are written past a
    /// row's end, which the next row then overwrites). The exponentials are the scoring kernel's (the same operations as
    /// <see cref="ExplainRow(ReadOnlySpan{T}, Span{double}, double, Span{T}, Span{double})"/>), shifted by each row's
    /// maximum; at an eps so small that 1 / eps overflows, the weights share equally among the tied maxima.
    /// </summary>
    public void GibbsWeights(ReadOnlySpan<T> inputs, int rows, double viscosity, Span<T> logits, Span<T> weights)
    {
        if (Heads != 1)
        {
            throw new InvalidOperationException($"GibbsWeights reads a one-head kernel; this one has {Heads} heads.");
        }

        if (weights.Length < (rows * Pieces) + Lanes)
        {
            throw new ArgumentException($"weights has length {weights.Length}; {rows} rows of {Pieces} need {(rows * Pieces) + Lanes}.", nameof(weights));
        }

        BatchLogits(inputs, rows, logits);
        fixed (T* z = logits)
        fixed (T* pi = weights)
        {
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    GibbsWeights<Vector512<T>, Simd512<T>>(z, rows, viscosity, pi);
                    break;
                case VectorWidth.Bits256:
                    GibbsWeights<Vector256<T>, Simd256<T>>(z, rows, viscosity, pi);
                    break;
                default:
                    GibbsWeights<Vector128<T>, Simd128<T>>(z, rows, viscosity, pi);
                    break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void GibbsWeights<TVector, TSimd>(T* logits, int rows, double viscosity, T* weights)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        T scaling = T.CreateTruncating(TSimd.ExponentialScale / viscosity);
        bool smooth = viscosity > 0 && T.IsFinite(scaling);
        for (int row = 0; row < rows; row++)
        {
            T* z = logits + ((long)row * Columns);
            T* pi = weights + ((long)row * Pieces);
            T maximum = Maximum<TVector, TSimd>(z, Pieces);
            if (!smooth)
            {
                _ = TiedWeights(z, Pieces, maximum, pi);
                continue;
            }

            double sum = ShiftedExponentials<TVector, TSimd>(z, Pieces, maximum, scaling, pi, out _);

            // pi_j = e_j (1 / S): one division per row, within an ulp of dividing each weight.
            TVector scale = TSimd.Broadcast(T.CreateTruncating(1 / sum));
            for (int j = 0; j < Pieces; j += TSimd.Count)
            {
                TSimd.Store(TSimd.Multiply(TSimd.Load(pi + j), scale), pi + j);
            }
        }
    }
}
