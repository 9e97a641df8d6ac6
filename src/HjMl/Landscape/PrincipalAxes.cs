using System.Numerics.Tensors;
using HjMl.LinearAlgebra;

namespace HjMl.Landscape;

/// <summary>
/// The top two principal components of centred rows by block power (subspace) iteration on the covariance
/// C = X^T X / (n - 1), applied as two matrix products per step so that C (d x d) is never formed, then a 2 x 2
/// Rayleigh–Ritz rotation that orders and separates the two axes. Deterministic: a fixed start and a sign convention.
/// </summary>
internal static class PrincipalAxes
{
    private const int MaximumIterations = 2000;

    // Stop when the part of C V outside span(V) is this small relative to C's top eigenvalue: the plane has converged.
    private const double Tolerance = 1e-10;

    /// <summary>The unit axes and the variances along them, the larger first.</summary>
    public static (double[] First, double[] Second, double FirstVariance, double SecondVariance) TopTwo(ReadOnlySpan<double> centred, int count, int dimension)
    {
        int d = dimension;
        var basis = new double[d * 2];
        var image = new double[d * 2];
        var projections = new double[count * 2];

        // A fixed start with no symmetry (so no principal axis is orthogonal to it by construction).
        var start = new Random(20261122);
        for (int i = 0; i < basis.Length; i++)
        {
            basis[i] = start.NextDouble() - 0.5;
        }

        Orthonormalise(basis, d);
        double scale = 1.0 / Math.Max(1, count - 1);
        var rayleigh = new double[4];
        for (int iteration = 0; iteration < MaximumIterations; iteration++)
        {
            Apply(centred, count, d, scale, basis, projections, image);
            RayleighQuotient(basis, image, d, rayleigh);
            double residual = 0;
            for (int k = 0; k < d; k++)
            {
                // (C V - V (V^T C V)) row k
                double first = image[2 * k] - (basis[2 * k] * rayleigh[0]) - (basis[(2 * k) + 1] * rayleigh[2]);
                double second = image[(2 * k) + 1] - (basis[2 * k] * rayleigh[1]) - (basis[(2 * k) + 1] * rayleigh[3]);
                residual += (first * first) + (second * second);
            }

            double largest = Math.Max(Math.Abs(rayleigh[0]), Math.Abs(rayleigh[3]));
            if (largest == 0 || Math.Sqrt(residual) <= Tolerance * largest)
            {
                break;
            }

            image.CopyTo(basis, 0);
            Orthonormalise(basis, d);
        }

        Apply(centred, count, d, scale, basis, projections, image);
        RayleighQuotient(basis, image, d, rayleigh);

        // Rayleigh–Ritz: rotate the basis by the eigenvectors of the 2 x 2 matrix V^T C V.
        double a = rayleigh[0], b = rayleigh[1], c = rayleigh[3];
        double angle = 0.5 * Math.Atan2(2 * b, a - c);
        double cosine = Math.Cos(angle), sine = Math.Sin(angle);
        var firstAxis = new double[d];
        var secondAxis = new double[d];
        for (int k = 0; k < d; k++)
        {
            firstAxis[k] = (cosine * basis[2 * k]) + (sine * basis[(2 * k) + 1]);
            secondAxis[k] = (-sine * basis[2 * k]) + (cosine * basis[(2 * k) + 1]);
        }

        double firstVariance = (cosine * cosine * a) + (2 * sine * cosine * b) + (sine * sine * c);
        double secondVariance = (sine * sine * a) - (2 * sine * cosine * b) + (cosine * cosine * c);
        if (secondVariance > firstVariance)
        {
            (firstAxis, secondAxis) = (secondAxis, firstAxis);
            (firstVariance, secondVariance) = (secondVariance, firstVariance);
        }

        FixSign(firstAxis);
        FixSign(secondAxis);
        return (firstAxis, secondAxis, Math.Max(firstVariance, 0), Math.Max(secondVariance, 0));
    }

    // image = C basis = X^T (X basis) / (n - 1), basis and image d x 2 row-major.
    private static void Apply(ReadOnlySpan<double> centred, int count, int d, double scale, double[] basis, double[] projections, double[] image)
    {
        MatrixProducts.Current.Multiply(Transpose.No, Transpose.No, count, 2, d, 1.0, centred, d, basis, 2, 0.0, projections, 2);
        MatrixProducts.Current.Multiply(Transpose.Yes, Transpose.No, d, 2, count, scale, centred, d, projections, 2, 0.0, image, 2);
    }

    // rayleigh = V^T (C V), 2 x 2 row-major.
    private static void RayleighQuotient(double[] basis, double[] image, int d, double[] rayleigh)
    {
        Array.Clear(rayleigh);
        for (int k = 0; k < d; k++)
        {
            rayleigh[0] += basis[2 * k] * image[2 * k];
            rayleigh[1] += basis[2 * k] * image[(2 * k) + 1];
            rayleigh[2] += basis[(2 * k) + 1] * image[2 * k];
            rayleigh[3] += basis[(2 * k) + 1] * image[(2 * k) + 1];
        }

        // Symmetrise: C is symmetric, so the two off-diagonal entries differ only by rounding.
        rayleigh[1] = rayleigh[2] = 0.5 * (rayleigh[1] + rayleigh[2]);
    }

    // Gram–Schmidt on the two columns of a d x 2 row-major matrix; a column that vanishes is replaced by a unit vector
    // orthogonal to the other, so the iteration always keeps a plane (data of rank 0 or 1).
    private static void Orthonormalise(double[] basis, int d)
    {
        var first = new double[d];
        var second = new double[d];
        for (int k = 0; k < d; k++)
        {
            first[k] = basis[2 * k];
            second[k] = basis[(2 * k) + 1];
        }

        Normalise(first, null);
        TensorPrimitives.MultiplyAdd(first, -TensorPrimitives.Dot<double>(first, second), second, second);
        Normalise(second, first);
        for (int k = 0; k < d; k++)
        {
            basis[2 * k] = first[k];
            basis[(2 * k) + 1] = second[k];
        }
    }

    private static void Normalise(double[] vector, double[]? orthogonalTo)
    {
        double norm = TensorPrimitives.Norm<double>(vector);
        if (norm > 1e-300)
        {
            TensorPrimitives.Divide(vector, norm, vector);
            return;
        }

        // The coordinate axis least aligned with the other vector, made orthogonal to it.
        int axis = orthogonalTo is null ? 0 : TensorPrimitives.IndexOfMinMagnitude<double>(orthogonalTo);
        Array.Clear(vector);
        vector[axis] = 1;
        if (orthogonalTo is not null)
        {
            TensorPrimitives.MultiplyAdd(orthogonalTo, -orthogonalTo[axis], vector, vector);
            TensorPrimitives.Divide(vector, TensorPrimitives.Norm<double>(vector), vector);
        }
    }

    // The largest-magnitude component positive, so that the same data always give the same axes.
    private static void FixSign(double[] axis)
    {
        if (axis[TensorPrimitives.IndexOfMaxMagnitude<double>(axis)] < 0)
        {
            TensorPrimitives.Negate<double>(axis, axis);
        }
    }
}
