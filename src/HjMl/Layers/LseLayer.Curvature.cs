using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using HjMl.Kernels;
using HjMl.LinearAlgebra;
using HjMl.Numerics;

namespace HjMl.Layers;

/// <summary>Curvature of an LSE head: the exact Hessian, its spectral norm and the two a-priori bounds (THEORY.md section 3).</summary>
public sealed partial class LseLayer<T>
{
    // Gram matrices up to this size get exact Jacobi eigenvalues; larger ones power iteration.
    private const int JacobiLimit = 96;

    private T[]? weightNormBounds;
    private T[]? weightDiameters;

    /// <summary>
    /// The exact Hessian Hess f(x) = Cov_pi(w) / eps (THEORY.md section 3), d x d row-major, written to <paramref name="hessian"/>.
    /// Positive semidefinite (f is convex). At eps = 0 the layer is piecewise linear and the Hessian is zero almost everywhere,
    /// which is what is written.
    /// </summary>
    public void Hessian(ReadOnlySpan<T> input, int head, Span<T> hessian)
    {
        int d = InputDimension;
        Guard.AtLeast(hessian, d * d, nameof(hessian), $"a {d} x {d} matrix");
        hessian = hessian[..(d * d)];
        if (Viscosity == T.Zero)
        {
            ValidateInput(input);
            hessian.Clear();
            return;
        }

        T[] centred = ArrayPool<T>.Shared.Rent(NumberOfPieces * d);
        try
        {
            CentredGibbsWeights(input, head, centred);
            // Cov_pi(w) = A^T A with rows A_j = sqrt(pi_j) (w_j - E_pi[w]); the centred form keeps it accurate and PSD.
            MatrixProducts.Current.Multiply(Transpose.Yes, Transpose.No, d, d, NumberOfPieces, T.One / Viscosity, centred, d, centred, d, T.Zero, hessian, d);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(centred);
        }
    }

    /// <summary>
    /// ||Hess f(x)||_2, the largest eigenvalue of Cov_pi(w)/eps (THEORY.md section 3), computed from the smaller of the
    /// two Gram matrices of the centred, pi-weighted weights. Lies below <see cref="HessianDiameterBound"/> and
    /// <see cref="HessianWeightNormBound"/>. Zero at eps = 0 (almost everywhere).
    /// </summary>
    public T HessianSpectralNorm(ReadOnlySpan<T> input, int head = 0)
    {
        if (Viscosity == T.Zero)
        {
            ValidateInput(input);
            return T.Zero;
        }

        int d = InputDimension;
        int n = NumberOfPieces;
        int size = Math.Min(n, d);
        T[] centred = ArrayPool<T>.Shared.Rent(n * d);
        double[] gram = ArrayPool<double>.Shared.Rent((size * size) + (2 * size));
        try
        {
            CentredGibbsWeights(input, head, centred);
            Span<T> gramT = AlignedBuffer<T>.Rent(ref logitScratch, size * size);
            if (size == d)
            {
                MatrixProducts.Current.Multiply(Transpose.Yes, Transpose.No, d, d, n, T.One, centred, d, centred, d, T.Zero, gramT, d);
            }
            else
            {
                MatrixProducts.Current.Multiply(Transpose.No, Transpose.Yes, n, n, d, T.One, centred, d, centred, d, T.Zero, gramT, n);
            }

            Span<double> matrix = gram.AsSpan(0, size * size);
            for (int i = 0; i < matrix.Length; i++)
            {
                matrix[i] = double.CreateChecked(gramT[i]);
            }

            double largest = size <= JacobiLimit
                ? SymmetricEigenvalues.Largest(matrix, size)
                : SymmetricEigenvalues.LargestPositiveSemidefinite(matrix, size, gram.AsSpan(size * size, 2 * size));
            return T.CreateChecked(Math.Max(largest, 0)) / Viscosity;
        }
        finally
        {
            ArrayPool<T>.Shared.Return(centred);
            ArrayPool<double>.Shared.Return(gram);
        }
    }

