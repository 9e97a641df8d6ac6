using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace HjMl.Kernels;

// The logits z = W x + b of a chunk of rows: the register-blocked matrix product, with standardisation fused in.
internal sealed unsafe partial class LseKernel<T>
{
    // z = (x - mean) / scale, the model's standardisation (FeatureScaling.Apply); rows go from the source into the tile
    // buffer the logits read. Double divides, exactly as FeatureScaling.Apply does; float multiplies by reciprocals the
    // caller rounded once (within 1 ulp of dividing, and cheaper: docs/performance/kernels.md). The default value (no
    // source) does nothing.
    private readonly struct Standardisation(T* source, T* means, T* scales, int length)
    {
        // The raw rows, or null when there is nothing to standardise.
        public T* Source => source;

        // The same standardisation for the rows from row `first` on.
        public Standardisation From(int first) => source == null ? default : new(source + ((long)first * length), means, scales, length);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<TVector, TSimd>(int first, int count, T* destination, int length)
            where TVector : unmanaged
            where TSimd : struct, ISimd<T, TVector>
        {
            if (source == null)
            {
                return;
            }

            for (int row = first; row < first + count; row++)
            {
                T* x = source + ((long)row * length);
                T* z = destination + ((long)row * length);
                int k = 0;
                for (; k <= length - TSimd.Count; k += TSimd.Count)
                {
                    TVector centred = TSimd.Subtract(TSimd.Load(x + k), TSimd.Load(means + k));
                    TSimd.Store(typeof(T) == typeof(float) ? TSimd.Multiply(centred, TSimd.Load(scales + k)) : TSimd.Divide(centred, TSimd.Load(scales + k)), z + k);
                }

                for (; k < length; k++)
                {
                    z[k] = typeof(T) == typeof(float) ? (x[k] - means[k]) * scales[k] : (x[k] - means[k]) / scales[k];
                }
            }
        }
    }

