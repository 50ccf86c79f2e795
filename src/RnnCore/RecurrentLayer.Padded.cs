using RnnCore.Activations;
using RnnCore.Internal;

namespace RnnCore;

// The forward pass over a padded batch of variable-length sequences.
public sealed partial class RecurrentLayer<T>
{
    /// <summary>
    /// Step t of a padded batch, once <paramref name="current"/> holds a_t for every column: a sequence whose length is
    /// at most t is past its end, so its a_t is discarded and its state carried, h_t = h_{t−1}; the others get h_t = f(a_t).
    /// </summary>
    private void ForwardPaddedStep(ReadOnlySpan<T> previous, Span<T> current, int[] lengths, int t)
    {
        int h = HiddenSize;
        for (int b = 0; b < lengths.Length; b++)
        {
            Span<T> column = current.Slice(b * h, h);
            if (t >= lengths[b])
            {
                previous.Slice(b * h, h).CopyTo(column);
                continue;
            }

            int bad = Guard.IndexOfNonFinite<T>(column);
            if (bad >= 0)
            {
                throw new NonFiniteValueException("pre-activation a_t", t, $"row {bad}, sequence {b}");
            }

            if (HiddenActivation == HiddenActivation.Tanh)
            {
                Tanh.Forward(column);
            }
            else
            {
                Relu.Forward(column);
            }
        }
    }
}
