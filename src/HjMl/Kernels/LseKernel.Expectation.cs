using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

// E_pi[w] of a head straight from the scoring panel (THEORY.md section 3): the weights scoring has just swept, instead of
// a second copy of them in another part of memory.
internal sealed unsafe partial class LseKernel<T>
{
    // The calling thread's per-feature accumulators of PanelExpectation (d vectors; see AlignedBuffer.Rent).
    [ThreadStatic]
    private static T[]? expectationSums;

    /// <summary>
    /// Writes E_pi[w] = sum_j pi_j w_j of head <paramref name="head"/> to the first d entries of
    /// <paramref name="destination"/>, reading the packed weights scoring reads, where <paramref name="weights"/> holds the
    /// head's N Gibbs weights. Why a second route besides <see cref="ExpectationKernel{T}"/>: on heads of megabytes an
    /// explanation that first scores through the panel and then reads the row-major copy streams twice the memory, and the
    /// two copies evict each other from the last-level cache; reading the panel again, slab after slab in the order
    /// scoring read it, finds it where scoring left it. Each E_k gathers the head's pieces in lanes (one vector per
    /// feature), added across lanes at the end. Allocates nothing once warm.
    /// </summary>
    public void PanelExpectation(int head, ReadOnlySpan<T> weights, Span<T> destination)
    {
        Debug.Assert(weights.Length >= Pieces, "One weight per piece.");
        Debug.Assert(destination.Length >= Dimension, "One entry per feature.");
        Span<T> sums = AlignedBuffer<T>.Rent(ref expectationSums, Dimension * Lanes);
        fixed (T* pi = weights)
        fixed (T* output = destination)
        fixed (T* accumulators = sums)
        {
            switch (VectorWidth)
            {
                case VectorWidth.Bits512:
                    PanelExpectation<Vector512<T>, Simd512<T>>(head, pi, output, accumulators);
                    break;
                case VectorWidth.Bits256:
                    PanelExpectation<Vector256<T>, Simd256<T>>(head, pi, output, accumulators);
                    break;
                default:
                    PanelExpectation<Vector128<T>, Simd128<T>>(head, pi, output, accumulators);
                    break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PanelExpectation<TVector, TSimd>(int head, T* pi, T* output, T* sums)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int lanes = TSimd.Count;
        int blockWidth = BlockVectors * lanes;
        int d = Dimension;
        int start = head * Pieces;
        int end = start + Pieces;
        TVector zero = TSimd.Broadcast(T.Zero);
        for (int k = 0; k < d; k++)
        {
            TSimd.Store(zero, sums + (k * lanes));
        }

        // A slab the head shares with its neighbour takes the head's lanes only.
        T* shared = stackalloc T[blockWidth];
        for (int slabStart = start / blockWidth * blockWidth; slabStart < end; slabStart += blockWidth)
        {
            int width = Math.Min(blockWidth, Columns - slabStart);
            T* slabPi;
            if (slabStart >= start && slabStart + width <= end)
            {
                slabPi = pi + (slabStart - start);
            }
            else
            {
                for (int c = 0; c < width; c++)
                {
                    int piece = slabStart + c;
                    shared[c] = piece >= start && piece < end ? pi[piece - start] : T.Zero;
                }

                slabPi = shared;
            }

            T* slab = panel + ((long)slabStart * d);
            switch (width / lanes)
            {
                case 1:
                    SlabSums<TVector, TSimd, BlockOfOne>(slab, width, slabPi, sums);
                    break;
                case 2:
                    SlabSums<TVector, TSimd, BlockOfTwo>(slab, width, slabPi, sums);
                    break;
                default:
                    SlabSums<TVector, TSimd, BlockOfThree>(slab, width, slabPi, sums);
                    break;
            }
        }

        for (int k = 0; k < d; k++)
        {
            output[k] = T.CreateTruncating(TSimd.SumAcross(TSimd.Load(sums + (k * lanes))));
        }
    }

    // sums_k += sum_v pi_v w_kv over the slab's TColumns vectors of pieces, for every feature k (the slab is d rows of
    // its width, k-major). The features are independent chains, so the multiply-adds of one do not wait on another's.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SlabSums<TVector, TSimd, TColumns>(T* slab, int width, T* slabPi, T* sums)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TColumns : struct, IBlockSize
    {
        int lanes = TSimd.Count;
        TVector zero = TSimd.Broadcast(T.Zero);
        TVector p0 = TSimd.Load(slabPi);
        TVector p1 = TColumns.Count > 1 ? TSimd.Load(slabPi + lanes) : zero;
        TVector p2 = TColumns.Count > 2 ? TSimd.Load(slabPi + (2 * lanes)) : zero;
        for (int k = 0; k < Dimension; k++)
        {
            T* w = slab + ((long)k * width);
            T* sum = sums + (k * lanes);
            TVector s = TSimd.MultiplyAdd(TSimd.Load(w), p0, TSimd.Load(sum));
            s = TColumns.Count > 1 ? TSimd.MultiplyAdd(TSimd.Load(w + lanes), p1, s) : s;
            s = TColumns.Count > 2 ? TSimd.MultiplyAdd(TSimd.Load(w + (2 * lanes)), p2, s) : s;
            TSimd.Store(s, sum);
        }
    }
}
