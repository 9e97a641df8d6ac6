using System.Numerics.Tensors;

namespace HjMl.Relaxation;

/// <summary>The activation sigma of a relaxation step z_{k+1} = (1 - omega) z_k + omega sigma(W z_k - b) (THEORY.md section 10).</summary>
public enum RelaxationActivation
{
    /// <summary>sigma(a) = a: the step is linear, an explicit Euler step of linear advection–diffusion–reaction dynamics.</summary>
    Identity,

    /// <summary>sigma(a) = max(a, 0): the tropical (eps = 0) limit of <see cref="Softplus"/> (THEORY.md section 2).</summary>
    Relu,

    /// <summary>
    /// sigma(a) = eps log(1 + exp(a / eps)) = LSE_eps(0, a): the two-piece log-sum-exp layer, so the Hopf–Cole reading
    /// holds exactly (THEORY.md sections 1 and 2); its derivative is the Gibbs weight of the piece a, 1 / (1 + exp(-a / eps)).
    /// </summary>
    Softplus,

    /// <summary>sigma(a) = tanh(a).</summary>
    Tanh,

    /// <summary>sigma(a) = 1 / (1 + exp(-a)).</summary>
    Logistic,
}

/// <summary>The activations' values and derivatives, elementwise over spans (inner kernels: the caller validated eps).</summary>
internal static class ActivationFunction
{
    /// <summary>Writes sigma(a) to <paramref name="destination"/> (may alias <paramref name="arguments"/>).</summary>
    public static void Apply(RelaxationActivation activation, double viscosity, ReadOnlySpan<double> arguments, Span<double> destination)
    {
        switch (activation)
        {
            case RelaxationActivation.Identity:
                arguments.CopyTo(destination);
                break;
            case RelaxationActivation.Relu:
                TensorPrimitives.Max(arguments, 0.0, destination);
                break;
            case RelaxationActivation.Softplus:
                for (int i = 0; i < arguments.Length; i++)
                {
                    destination[i] = Softplus(arguments[i], viscosity);
                }

                break;
            case RelaxationActivation.Tanh:
                TensorPrimitives.Tanh(arguments, destination);
                break;
            default:
                TensorPrimitives.Sigmoid(arguments, destination);
                break;
        }
    }

    /// <summary>Writes sigma'(a) to <paramref name="destination"/> (may alias <paramref name="arguments"/>).</summary>
    public static void Derivative(RelaxationActivation activation, double viscosity, ReadOnlySpan<double> arguments, Span<double> destination)
    {
        switch (activation)
        {
            case RelaxationActivation.Identity:
                destination[..arguments.Length].Fill(1.0);
                break;
            case RelaxationActivation.Relu:
                for (int i = 0; i < arguments.Length; i++)
                {
                    destination[i] = arguments[i] > 0 ? 1.0 : 0.0;
                }

                break;
            case RelaxationActivation.Softplus:
                // d/da eps log(1 + e^(a/eps)) = logistic(a / eps), the Gibbs weight of the piece a.
                TensorPrimitives.Divide(arguments, viscosity, destination);
                TensorPrimitives.Sigmoid(destination[..arguments.Length], destination);
                break;
            case RelaxationActivation.Tanh:
                TensorPrimitives.Tanh(arguments, destination);
                TensorPrimitives.Multiply(destination[..arguments.Length], destination[..arguments.Length], destination);
                TensorPrimitives.Negate(destination[..arguments.Length], destination);
                TensorPrimitives.Add(destination[..arguments.Length], 1.0, destination);
                break;
            default:
                TensorPrimitives.Sigmoid(arguments, destination);
                for (int i = 0; i < arguments.Length; i++)
                {
                    destination[i] *= 1 - destination[i];
                }

                break;
        }
    }

    /// <summary>eps log(1 + e^(a/eps)) = max(a, 0) + eps log(1 + e^(-|a|/eps)): the max-shifted two-piece LSE (section 1).</summary>
    public static double Softplus(double argument, double viscosity)
        => Math.Max(argument, 0) + (viscosity * Math.Log(1 + Math.Exp(-Math.Abs(argument) / viscosity)));
}
