namespace HjMl.Models;

/// <summary>What a <see cref="HopfColeModel"/> predicts, and so how its LSE heads are read.</summary>
public enum ModelKind
{
    /// <summary>A real value: score = LabelMean + LabelScale * (f_0(x) - f_1(x)), a difference of two LSE heads.</summary>
    Regression,

    /// <summary>Two classes: margin m = f_0(x) - f_1(x) (head 0 the positive class), probability sigmoid(m).</summary>
    BinaryClassification,

    /// <summary>K classes: one LSE head per class, probabilities softmax(f_1(x), ..., f_K(x)).</summary>
    MulticlassClassification,
}
