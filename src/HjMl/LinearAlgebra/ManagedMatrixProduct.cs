using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace HjMl.LinearAlgebra;

/// <summary>
/// The managed fallback for <see cref="IMatrixProduct"/>: vectorised with <see cref="TensorPrimitives"/>
/// (Vector512/256/128 underneath). Two shapes cover every case: when op(B) = B^T the rows of A and B are contiguous
/// and each entry is one vectorised dot product; when op(B) = B each row of C accumulates rows of B (axpy, vectorised
/// over n). A transposed A is packed once, which costs m*k against the product's m*n*k.
/// </summary>
public sealed class ManagedMatrixProduct : IMatrixProduct
{
    /// <summary>The shared instance; it holds no state.</summary>
    public static ManagedMatrixProduct Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "managed-simd";

    /// <inheritdoc />
    public void Multiply<T>(
        Transpose transposeLeft,
        Transpose transposeRight,
        int m,
        int n,
        int k,
        T alpha,
        ReadOnlySpan<T> left,
        int leftStride,
        ReadOnlySpan<T> right,
        int rightStride,
        T beta,
        Span<T> destination,
        int destinationStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        T[]? packed = null;
        try
        {
            if (transposeLeft == Transpose.Yes)
            {
                // Pack op(A) = A^T (A is k x m) into m x k so that its rows are contiguous.
                packed = ArrayPool<T>.Shared.Rent(m * k);
                for (int p = 0; p < k; p++)
                {
                    ReadOnlySpan<T> row = left.Slice(p * leftStride, m);
                    for (int i = 0; i < m; i++)
                    {
                        packed[(i * k) + p] = row[i];
                    }
                }

                left = packed.AsSpan(0, m * k);
                leftStride = k;
            }

            if (transposeRight == Transpose.Yes)
            {
                MultiplyByTransposed(m, n, k, alpha, left, leftStride, right, rightStride, beta, destination, destinationStride);
            }
            else
            {
                MultiplyByRows(m, n, k, alpha, left, leftStride, right, rightStride, beta, destination, destinationStride);
            }
        }
        finally
        {
            if (packed is not null)
            {
                ArrayPool<T>.Shared.Return(packed);
            }
        }
    }

    // C[i, j] = alpha * dot(A_i, B_j) + beta * C[i, j]; B is n x k.
    private static void MultiplyByTransposed<T>(int m, int n, int k, T alpha, ReadOnlySpan<T> left, int leftStride, ReadOnlySpan<T> right, int rightStride, T beta, Span<T> destination, int destinationStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            // With k = 0 the rows of A are empty and a span holding them may be shorter than i * leftStride.
            ReadOnlySpan<T> a = k == 0 ? default : left.Slice(i * leftStride, k);
            Span<T> c = destination.Slice(i * destinationStride, n);
            for (int j = 0; j < n; j++)
            {
                T dot = k == 0 ? T.Zero : TensorPrimitives.Dot(a, right.Slice(j * rightStride, k));
                c[j] = beta == T.Zero ? alpha * dot : (alpha * dot) + (beta * c[j]);
            }
        }
    }

    // C_i = beta * C_i + sum_p (alpha * A[i, p]) * B_p; B is k x n.
    private static void MultiplyByRows<T>(int m, int n, int k, T alpha, ReadOnlySpan<T> left, int leftStride, ReadOnlySpan<T> right, int rightStride, T beta, Span<T> destination, int destinationStride)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            Span<T> c = destination.Slice(i * destinationStride, n);
            ReadOnlySpan<T> a = k == 0 ? default : left.Slice(i * leftStride, k);
            int start = 0;
            if (beta == T.Zero)
            {
                // The first row of B initialises C_i, saving the pass that would clear it.
                if (k == 0)
                {
                    c.Clear();
                }
                else
                {
                    TensorPrimitives.Multiply(right[..n], alpha * a[0], c);
                    start = 1;
                }
            }
            else if (beta != T.One)
            {
                TensorPrimitives.Multiply(c, beta, c);
            }

            for (int p = start; p < k; p++)
            {
                T scale = alpha * a[p];
                if (scale != T.Zero)
                {
                    TensorPrimitives.MultiplyAdd(right.Slice(p * rightStride, n), scale, c, c);
                }
            }
        }
    }
}
