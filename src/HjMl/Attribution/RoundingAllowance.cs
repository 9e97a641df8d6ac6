using System.Numerics.Tensors;
using HjMl.Flows;
using HjMl.Layers;
using HjMl.Models;

namespace HjMl.Attribution;

/// <summary>
/// Proven bounds on the rounding error of computed scores, margins, gradients and flow states, which a certificate
/// subtracts before it certifies: a margin at rounding level (a row within about 1e-12 of the decision boundary)
/// certifies r* = 0, since the computed class of a nearby row is decided by rounding, not by the model's margin.
/// </summary>
/// <remarks>
/// <para>
/// [derived, from THEORY.md section 5] With u = 2^-53 (one rounding, |fl(a op b) - a op b| &lt;= u |a op b|) and
/// u' = 1.01 u (which absorbs the products of (1 + u) factors while (d + N + 8) u &lt;= 0.01), for a head h with N pieces,
/// B = max |b_j|, W = max ||w_j||_2 and the read-out input z (standardised row, or z_L):
/// </para>
/// <list type="number">
/// <item>Logits. The standardised row carries 3 roundings per coordinate ((x - mean) / scale, or times 1 / scale), and
/// a dot product of d terms plus a bias d more (any order, fused or not), so |z^_j - z_j| &lt;= u'(d + 8)(|b_j| + sum_k |w_jk z_k|)
/// &lt;= u'(d + 8)(B + W ||z||) =: lambda (Cauchy–Schwarz).</item>
/// <item>Log-sum-exp. f = max_j z_j + eps log sum_j exp((z_j - m) / eps) has gradient pi (non-negative, summing to 1), so
/// it is 1-Lipschitz in the largest logit error: |f(z^) - f(z)| &lt;= lambda.</item>
/// <item>Its evaluation at z^. The maximum m is exact; a_j = (z^_j - m) / eps takes at most 3 roundings, so
/// exp(a_j) is off by a factor exp(3u'|a_j|)(1 + 4u') (the exponential within 4 ulp); since x e^(-x) &lt;= 1/e and S &gt;= 1 the
/// sum of N terms is off by rho &lt;= u'(3N/e + N + 5) &lt;= u'(3N + 6) relative (arguments the kernel floors near -708 add
/// N e^-708, far below u); log S by 1.01 rho plus 4 ulp of log N, eps log S and m + eps log S by one rounding each:
/// |f^ - f(z^)| &lt;= u'(eps (3N + 6 + 5 ln N) + |f^|).</item>
/// <item>A margin m = f_p - f_c at the row is off by E_0 = the sum of both heads' bounds, plus u'|m^| for the subtraction;
/// at a row z' with ||z' - z|| &lt;= r each head's bound grows by at most u'(d + 9) W r (||z'|| &lt;= ||z|| + r, and f is
/// W-Lipschitz).</item>
/// <item>The gradient. Section 5's Taylor bound needs the true ||grad m||. The computed Gibbs weights differ from the
/// true ones by sum_j |pi^_j - pi_j| &lt;= 2 lambda / eps (the softmax's Jacobian (diag pi - pi pi^T) / eps maps a logit
/// change of sup-norm lambda to at most 2 lambda / eps in l1) plus u'(4N + 12) for the kernel's own exponentials and
/// division; E_pi[w] adds u' N W, the norm u'(d + 4) relative. So ||grad m|| &lt;= g^ (1 + u'(d + 4)) + sum_h W_h (2 lambda_h / eps
/// + u'(5N + 12)) =: G.</item>
/// <item>The certificate. The computed class at z' is the computed one at z while m^(z') &gt; 0, and
/// m^(z') &gt;= m(z') - E(z') &gt;= m(z) - G r - K r^2 / 2 - E(z') &gt;= m^(1 - u') - 2 E_0 - (G + u'(d + 9)(W_p + W_c)) r - K r^2 / 2.
/// So section 5's formula with margin m^(1 - u') - 2 E_0 (r* = 0 when that is not positive), gradient norm
/// G + u'(d + 9)(W_p + W_c) and K raised by u'(d + 8) relative (its diameter is computed) certifies the computed
/// model; the radius is lowered by 8u relative for its own evaluation.</item>
/// <item>Through a flow (section 9), each Euler step z + h v(z) with v = sum_j pi_j u_j is computed with error
/// e_k &lt;= u'(||z_k|| + 2 h V) + h V (2 lambda_k / eps_flow + u'(5J + 12)) (V = max ||u_j||, lambda_k as in 1 for the keys),
/// the start z_0 = P x + q with u'(d + 5)(||P||_F ||x|| + ||q||), and errors grow by at most each later step's Lipschitz
/// factor, so ||z^_L - z_L|| &lt;= prod_k (1 + h D_u D_a / (4 eps)) (e_start + sum_k e_k) =: T. A row within r* = (r_L - 2T) / Lip
/// of x has its computed z_L within r_L of the computed z_L(x), where the read-out certifies its class.</item>
/// <item>An embedded start (z_0 = [x_passed, v_f], v_f = max(0, L_f s_f + b_f), s_f = [sin a_f, cos a_f],
/// a_fk = 2 pi c_fk x_f) at a standardised row with |x_f| &lt;= R. The argument a^, the product of fl(2 pi), c and x^ in
/// either order (two roundings), with x^ three roundings off x, is within 6u'|a| of a; each (sin, cos) pair moves by at
/// most |a^ - a| (its chord), and each value is computed within 4 ulp &lt;= 4u of the sine or cosine of a^, so
/// ||s^ - s|| &lt;= u'(12 pi R ||c_f|| + 4 sqrt(2K)) =: sigma_f. The pre-activation b_j + L_j . s^ (a dot product of 2K
/// terms and a sum, any order) is within u'(2K + 2)(|b_j| + ||L_j|| ||s^||) of its exact value, and
/// ||s^|| &lt;= ||s|| + sigma_f = sqrt(K) + sigma_f; with ||L_j . (s^ - s)|| &lt;= ||L_j|| sigma_f and ReLU 1-Lipschitz,
/// ||v^_f - v_f|| &lt;= u'(2K + 2)(||b_f|| + ||L_f||_F (sqrt(K) + sigma_f)) + ||L_f||_F sigma_f =: E_f. The blocks are
/// orthogonal, so e_start = sqrt((3u' R)^2 + sum_f E_f^2), and ||z_0|| &lt;= sqrt(R^2 + sum_f (||b_f|| + ||L_f||_F sqrt(K))^2)
/// for every row (||v_f|| &lt;= ||L_f s_f + b_f||, ||s_f|| = sqrt(K)), the state bound the steps' logit errors start from.
/// T's growth factor is the steps' alone (<see cref="GibbsFlow.StepsLipschitzBound"/>); the embedding's own bound enters the
/// radius through Lip (<see cref="GibbsFlow.LipschitzBound"/>), raised by <see cref="LipschitzAllowance"/> for the
/// rounding of its sums, products and roots (a sum of n non-negative terms is within u'n relative, a root u').</item>
/// </list>
/// </remarks>
internal sealed class RoundingAllowance
{
    /// <summary>u' = 1.01 * 2^-53.</summary>
    public const double Unit = 1.01 * 1.1102230246251565E-16;

