using System.Numerics;

namespace RnnCore.Activations;

/// <summary>
/// The outputs y = g(z) as the caches hold them: not as a slab of their own, but rebuilt from the logits z (and, for
/// softmax, one scalar per column) wherever they are read. y is a function of z, read once by the loss's backward and
/// otherwise only on request, so a second [O, T·B] slab would cost as much memory as the logits and save one pass of
/// exponentials. Every reader of y (the fused loss backwards, <c>Output(step)</c>, prediction, the Trainer's metrics)
/// comes through here or through the same <see cref="SoftmaxFunction.Outputs{T}"/>, so each sees the same bits.
/// </summary>
internal static class OutputValues
{
    /// <summary>
    /// What the forward pass keeps besides the logits of a rows x n block: for softmax, each column's log Σ e^z (for the
    /// cross-entropy) and 1 / Σ e^(z − max z) (to rebuild y); nothing for sigmoid and identity, whose y is elementwise in z.
    /// <paramref name="scratch"/> holds one column (rows elements).
    /// </summary>
    public static void Forward<T>(
        OutputActivation activation, ReadOnlySpan<T> logits, int rows, Span<double> logSumExps, Span<T> inverseSums, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (activation == OutputActivation.Softmax)
        {
            SoftmaxFunction.Forward(logits, rows, logSumExps, inverseSums, scratch);
        }
    }

    /// <summary>
    /// y = g(z) for a rows x n block of logits (whole columns) into <paramref name="outputs"/>: softmax from each column's
    /// kept 1 / Σ e^(z − max z) (<paramref name="inverseSums"/>[j] for column j of the block), σ(z) elementwise, or z.
    /// </summary>
    public static void FromLogits<T>(
        OutputActivation activation, ReadOnlySpan<T> logits, ReadOnlySpan<T> inverseSums, int rows, Span<T> outputs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (activation)
        {
            case OutputActivation.Softmax:
                SoftmaxFunction.Outputs(logits, inverseSums, rows, outputs);
                break;
            case OutputActivation.Sigmoid:
                SigmoidFunction.Forward(logits, outputs);
                break;
            default:
                logits.CopyTo(outputs);
                break;
        }
    }
}
