using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HjMl.Kernels;

/// <summary>
/// z_r += W x_r for a block of rows, in place: the register-blocked product a residual Gibbs flow's float32 scoring adds
/// its corrections h (A_k U_i^T) pi_i with (THEORY.md section 9), straight onto the logits they correct instead of
/// through a buffer and a second pass. Each output starts from the value already there and adds w_1 x_1, w_2 x_2, ...
/// in that order, whichever block computes it, so a row gets the same bits alone and in any block.
/// </summary>
/// <remarks>
/// The outputs are whole vectors (the caller pads them with zero weights), so no store reaches past a row's outputs.
/// Rows are read and written through strides, so the inputs and outputs may be slices of wider rows. Immutable and
/// thread-safe; allocates nothing after construction.
/// </remarks>
internal sealed unsafe class AccumulatingProduct<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    // Vectors of outputs per register block: 8 rows x 3 vectors = 24 accumulators, as in LseKernel's product.
    private const int BlockVectors = 3;

    // Pinned (never moved), so the kernel keeps a raw pointer; the array is held only to keep it alive.
    private readonly T[] panelStorage;
    private readonly T* panel;

    /// <summary>
    /// Packs <paramref name="weights"/> (<paramref name="outputs"/> rows of <paramref name="inputs"/>, row-major) for
    /// vectors of <paramref name="vectorWidth"/>; <paramref name="outputs"/> must be a whole number of vectors.
    /// </summary>
    public AccumulatingProduct(ReadOnlySpan<T> weights, int inputs, int outputs, VectorWidth vectorWidth)
    {
        Inputs = inputs;
        Outputs = outputs;
        VectorWidth = vectorWidth;
        Lanes = LanesOf(vectorWidth);
        if (outputs % Lanes != 0 || weights.Length < inputs * outputs)
        {
            throw new ArgumentException($"AccumulatingProduct needs whole vectors of outputs ({outputs} with {Lanes} lanes) and {inputs * outputs} weights; it has {weights.Length}.", nameof(weights));
        }

        panelStorage = AlignedBuffer<T>.Allocate(Math.Max(1, inputs * outputs), out panel);
        int blockWidth = BlockVectors * Lanes;
        for (int column = 0, block = 0; column < outputs; column += blockWidth, block++)
        {
            int width = Math.Min(blockWidth, outputs - column);
            T* slab = panel + (block * inputs * blockWidth);
            for (int k = 0; k < inputs; k++)
            {
                for (int c = 0; c < width; c++)
                {
                    slab[(k * width) + c] = weights[((column + c) * inputs) + k];
                }
            }
        }
    }

    /// <summary>Inputs per row (the product's inner dimension).</summary>
    public int Inputs { get; }

    /// <summary>Outputs per row, a whole number of vectors.</summary>
    public int Outputs { get; }

    /// <summary>The vector width the kernel runs on.</summary>
    public VectorWidth VectorWidth { get; }

    /// <summary>Lanes per vector.</summary>
    public int Lanes { get; }

    /// <summary>
    /// For rows r = 0..<paramref name="rows"/> - 1: z_r += W x_r, x_r the <see cref="Inputs"/> values from
    /// <paramref name="inputs"/> + r <paramref name="inputStride"/>, z_r the <see cref="Outputs"/> values from
    /// <paramref name="outputs"/> + r <paramref name="outputStride"/>. On the calling thread; allocates nothing.
    /// </summary>
    public void Accumulate(T* inputs, int inputStride, int rows, T* outputs, int outputStride)
    {
        switch (VectorWidth)
        {
            case VectorWidth.Bits512:
                Accumulate<Vector512<T>, Simd512<T>>(inputs, inputStride, rows, outputs, outputStride);
                break;
            case VectorWidth.Bits256:
                Accumulate<Vector256<T>, Simd256<T>>(inputs, inputStride, rows, outputs, outputStride);
                break;
            default:
                Accumulate<Vector128<T>, Simd128<T>>(inputs, inputStride, rows, outputs, outputStride);
                break;
        }
    }

    private static int LanesOf(VectorWidth width) => width switch
    {
        VectorWidth.Bits512 => Vector512<T>.Count,
        VectorWidth.Bits256 => Vector256<T>.Count,
        _ => Vector128<T>.Count,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Accumulate<TVector, TSimd>(T* x, int xStride, int rows, T* z, int zStride)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
    {
        int blockWidth = BlockVectors * TSimd.Count;
        for (int column = 0, block = 0; column < Outputs; column += blockWidth, block++)
        {
            T* slab = panel + (block * Inputs * blockWidth);
            switch ((Outputs - column) / TSimd.Count)
            {
                case 1:
                    Rows<TVector, TSimd, BlockOfOne>(x, xStride, rows, slab, z + column, zStride);
                    break;
                case 2:
                    Rows<TVector, TSimd, BlockOfTwo>(x, xStride, rows, slab, z + column, zStride);
                    break;
                default:
                    Rows<TVector, TSimd, BlockOfThree>(x, xStride, rows, slab, z + column, zStride);
                    break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rows<TVector, TSimd, TColumns>(T* x, int xStride, int rows, T* slab, T* z, int zStride)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TColumns : struct, IBlockSize
    {
        int row = 0;
        for (; row <= rows - 4; row += 4)
        {
            Block<TVector, TSimd, BlockOfFour, TColumns>(x + ((long)row * xStride), xStride, Inputs, slab, z + ((long)row * zStride), zStride);
        }

        for (; row < rows; row++)
        {
            Block<TVector, TSimd, BlockOfOne, TColumns>(x + ((long)row * xStride), xStride, Inputs, slab, z + ((long)row * zStride), zStride);
        }
    }

    // The register block: TRows rows x TColumns vectors, each accumulator loaded from z and stored back, one fused
    // multiply-add per row, vector and k. Unused rows and columns are compile-time constants, so the JIT drops their code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TVector, TSimd, TRows, TColumns>(T* x, int xStride, int d, T* slab, T* z, int zStride)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TRows : struct, IBlockSize
        where TColumns : struct, IBlockSize
    {
        int lanes = TSimd.Count;
        int width = TColumns.Count * lanes;
        T* z1 = z + zStride;
        T* z2 = z + (2 * zStride);
        T* z3 = z + (3 * zStride);
        TVector a00 = Load<TVector, TSimd, TColumns>(z, 0), a01 = Load<TVector, TSimd, TColumns>(z, 1), a02 = Load<TVector, TSimd, TColumns>(z, 2);
        TVector a10 = default, a11 = default, a12 = default, a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        if (TRows.Count > 1)
        {
            a10 = Load<TVector, TSimd, TColumns>(z1, 0);
            a11 = Load<TVector, TSimd, TColumns>(z1, 1);
            a12 = Load<TVector, TSimd, TColumns>(z1, 2);
            a20 = Load<TVector, TSimd, TColumns>(z2, 0);
            a21 = Load<TVector, TSimd, TColumns>(z2, 1);
            a22 = Load<TVector, TSimd, TColumns>(z2, 2);
            a30 = Load<TVector, TSimd, TColumns>(z3, 0);
            a31 = Load<TVector, TSimd, TColumns>(z3, 1);
            a32 = Load<TVector, TSimd, TColumns>(z3, 2);
        }

        T* x0 = x;
        T* x1 = x + xStride;
        T* x2 = x + (2 * xStride);
        T* x3 = x + (3 * xStride);
        for (int k = 0; k < d; k++, slab += width)
        {
            TVector w0 = TSimd.Load(slab);
            TVector w1 = TColumns.Count > 1 ? TSimd.Load(slab + lanes) : default;
            TVector w2 = TColumns.Count > 2 ? TSimd.Load(slab + (2 * lanes)) : default;
            TVector input = TSimd.Broadcast(x0[k]);
            a00 = TSimd.MultiplyAdd(w0, input, a00);
            a01 = TColumns.Count > 1 ? TSimd.MultiplyAdd(w1, input, a01) : a01;
            a02 = TColumns.Count > 2 ? TSimd.MultiplyAdd(w2, input, a02) : a02;
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
        }

        Store<TVector, TSimd, TColumns>(z, a00, a01, a02);
        if (TRows.Count > 1)
        {
            Store<TVector, TSimd, TColumns>(z1, a10, a11, a12);
            Store<TVector, TSimd, TColumns>(z2, a20, a21, a22);
            Store<TVector, TSimd, TColumns>(z3, a30, a31, a32);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector Load<TVector, TSimd, TColumns>(T* z, int vector)
        where TVector : unmanaged
        where TSimd : struct, ISimd<T, TVector>
        where TColumns : struct, IBlockSize
        => vector < TColumns.Count ? TSimd.Load(z + (vector * TSimd.Count)) : default;

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