    private readonly double[] largestBias;
    private readonly double[] largestWeight;
    private readonly double entropyTerm;
    private readonly double viscosity;
    private readonly int dimension;
    private readonly int pieces;

    // The flow's per-control-set maxima (keys' norms, offsets, values' norms), the lift's norms and the product of the steps' factors.
    private readonly double[]? keyNorms;
    private readonly double[]? offsets;
    private readonly double[]? valueNorms;
    private readonly double liftNorm;
    private readonly double shiftNorm;
    private readonly double stepProduct = 1;

    // An embedded start's per-feature ||c_f||, ||L_f||_F and ||b_f||, K, and sum_f (||b_f|| + ||L_f||_F sqrt(K))^2 (item 8).
    private readonly double[]? frequencyNorms;
    private readonly double[]? embeddingNorms;
    private readonly double[]? biasNorms;
    private readonly int frequencies;
    private readonly double embeddedStates;

    public RoundingAllowance(HopfColeModel model, ReadOnlySpan<double> weightSquaredNorms)
    {
        LseLayer<double> layer = model.Layer;
        int heads = layer.NumberOfHeads;
        pieces = layer.NumberOfPieces;
        dimension = layer.InputDimension;
        viscosity = layer.Viscosity;
        largestBias = new double[heads];
        largestWeight = new double[heads];
        for (int head = 0; head < heads; head++)
        {
            largestBias[head] = Math.Abs(TensorPrimitives.MaxMagnitude(layer.HeadBiases(head)));
            largestWeight[head] = Math.Sqrt(TensorPrimitives.Max(weightSquaredNorms.Slice(head * pieces, pieces)));
        }

        entropyTerm = viscosity * ((3.0 * pieces) + 6 + (5 * Math.Log(pieces)));
        if (model.Flow is GibbsFlow flow)
        {
            FlowShape shape = flow.Shape;
            int sets = shape.ControlSets;
            keyNorms = new double[sets];
            offsets = new double[sets];
            valueNorms = new double[sets];
            for (int set = 0; set < sets; set++)
            {
                keyNorms[set] = LargestNorm(flow.Keys(set), shape.Width);
                offsets[set] = Math.Abs(TensorPrimitives.MaxMagnitude(flow.Offsets(set)));
                valueNorms[set] = LargestNorm(flow.Values(set), shape.Width);
            }

            liftNorm = shape.Lifted ? TensorPrimitives.Norm(flow.Parameters[..(shape.Width * shape.InputDimension)]) : 1;
            shiftNorm = shape.Lifted ? TensorPrimitives.Norm(flow.Parameters.Slice(shape.Width * shape.InputDimension, shape.Width)) : 0;
            stepProduct = flow.StepsLipschitzBound() * (1 + (4 * Unit * (shape.Steps + shape.Width + shape.InputDimension)));
            int startTerms = shape.Lifted ? shape.Width * shape.InputDimension : 0;
            if (shape.Embedding is { } embedding)
            {
                int count = embedding.Features.Count;
                frequencies = embedding.Frequencies;
                frequencyNorms = new double[count];
                embeddingNorms = new double[count];
                biasNorms = new double[count];
                ReadOnlySpan<double> parameters = flow.Parameters;
                for (int slot = 0; slot < count; slot++)
                {
                    frequencyNorms[slot] = TensorPrimitives.Norm(parameters.Slice(embedding.FrequenciesOffset(slot), frequencies));
                    embeddingNorms[slot] = TensorPrimitives.Norm(parameters.Slice(embedding.WeightsOffset(slot), 2 * frequencies * embedding.Width));
                    biasNorms[slot] = TensorPrimitives.Norm(parameters.Slice(embedding.BiasOffset(slot), embedding.Width));
                    double largest = biasNorms[slot] + (embeddingNorms[slot] * Math.Sqrt(frequencies));
                    embeddedStates += largest * largest;
                }

                // Up to (1 + 2u)^2 of every norm, the products' roundings, and the sum's.
                embeddedStates *= 1 + (Unit * ((4.0 * frequencies * embedding.Width) + count + 16));
                startTerms = (2 * frequencies * embedding.Width) + (2 * frequencies) + embedding.Width + 12;
            }

            LipschitzAllowance = 1 + (Unit * ((4.0 * (shape.Steps + shape.Width + shape.InputDimension)) + startTerms + 8));
        }
    }

