namespace RnnCore;

/// <summary>
/// The output function g in <c>y_t = g(z_t)</c>, <c>z_t = W_y h_t + b_y</c>. Each comes with its matching loss:
/// softmax with cross-entropy, sigmoid with binary cross-entropy, identity with squared error.
/// </summary>
public enum OutputActivation
{
    /// <summary><c>y = z</c>, trained with squared error <c>Σ (z − target)²</c> (regression).</summary>
    Identity,

    /// <summary><c>y = 1 / (1 + e^−z)</c> per unit, trained with binary cross-entropy from the logits (multi-label).</summary>
    Sigmoid,

    /// <summary><c>y = e^z / Σ e^z</c> over the units, trained with cross-entropy on a class index (classification).</summary>
    Softmax,
}
