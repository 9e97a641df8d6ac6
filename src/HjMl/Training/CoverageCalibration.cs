using System.Runtime.CompilerServices;
using HjMl.Flows;
using HjMl.LinearAlgebra;
using HjMl.Models;

namespace HjMl.Training;

/// <summary>
/// The coverage radius a trainer stores in its model (<see cref="HopfColeModel.CoverageRadius"/>): the 99th percentile of
/// the training rows' distances to their nearest support point y_j = 2t w_j, the rows taken at the read-out's input (the
/// flow's terminal states when there is a flow). Tiles of rows go through the flow, then one matrix product Z W^T per
/// tile gives every z . w_j at once: |z - y_j|^2 = |z|^2 - 4t (z . w_j) + 4t^2 |w_j|^2 (THEORY.md section 6).
/// </summary>
internal static class CoverageCalibration
{
    // The flow transports rows in tiles of this many (GibbsFlow.TransportRows), so tiles that start where its own start
    // give the terminal states the model scores with, bit for bit.
    private const int TileRows = 256;

    private const double Percentile = 0.99;

    /// <summary>The coverage radius of <paramref name="model"/> on the standardised training rows <paramref name="train"/>.</summary>
    /// <param name="model">The trained model (its layer and t; its flow, if any, is <paramref name="flow"/>).</param>
    /// <param name="train">The standardised training rows, each followed by a 1.</param>
    /// <param name="flow">The model's flow, or null (the layer reads the rows themselves).</param>
    /// <param name="threads">The most cores to use; the result does not depend on how many.</param>
    public static double Radius(HopfColeModel model, TrainingBlock train, GibbsFlow? flow, int threads)
    {
        var distances = new double[train.Rows];
        int tiles = (train.Rows + TileRows - 1) / TileRows;
        double[] weightSquaredNorms = SupportGeometry.WeightSquaredNorms(model.Layer);
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) };
        Parallel.For(0, tiles, options, () => new Workspace(model, flow), (tile, _, workspace) =>
        {
            int first = tile * TileRows;
            Distances(model, train, flow, weightSquaredNorms, workspace, first, Math.Min(TileRows, train.Rows - first), distances.AsSpan(first));
            return workspace;
        }, _ => { });

        Array.Sort(distances);
        return distances[Math.Min(distances.Length - 1, (int)Math.Ceiling(Percentile * distances.Length) - 1)];
    }

    // The distances of one tile's rows to their nearest support point.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Distances(HopfColeModel model, TrainingBlock train, GibbsFlow? flow, ReadOnlySpan<double> weightSquaredNorms, Workspace workspace, int first, int count, Span<double> distances)
    {
        int width = model.Layer.InputDimension;
        int all = model.Layer.Biases.Length;
        ReadOnlySpan<double> states;
        int stride;
        if (flow is null)
        {
            states = train.Inputs.AsSpan(first * train.Stride, ((count - 1) * train.Stride) + width);
            stride = train.Stride;
        }
        else
        {
            flow.TransportRows(train.Inputs.AsSpan(first * train.Stride), train.Stride, count, workspace.States, width);
            states = workspace.States.AsSpan(0, count * width);
            stride = width;
        }

        Span<double> products = workspace.Products.AsSpan(0, count * all);
        MatrixProducts.Current.Multiply(Transpose.No, Transpose.Yes, count, all, width, 1.0, states, stride, model.Layer.Weights, width, 0.0, products, all);
        double time = model.Time;
        for (int row = 0; row < count; row++)
        {
            ReadOnlySpan<double> z = states.Slice(row * stride, width);
            ReadOnlySpan<double> dots = products.Slice(row * all, all);
            double zz = System.Numerics.Tensors.TensorPrimitives.Dot(z, z);
            double best = double.PositiveInfinity;
            for (int j = 0; j < all; j++)
            {
                best = Math.Min(best, zz - (4 * time * dots[j]) + (4 * time * time * weightSquaredNorms[j]));
            }

            distances[row] = Math.Sqrt(Math.Max(best, 0));
        }
    }

    // One thread's buffers: a tile's terminal states and its products with every piece's weights.
    private sealed class Workspace(HopfColeModel model, GibbsFlow? flow)
    {
        public double[] States { get; } = flow is null ? [] : new double[TileRows * model.Layer.InputDimension];

        public double[] Products { get; } = new double[TileRows * model.Layer.Biases.Length];
    }
}