    /// <summary>
    /// The factor (1 + u'(...)) by which a flow's computed <see cref="GibbsFlow.LipschitzBound"/> is raised before a radius
    /// divides by it: its norms and products are computed, not exact (item 8); 1 without a flow.
    /// </summary>
    public double LipschitzAllowance { get; } = 1;

    /// <summary>
    /// The certified radius of the margin <paramref name="margin"/> = f_a - f_b computed at a read-out input of norm
    /// <paramref name="inputNorm"/>, with the computed gradient norm and curvature bound, after the allowances above
    /// (section 5's formula; 0 where the margin is within its rounding bound).
    /// </summary>
    public double Radius(int first, int second, double firstScore, double secondScore, double gradientNorm, double curvature, double margin, double inputNorm)
    {
        if (!(margin > 0) || double.IsPositiveInfinity(curvature) || viscosity == 0)
        {
            return 0;
        }

        double logitFirst = LogitError(first, inputNorm);
        double logitSecond = LogitError(second, inputNorm);
        double scoreErrors = (2 * (logitFirst + logitSecond)) + (2 * Unit * (entropyTerm + entropyTerm)) + (2 * Unit * (Math.Abs(firstScore) + Math.Abs(secondScore)));
        double effective = (margin * (1 - Unit)) - scoreErrors;
        if (!(effective > 0))
        {
            return 0;
        }

        double widths = largestWeight[first] + largestWeight[second];
        double gradient = (gradientNorm * (1 + (Unit * (dimension + 4))))
            + (largestWeight[first] * ((2 * logitFirst / viscosity) + (Unit * ((5.0 * pieces) + 12))))
            + (largestWeight[second] * ((2 * logitSecond / viscosity) + (Unit * ((5.0 * pieces) + 12))))
            + (Unit * (dimension + 9) * widths);
        double bound = curvature * (1 + (Unit * (dimension + 8)));
        double radius = bound == 0
            ? effective / gradient
            : 2 * effective / (Math.Sqrt((gradient * gradient) + (2 * bound * effective)) + gradient);
        return double.IsFinite(radius) ? radius * (1 - (8 * Unit)) : radius;
    }

