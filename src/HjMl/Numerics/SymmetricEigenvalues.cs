namespace HjMl.Numerics;

/// <summary>Eigenvalues of small symmetric matrices, for exact spectral norms of Gibbs covariances.</summary>
internal static class SymmetricEigenvalues
{
    /// <summary>
    /// The largest eigenvalue of the symmetric n x n matrix in <paramref name="matrix"/> (row-major, overwritten),
    /// by cyclic Jacobi rotations: unconditionally convergent and accurate to rounding relative to the matrix norm.
    /// </summary>
    public static double Largest(Span<double> matrix, int n)
    {
        if (n == 1)
        {
            return matrix[0];
        }

        for (int sweep = 0; sweep < 64; sweep++)
        {
            double offDiagonal = 0;
            double diagonal = 0;
            for (int p = 0; p < n; p++)
            {
                diagonal += matrix[(p * n) + p] * matrix[(p * n) + p];
                for (int q = p + 1; q < n; q++)
                {
                    offDiagonal += matrix[(p * n) + q] * matrix[(p * n) + q];
                }
            }

            if (offDiagonal <= 1e-30 * diagonal || offDiagonal == 0)
            {
                break;
            }

            for (int p = 0; p < n - 1; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    Rotate(matrix, n, p, q);
                }
            }
        }

        double largest = double.NegativeInfinity;
        for (int p = 0; p < n; p++)
        {
            largest = Math.Max(largest, matrix[(p * n) + p]);
        }

        return largest;
    }

    /// <summary>
    /// The largest eigenvalue of a symmetric positive semidefinite n x n matrix by power iteration with a Rayleigh
    /// quotient; for matrices too large for <see cref="Largest"/>. Stops when the quotient changes by under 1e-13 relative.
    /// </summary>
    public static double LargestPositiveSemidefinite(ReadOnlySpan<double> matrix, int n, Span<double> work)
    {
        Span<double> vector = work[..n];
        Span<double> next = work.Slice(n, n);
        // A fixed, non-symmetric start so that no eigenvector is orthogonal to it by symmetry.
        for (int i = 0; i < n; i++)
        {
            vector[i] = 1.0 + (0.1 * i / n);
        }

        double norm = System.Numerics.Tensors.TensorPrimitives.Norm<double>(vector);
        System.Numerics.Tensors.TensorPrimitives.Divide(vector, norm, vector);
        double previous = 0;
        for (int iteration = 0; iteration < 10_000; iteration++)
        {
            for (int i = 0; i < n; i++)
            {
                next[i] = System.Numerics.Tensors.TensorPrimitives.Dot(matrix.Slice(i * n, n), vector);
            }

            double rayleigh = System.Numerics.Tensors.TensorPrimitives.Dot<double>(next, vector);
            norm = System.Numerics.Tensors.TensorPrimitives.Norm<double>(next);
            if (norm == 0)
            {
                return 0;
            }

            System.Numerics.Tensors.TensorPrimitives.Divide(next, norm, vector);
            if (Math.Abs(rayleigh - previous) <= 1e-13 * Math.Abs(rayleigh))
            {
                return rayleigh;
            }

            previous = rayleigh;
        }

        return previous;
    }

    // One Jacobi rotation annihilating entry (p, q) (Golub & Van Loan, Algorithm 8.5.1 with the stable tangent).
    private static void Rotate(Span<double> a, int n, int p, int q)
    {
        double apq = a[(p * n) + q];
        if (apq == 0)
        {
            return;
        }

        double app = a[(p * n) + p];
        double aqq = a[(q * n) + q];
        double theta = (aqq - app) / (2 * apq);
        double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
        if (double.IsInfinity(theta * theta))
        {
            t = 1 / (2 * theta);
        }

        double c = 1 / Math.Sqrt((t * t) + 1);
        double s = t * c;
        for (int k = 0; k < n; k++)
        {
            double akp = a[(k * n) + p];
            double akq = a[(k * n) + q];
            a[(k * n) + p] = (c * akp) - (s * akq);
            a[(k * n) + q] = (s * akp) + (c * akq);
        }

        for (int k = 0; k < n; k++)
        {
            double apk = a[(p * n) + k];
            double aqk = a[(q * n) + k];
            a[(p * n) + k] = (c * apk) - (s * aqk);
            a[(q * n) + k] = (s * apk) + (c * aqk);
        }
    }
}