    // All K N logits of each row (row stride Columns), column block by column block, so that a block's weights stay in
    // cache while every row of the tile passes.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Logits<TVector, TSimd>(T* inputs, int rows, T* logits, Standardisation standardisation = default)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int blockWidth = BlockVectors * TSimd.Count;
        Prefetch((standardisation.Source == null ? inputs : standardisation.Source) + ((long)rows * Dimension), rows * Dimension);
        for (int column = 0, block = 0; column < Columns; column += blockWidth, block++)
        {
            T* slab = panel + (block * Dimension * blockWidth);
            Standardisation first = column == 0 ? standardisation : default;
            switch ((Columns - column) / TSimd.Count)
            {
                case 1:
                    Rows<TVector, TSimd, BlockOfOne>(inputs, rows, slab, biases + column, logits + column, first);
                    break;
                case 2:
                    Rows<TVector, TSimd, BlockOfTwo>(inputs, rows, slab, biases + column, logits + column, first);
                    break;
                default:
                    Rows<TVector, TSimd, BlockOfThree>(inputs, rows, slab, biases + column, logits + column, first);
                    break;
            }
        }
    }

    // Asks for the next rows' inputs (up to 4 KiB) while this chunk computes, because the hardware prefetcher does not
    // run far enough ahead of a stream read a few kilobytes at a time (docs/performance/kernels.md). A prefetch past the
    // end of the inputs is harmless.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(T* next, int length)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        byte* start = (byte*)next;
        long bytes = Math.Min((long)length * sizeof(T), 4096);
        for (long offset = 0; offset < bytes; offset += CacheLine)
        {
            Sse.Prefetch0(start + offset);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rows<TVector, TSimd, TColumns>(T* inputs, int rows, T* slab, T* blockBiases, T* logits, Standardisation standardisation)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TColumns : struct, IBlockSize
    {
        int d = Dimension;
        int row = 0;
        if (TSimd.BlockRows == 8)
        {
            for (; row <= rows - 8; row += 8)
            {
                standardisation.Apply<TVector, TSimd>(row, 8, inputs, d);
                Block<TVector, TSimd, BlockOfEight, TColumns>(inputs + (row * d), d, slab, blockBiases, logits + (row * Columns), Columns);
            }
        }
        else
        {
            for (; row <= rows - 4; row += 4)
            {
                standardisation.Apply<TVector, TSimd>(row, 4, inputs, d);
                Block<TVector, TSimd, BlockOfFour, TColumns>(inputs + (row * d), d, slab, blockBiases, logits + (row * Columns), Columns);
            }
        }

        for (; row < rows; row++)
        {
            standardisation.Apply<TVector, TSimd>(row, 1, inputs, d);
            Block<TVector, TSimd, BlockOfOne, TColumns>(inputs + (row * d), d, slab, blockBiases, logits + (row * Columns), Columns);
        }
    }

    // The register block: TRows rows x TColumns vectors of logits, z = b + sum_k x_k w_k, one fused multiply-add per
    // row, vector and k. Unused rows and columns are compile-time constants, so the JIT drops their code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TVector, TSimd, TRows, TColumns>(T* x, int d, T* slab, T* blockBiases, T* z, int stride)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TRows : struct, IBlockSize
        where TColumns : struct, IBlockSize
    {
        int lanes = TSimd.Count;
        int width = TColumns.Count * lanes;
        TVector b0 = TSimd.Load(blockBiases);
        TVector b1 = TColumns.Count > 1 ? TSimd.Load(blockBiases + lanes) : default;
        TVector b2 = TColumns.Count > 2 ? TSimd.Load(blockBiases + (2 * lanes)) : default;
        TVector a00 = b0, a01 = b1, a02 = b2, a10 = b0, a11 = b1, a12 = b2, a20 = b0, a21 = b1, a22 = b2, a30 = b0, a31 = b1, a32 = b2;
        TVector a40 = b0, a41 = b1, a42 = b2, a50 = b0, a51 = b1, a52 = b2, a60 = b0, a61 = b1, a62 = b2, a70 = b0, a71 = b1, a72 = b2;
        T* x0 = x;
        T* x1 = x + d;
        T* x2 = x + (2 * d);
        T* x3 = x + (3 * d);
        T* x4 = x + (4 * d);
        T* x5 = x + (5 * d);
        T* x6 = x + (6 * d);
        T* x7 = x + (7 * d);
        for (int k = 0; k < d; k++, slab += width)
        {
            TVector w0 = TSimd.Load(slab);
            TVector w1 = TColumns.Count > 1 ? TSimd.Load(slab + lanes) : default;
            TVector w2 = TColumns.Count > 2 ? TSimd.Load(slab + (2 * lanes)) : default;
            TVector input = TSimd.Broadcast(x0[k]);
            a00 = TSimd.MultiplyAdd(w0, input, a00);
            if (TColumns.Count > 1)
            {
                a01 = TSimd.MultiplyAdd(w1, input, a01);
            }

            if (TColumns.Count > 2)
            {
                a02 = TSimd.MultiplyAdd(w2, input, a02);
            }

            if (TRows.Count > 1)
            {
                input = TSimd.Broadcast(x1[k]);
                a10 = TSimd.MultiplyAdd(w0, input, a10);
                a11 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a11) : a11;
                a12 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a12) : a12;
                input = TSimd.Broadcast(x2[k]);
                a20 = TSimd.MultiplyAdd(w0, input, a20);
                a21 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a21) : a21;
                a22 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a22) : a22;
                input = TSimd.Broadcast(x3[k]);
                a30 = TSimd.MultiplyAdd(w0, input, a30);
                a31 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a31) : a31;
                a32 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a32) : a32;
            }

            if (TRows.Count > 4)
            {
                input = TSimd.Broadcast(x4[k]);
                a40 = TSimd.MultiplyAdd(w0, input, a40);
                a41 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a41) : a41;
                a42 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a42) : a42;
                input = TSimd.Broadcast(x5[k]);
                a50 = TSimd.MultiplyAdd(w0, input, a50);
                a51 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a51) : a51;
                a52 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a52) : a52;
                input = TSimd.Broadcast(x6[k]);
                a60 = TSimd.MultiplyAdd(w0, input, a60);
                a61 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a61) : a61;
                a62 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a62) : a62;
                input = TSimd.Broadcast(x7[k]);
                a70 = TSimd.MultiplyAdd(w0, input, a70);
                a71 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a71) : a71;
                a72 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a72) : a72;
            }
        }

        Store<TVector, TSimd, TColumns>(z, a00, a01, a02);
        if (TRows.Count > 1)
        {
            Store<TVector, TSimd, TColumns>(z + stride, a10, a11, a12);
            Store<TVector, TSimd, TColumns>(z + (2 * stride), a20, a21, a22);
            Store<TVector, TSimd, TColumns>(z + (3 * stride), a30, a31, a32);
        }

        if (TRows.Count > 4)
        {
            Store<TVector, TSimd, TColumns>(z + (4 * stride), a40, a41, a42);
            Store<TVector, TSimd, TColumns>(z + (5 * stride), a50, a51, a52);
            Store<TVector, TSimd, TColumns>(z + (6 * stride), a60, a61, a62);
            Store<TVector, TSimd, TColumns>(z + (7 * stride), a70, a71, a72);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TVector, TSimd, TColumns>(T* z, TVector first, TVector second, TVector third)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TColumns : struct, IBlockSize
    {
        TSimd.Store(first, z);
        if (TColumns.Count > 1)
        {
            TSimd.Store(second, z + TSimd.Count);
        }

        if (TColumns.Count > 2)
        {
            TSimd.Store(third, z + (2 * TSimd.Count));
        }
    }
}
