using System.Numerics;
using System.Runtime.CompilerServices;

namespace HjMl.Kernels;

/// <summary>
/// How batch scoring turns a row's head scores f_k into its outputs: all K head scores, or the single value
/// <c>Offset + Scale * (f_0 - f_1)</c> (the binary margin, or a regression's read-out), formed in double.
/// </summary>
internal readonly record struct Readout(bool Margin, double Offset, double Scale)
{
    /// <summary>Every head score.</summary>
    public static Readout Heads => default;

    /// <summary>Offset + Scale * (f_0 - f_1).</summary>
    public static Readout MarginOf(double offset, double scale) => new(true, offset, scale);

    /// <summary>Outputs per row.</summary>
    public int OutputsPerRow(int heads) => Margin ? 1 : heads;

    /// <summary>Writes the outputs of rows whose K head scores are back to back in <paramref name="headScores"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Write<TOut>(ReadOnlySpan<double> headScores, int heads, Span<TOut> outputs)
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        if (!Margin)
        {
            for (int index = 0; index < headScores.Length; index++)
            {
                outputs[index] = TOut.CreateTruncating(headScores[index]);
            }

            return;
        }

        int rows = headScores.Length / heads;
        for (int row = 0; row < rows; row++)
        {
            outputs[row] = TOut.CreateTruncating(Offset + (Scale * (headScores[row * heads] - headScores[(row * heads) + 1])));
        }
    }
}
