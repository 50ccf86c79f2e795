namespace RnnCore;

/// <summary>
/// A NaN or infinity appeared inside a computation (a pre-activation, a logit, a gradient), reported at the step where it
/// first appeared instead of being spread silently through the rest of the pass. Inputs that are not finite are refused
/// earlier with an <see cref="ArgumentException"/>; this exception means the parameters themselves produced it
/// (typically a learning rate too large, or exploding gradients without clipping).
/// </summary>
public sealed class NonFiniteValueException : ArithmeticException
{
    /// <summary>Creates the exception for <paramref name="quantity"/> at 0-based <paramref name="step"/>.</summary>
    /// <param name="quantity">What became non-finite, in the model's notation, e.g. <c>"pre-activation a_t"</c>.</param>
    /// <param name="step">The 0-based step of the sequence where it first appeared, or −1 when it belongs to no single step.</param>
    /// <param name="detail">Where within that step, e.g. the row and column.</param>
    public NonFiniteValueException(string quantity, int step, string detail)
        : base(step >= 0 ? $"{quantity} became NaN or infinite at step {step} ({detail})." : $"{quantity} became NaN or infinite ({detail}).")
    {
        Quantity = quantity;
        Step = step;
    }

    /// <summary>What became non-finite, e.g. <c>"pre-activation a_t"</c> or <c>"gradient dL/dh_t"</c>.</summary>
    public string Quantity { get; }

    /// <summary>
    /// The 0-based step of the sequence where it first appeared, or −1 for a quantity that belongs to no single step: the
    /// loss and the weight gradients (sums over all steps), or a parameter after an optimizer update.
    /// </summary>
    public int Step { get; }
}
