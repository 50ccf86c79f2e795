using RnnCore.Losses;

namespace RnnCore;

// BPTT over a padded batch of variable-length sequences: the masked loss and the pass-through of padded steps.
public sealed partial class Bptt<T>
{
    /// <summary>
    /// The loss of a padded batch, accumulated in double in step order: only real (step, sequence) items are scored
    /// (EveryStep: t &lt; length_b; LastStep: t = length_b − 1), and Mean divides by the number of real items (times O
    /// for BCE and squared error).
    /// </summary>
    private double MaskedLoss(ForwardCache<T> cache, SequenceTargets<T> targets, int targetStep0, int[] lengths)
    {
        int o = Layer.OutputSize;
        int b = cache.Batch;
        double sum = 0;
        for (int t = 0; t < cache.Steps; t++)
        {
            for (int j = 0; j < b; j++)
            {
                if (!IsScored(t, lengths[j]))
                {
                    continue;
                }

                int targetStep = MaskedTargetStep(targets, targetStep0, cache.Steps, t);
                int column = (t * b) + j;
                ReadOnlySpan<T> logits = cache.Logits.AsSpan(column * o, o);
                sum += Layer.OutputActivation switch
                {
                    OutputActivation.Softmax => SoftmaxCrossEntropy.Forward(logits, cache.LogSumExps.AsSpan(column, 1), targets.ClassesAt(targetStep).Slice(j, 1), o),
                    OutputActivation.Sigmoid => SigmoidBinaryCrossEntropy.Forward(logits, targets.ValuesAt(targetStep).Slice(j * o, o)),
                    _ => SquaredError.Forward(logits, targets.ValuesAt(targetStep).Slice(j * o, o)),
                };
            }
        }

        return sum / MaskedDenominator(lengths);
    }

    /// <summary>
    /// dL/dz of a padded batch for steps <paramref name="start"/>..<paramref name="end"/>−1 into
    /// <paramref name="logitGradient"/>, O x (end − start)·B: the scored items' loss backward, zero in every other column.
    /// </summary>
    private void MaskedLogitGradient(
        ForwardCache<T> cache, SequenceTargets<T> targets, int targetStep0, int[] lengths, int start, int end, Span<T> logitGradient)
    {
        int o = Layer.OutputSize;
        int b = cache.Batch;
        T scale = T.One / T.CreateTruncating(MaskedDenominator(lengths));
        logitGradient.Clear();
        for (int t = start; t < end; t++)
        {
            for (int j = 0; j < b; j++)
            {
                if (!IsScored(t, lengths[j]))
                {
                    continue;
                }

                int targetStep = MaskedTargetStep(targets, targetStep0, cache.Steps, t);
                int column = (t * b) + j;
                ReadOnlySpan<T> logits = cache.Logits.AsSpan(column * o, o);
                Span<T> gradient = logitGradient.Slice((column - (start * b)) * o, o);
                switch (Layer.OutputActivation)
                {
                    case OutputActivation.Softmax:
                        SoftmaxCrossEntropy.Backward(logits, cache.InverseSums.AsSpan(column, 1), targets.ClassesAt(targetStep).Slice(j, 1), o, scale, gradient);
                        break;
                    case OutputActivation.Sigmoid:
                        SigmoidBinaryCrossEntropy.Backward(logits, targets.ValuesAt(targetStep).Slice(j * o, o), scale, gradient);
                        break;
                    default:
                        SquaredError.Backward(logits, targets.ValuesAt(targetStep).Slice(j * o, o), scale, gradient);
                        break;
                }
            }
        }
    }

    /// <summary>Whether step t of a sequence of <paramref name="length"/> real steps is scored: t &lt; length (EveryStep), t = length − 1 (LastStep).</summary>
    private bool IsScored(int t, int length) => Placement == LossPlacement.LastStep ? t == length - 1 : t < length;

    /// <summary>
    /// The target step a scored cache step t is compared with. EveryStep: targetStep0 + t. LastStep: targets hold one step
    /// (read step 0) or one per step, of which each sequence's own last step is read.
    /// </summary>
    private int MaskedTargetStep(SequenceTargets<T> targets, int targetStep0, int steps, int t) =>
        Placement == LossPlacement.EveryStep ? targetStep0 + t : targets.Steps == 1 ? 0 : targetStep0 - (steps - 1) + t;

    /// <summary>The masked loss's divisor: <see cref="Denominator"/> of the real items, at least 1 (a truncated chunk past every sequence's end scores nothing: loss 0).</summary>
    private long MaskedDenominator(int[] lengths)
    {
        bool lastStep = Placement == LossPlacement.LastStep;
        long items = 0;
        foreach (int length in lengths)
        {
            items += lastStep ? Math.Min(length, 1) : length;
        }

        return Math.Max(Denominator(items), 1);
    }

    /// <summary>Copies the padded columns (t ≥ length_b) of dL/dh_t aside and zeroes them; false when step t is real for every sequence.</summary>
    private bool SetAsidePadding(Span<T> dh, int[] lengths, int t, int h)
    {
        bool any = false;
        for (int j = 0; j < lengths.Length; j++)
        {
            if (t >= lengths[j])
            {
                Span<T> column = dh.Slice(j * h, h);
                column.CopyTo(_passThrough.AsSpan(j * h, h));
                column.Clear();
                any = true;
            }
        }

        return any;
    }

    /// <summary>The gradient reaching h_{t−1} of a padded column is dL/dh_t itself (h_t = h_{t−1}), not W_hᵀ δ_t (which is zero).</summary>
    private void RestorePadding(Span<T> future, int[] lengths, int t, int h)
    {
        for (int j = 0; j < lengths.Length; j++)
        {
            if (t >= lengths[j])
            {
                _passThrough.AsSpan(j * h, h).CopyTo(future.Slice(j * h, h));
            }
        }
    }
}
