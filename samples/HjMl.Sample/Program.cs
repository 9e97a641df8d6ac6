// A tour of the HjMl engine: one LSE layer, read three ways (a soft maximum, a Hamilton–Jacobi solution, a Gibbs measure).
using HjMl.HopfCole;
using HjMl.Layers;

// Three pieces in d = 2: rows of the weight matrix are w_j, and b_j their biases.
double[] weights = [1.0, 0.0, 0.0, 1.0, -1.0, -1.0];
double[] biases = [0.0, 0.5, -0.2];
double[] x = [0.3, -0.4];

foreach (double viscosity in new[] { 0.0, 0.1, 1.0 })
{
    var layer = new LseLayer<double>(weights, biases, inputDimension: 2, viscosity);
    var pi = new double[layer.NumberOfPieces];
    var contributions = new double[layer.InputDimension];
    double score = layer.GibbsWeights(x, head: 0, pi);
    LseDecomposition<double> parts = layer.Decompose(x, head: 0, contributions);
    Console.WriteLine($"eps = {viscosity}: f(x) = {score:F6}; Gibbs weights [{string.Join(", ", pi.Select(p => p.ToString("F3")))}]; " +
        $"contributions [{string.Join(", ", contributions.Select(c => c.ToString("F3")))}] + bias {parts.BiasTerm:F3} + eps*H {parts.EntropyTerm:F3} = {parts.Sum:F6}");

    if (viscosity > 0)
    {
        // The same numbers as the viscous Hamilton–Jacobi solution at t = 1: f(x) = |x|^2/4 - u(x, 1).
        var solution = HopfColeSolution<double>.FromLayer(layer, time: 1.0);
        double u = solution.Evaluate(x, HeatKernelNormalisation.Unnormalised);
        Console.WriteLine($"          |x|^2/4 - u(x, 1) = {((x[0] * x[0]) + (x[1] * x[1])) / 4 - u:F6}; PDE residual (normalised) = {solution.Residual(x).Value:E1}");
    }
}