    /// <summary>
    /// T, the bound on ||z^_L - z_L|| for inputs of standardised norm up to <paramref name="inputNorm"/>: the start's error and
    /// every Euler step's, each grown by the later steps' Lipschitz factors (item 7 above).
    /// </summary>
    public double TransportError(GibbsFlow flow, double inputNorm)
    {
        FlowShape shape = flow.Shape;
        double h = flow.StepSize;
        double start;
        double initial;
        if (frequencyNorms is not null)
        {
            (start, initial) = EmbeddedStart(inputNorm);
        }
        else
        {
            start = shape.Lifted
                ? Unit * (shape.InputDimension + 5) * ((liftNorm * inputNorm) + shiftNorm)
                : Unit * 3 * inputNorm;
            initial = (liftNorm * inputNorm) + shiftNorm;
        }

        double largestValue = valueNorms!.Length == 0 ? 0 : TensorPrimitives.Max<double>(valueNorms);
        double state = initial + (flow.Horizon * largestValue);
        double steps = 0;
        for (int step = 0; step < shape.Steps; step++)
        {
            int set = shape.SharedControls ? 0 : step;
            double logits = Unit * (shape.Width + 8) * (offsets![set] + (keyNorms![set] * state));
            double value = valueNorms![set];
            steps += (Unit * (state + (2 * h * value))) + (h * value * ((2 * logits / flow.Viscosity) + (Unit * ((5.0 * shape.Pieces) + 12))));
        }

        return stepProduct * (start + steps);
    }

    // e_start and the bound on ||z_0|| of an embedded start for rows of standardised norm up to R (item 8).
    private (double Error, double Norm) EmbeddedStart(double inputNorm)
    {
        double roots = Math.Sqrt(frequencies);
        double sineError = 4 * Math.Sqrt(2.0 * frequencies);
        double passed = 3 * Unit * inputNorm;
        double squared = passed * passed;
        for (int slot = 0; slot < frequencyNorms!.Length; slot++)
        {
            double sigma = Unit * ((12 * Math.PI * inputNorm * frequencyNorms[slot]) + sineError);
            double error = (Unit * ((2.0 * frequencies) + 2) * (biasNorms![slot] + (embeddingNorms![slot] * (roots + sigma)))) + (embeddingNorms[slot] * sigma);
            squared += error * error;
        }

        // The sum of squares and its root take a few roundings more.
        double start = Math.Sqrt(squared) * (1 + (Unit * (frequencyNorms.Length + 8)));
        double norm = Math.Sqrt((inputNorm * inputNorm) + embeddedStates) * (1 + (4 * Unit));
        return (start, norm);
    }

    // lambda = u'(d + 8)(B + W ||z||) for a head (item 1).
    private double LogitError(int head, double inputNorm) => Unit * (dimension + 8) * (largestBias[head] + (largestWeight[head] * inputNorm));

    private static double LargestNorm(ReadOnlySpan<double> rows, int width)
    {
        double largest = 0;
        for (int i = 0; i < rows.Length; i += width)
        {
            largest = Math.Max(largest, TensorPrimitives.Norm(rows.Slice(i, width)));
        }

        return largest;
    }
}