    /// <summary>The paper's bound ||Hess f||_2 &lt;= max_j ||w_j||^2 / eps for head <paramref name="head"/> (THEORY.md section 3). Infinite at eps = 0.</summary>
    public T HessianWeightNormBound(int head = 0)
    {
        Guard.Index(head, NumberOfHeads, nameof(head), "heads");
        weightNormBounds ??= ComputePerHead(MaximumSquaredNorm);
        return Viscosity == T.Zero ? T.PositiveInfinity : weightNormBounds[head] / Viscosity;
    }

    /// <summary>
    /// The tighter bound ||Hess f||_2 &lt;= diam({w_j})^2 / (4 eps) (Popoviciu's variance inequality; THEORY.md section 3, [derived]).
    /// Infinite at eps = 0.
    /// </summary>
    public T HessianDiameterBound(int head = 0)
    {
        Guard.Index(head, NumberOfHeads, nameof(head), "heads");
        return Viscosity == T.Zero ? T.PositiveInfinity : WeightDiameter(head) * WeightDiameter(head) / (T.CreateChecked(4) * Viscosity);
    }

    /// <summary>The diameter D = max_ij ||w_i - w_j|| of head <paramref name="head"/>'s weight vectors (THEORY.md section 5).</summary>
    public T WeightDiameter(int head = 0)
    {
        Guard.Index(head, NumberOfHeads, nameof(head), "heads");
        weightDiameters ??= ComputePerHead(Diameter);
        return weightDiameters[head];
    }

    // Validates, computes pi, and writes rows sqrt(pi_j) (w_j - E_pi[w]) to centred (N x d).
    private void CentredGibbsWeights(ReadOnlySpan<T> input, int head, Span<T> centred)
    {
        ValidateInput(input);
        Guard.Index(head, NumberOfHeads, nameof(head), "heads");
        int d = InputDimension;
        Span<T> pi = AlignedBuffer<T>.Rent(ref weightScratch, NumberOfPieces);
        GibbsWeights(input, head, pi);
        Span<T> mean = AlignedBuffer<T>.Rent(ref logitScratch, d);
        ExpectedWeight(head, pi, mean);
        ReadOnlySpan<T> headWeights = HeadWeights(head);
        for (int j = 0; j < NumberOfPieces; j++)
        {
            Span<T> row = centred.Slice(j * d, d);
            TensorPrimitives.Subtract(headWeights.Slice(j * d, d), mean, row);
            TensorPrimitives.Multiply(row, T.Sqrt(pi[j]), row);
        }
    }

    private T[] ComputePerHead(Func<int, T> perHead)
    {
        var values = new T[NumberOfHeads];
        for (int head = 0; head < NumberOfHeads; head++)
        {
            values[head] = perHead(head);
        }

        return values;
    }

    private T MaximumSquaredNorm(int head)
    {
        ReadOnlySpan<T> headWeights = HeadWeights(head);
        T largest = T.Zero;
        for (int j = 0; j < NumberOfPieces; j++)
        {
            ReadOnlySpan<T> w = headWeights.Slice(j * InputDimension, InputDimension);
            largest = T.Max(largest, TensorPrimitives.Dot(w, w));
        }

        return largest;
    }

    private T Diameter(int head)
    {
        ReadOnlySpan<T> headWeights = HeadWeights(head);
        int d = InputDimension;
        T largest = T.Zero;
        T[] difference = new T[d];
        for (int i = 0; i < NumberOfPieces; i++)
        {
            for (int j = i + 1; j < NumberOfPieces; j++)
            {
                TensorPrimitives.Subtract(headWeights.Slice(i * d, d), headWeights.Slice(j * d, d), difference);
                largest = T.Max(largest, TensorPrimitives.Dot<T>(difference, difference));
            }
        }

        return T.Sqrt(largest);
    }
}
