using System.Numerics;

namespace HjMl.LinearAlgebra;

/// <summary>Whether a matrix operand of <see cref="IMatrixProduct.Multiply{T}"/> is used as stored or transposed.</summary>
public enum Transpose
{
    /// <summary>Use the matrix as stored.</summary>
    No,

    /// <summary>Use the transpose of the stored matrix.</summary>
    Yes,
}

/// <summary>
/// The one matrix product the engine's hot paths go through (batch logits, gradient accumulation), so that a native
/// BLAS can replace the managed implementation without touching the layers. Row-major, BLAS gemm semantics:
/// C = alpha * op(A) * op(B) + beta * C, with op(A) m x k, op(B) k x n and C m x n.
/// </summary>
public interface IMatrixProduct
{
    /// <summary>A short name for diagnostics ("managed-simd", "openblas", "mkl").</summary>
    string Name { get; }

    /// <summary>C = alpha * op(A) * op(B) + beta * C, row-major with leading dimensions (row strides) lda, ldb, ldc.</summary>
    void Multiply<T>(
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
        where T : unmanaged, IFloatingPointIeee754<T>;
}
