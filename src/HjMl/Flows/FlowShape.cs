using HjMl.Embeddings;

namespace HjMl.Flows;

/// <summary>
/// The sizes of a residual Gibbs flow and where each control sits in its flat parameter vector (THEORY.md section 9):
/// an optional lift z_0 = P x + q (m x d, m &gt;= d), then L Euler steps z_{k+1} = z_k + h v_k(z_k), h = T / L, with
/// v_k(z) = sum_j pi_j(z) u_j and pi = softmax((a_j . z + c_j) / eps). Step k reads control set k (per-step controls) or
/// set 0 (shared controls). Layout: [P (m x d), q (m)] when lifted, then per control set [A (J x m), c (J), U (J x m)].
/// Instead of the linear lift, z_0 may be a periodic embedding of the numeric features (<see cref="Embedding"/>, its
/// parameters where the lift's would be); an embedded flow may have no steps (L = 0: the embedding alone before the
/// read-out).
/// </summary>
/// <param name="InputDimension">d, features per row.</param>
/// <param name="Width">m, the flow's state width (d when not lifted).</param>
/// <param name="Steps">L, Euler steps (the depth).</param>
/// <param name="Pieces">J, support points (keys and values) per step.</param>
/// <param name="Lifted">Whether z_0 = P x + q is learned; otherwise z_0 = x and m = d.</param>
/// <param name="SharedControls">Whether every step uses one set of keys, offsets and values.</param>
public readonly record struct FlowShape(int InputDimension, int Width, int Steps, int Pieces, bool Lifted, bool SharedControls)
{
    /// <summary>The periodic embedding that gives z_0, or null (z_0 = P x + q or x).</summary>
    public EmbeddingShape? Embedding { get; init; }

    /// <summary>Control sets: none without steps, 1 when shared, L otherwise.</summary>
    public int ControlSets => Steps == 0 ? 0 : SharedControls ? 1 : Steps;

    /// <summary>Parameters of the lift: m d + m, the embedding's, or 0.</summary>
    public int LiftLength => Lifted ? (Width * InputDimension) + Width : Embedding?.ParameterCount ?? 0;

    /// <summary>Parameters of one control set: J m keys, J offsets, J m values.</summary>
    public int ControlLength => (2 * Pieces * Width) + Pieces;

    /// <summary>All parameters of the flow.</summary>
    public int ParameterCount => LiftLength + (ControlSets * ControlLength);

    /// <summary>Where step <paramref name="step"/>'s controls start in the flat vector.</summary>
    public int ControlOffset(int step) => LiftLength + ((SharedControls ? 0 : step) * ControlLength);

    /// <summary>Offset of the keys A (J x m) of a step, from <see cref="ControlOffset"/>.</summary>
    public int KeysOffset(int step) => ControlOffset(step);

    /// <summary>Offset of the offsets c (J) of a step.</summary>
    public int OffsetsOffset(int step) => ControlOffset(step) + (Pieces * Width);

    /// <summary>Offset of the values U (J x m) of a step.</summary>
    public int ValuesOffset(int step) => ControlOffset(step) + (Pieces * Width) + Pieces;

    /// <summary>
    /// Doubles a training evaluation holds per row: L + 1 states of width m and L rows of Gibbs weights, the read-out's
    /// row [z_L 1], the co-state and the logit co-state.
    /// </summary>
    public long TrainingDoublesPerRow => ((long)(Steps + 1) * Width) + ((long)Steps * Pieces) + Width + 1 + Width + Pieces;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first size that is out of range.</summary>
    public void Validate()
    {
        if (InputDimension < 1)
        {
            throw new ArgumentException($"The flow's input dimension is {InputDimension}; it must be at least 1.", nameof(InputDimension));
        }

        if (Steps < (Embedding is null ? 1 : 0))
        {
            throw new ArgumentException($"The flow has {Steps} steps; a flow needs at least 1 (depth 0 is the plain Hopf–Cole layer, without a flow, or an embedding alone).", nameof(Steps));
        }

        if (Pieces < 1)
        {
            throw new ArgumentException($"The flow has {Pieces} pieces per step; it needs at least 1.", nameof(Pieces));
        }

        if (Embedding is not null)
        {
            if (Lifted || Embedding.InputDimension != InputDimension || Width != Embedding.OutputWidth)
            {
                throw new ArgumentException($"The flow's width is {Width} for {InputDimension} features with an embedding of {Embedding.InputDimension} features and width {Embedding.OutputWidth}; an embedded flow is not lifted and its width is the embedding's.", nameof(Width));
            }
        }
        else if (Lifted ? Width < InputDimension : Width != InputDimension)
        {
            throw new ArgumentException($"The flow's width is {Width} for {InputDimension} features; a lifted flow needs width >= d and an unlifted one width = d.", nameof(Width));
        }

        long total = (Lifted ? ((long)Width * InputDimension) + Width : Embedding?.ParameterCount ?? 0) + ((long)ControlSets * ((2L * Pieces * Width) + Pieces));
        if (total > Array.MaxLength)
        {
            throw new ArgumentException($"A flow of width {Width}, {Steps} steps and {Pieces} pieces has {total} parameters, more than one array holds ({Array.MaxLength}).", nameof(Width));
        }
    }
}
