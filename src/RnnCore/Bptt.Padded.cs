using RnnCore.Losses;

namespace RnnCore;

// BPTT over a padded batch of variable-length sequences: the masked loss and the pass-through of padded steps.
public sealed partial class Bptt<T>
{
    /// <summary>
    /// The loss of a padded batch and, when <paramref name="logitGradient"/> is not empty, dL/dz for all T·B columns:
    /// only real (step, sequence) items are scored (EveryStep: t &lt; length_b; LastStep: t = length_b − 1), every other
    /// column of dL/dz is zero, and Mean divides by the number of real items (times O for BCE and squared error).
    /// </summary>
    private double MaskedLossAndLogitGradient(
        ForwardCache<T> cache, SequenceTargets<T> targets, int targetStep0, int[] lengths, Span<T> logitGradient)
    {
        int o = Layer.OutputSize;
        int b = cache.Batch;
        int steps = cache.Steps;
        bool lastStep = Placement == LossPlacement.LastStep;
        long items = 0;
        foreach (int length in lengths)
        {
            items += lastStep ? Math.Min(length, 1) : length;
        }

        long denominator = Reduction == LossReduction.Sum ? 1
            : Layer.OutputActivation == OutputActivation.Softmax ? items
            : items * o;
        denominator = Math.Max(denominator, 1); // a truncated chunk past every sequence's end scores nothing: loss 0
        T scale = T.One / T.CreateTruncating(denominator);
        if (!logitGradient.IsEmpty)
        {
            logitGradient.Clear();
        }

        double sum = 0;
        for (int t = 0; t < steps; t++)
        {
            for (int j = 0; j < b; j++)
            {
                if (lastStep ? t != lengths[j] - 1 : t >= lengths[j])
                {
                    continue;
                }

                // EveryStep: cache step t is target step targetStep0 + t. LastStep: targets hold one step (read step 0)
                // or one per step, of which each sequence's own last step is read.
                int targetStep = !lastStep ? targetStep0 + t : targets.Steps == 1 ? 0 : targetStep0 - (steps - 1) + t;
                int column = (t * b) + j;
                ReadOnlySpan<T> logits = cache.Logits.AsSpan(column * o, o);
                Span<T> gradient = logitGradient.IsEmpty ? default : logitGradient.Slice(column * o, o);
                if (Layer.OutputActivation == OutputActivation.Softmax)
                {
                    ReadOnlySpan<int> target = targets.ClassesAt(targetStep).Slice(j, 1);
                    sum += SoftmaxCrossEntropy.Forward(logits, cache.LogSumExps.AsSpan(column, 1), target, o);
                    if (!gradient.IsEmpty)
                    {
                        SoftmaxCrossEntropy.Backward(logits, cache.InverseSums.AsSpan(column, 1), target, o, scale, gradient);
                    }
                }
                else
                {
                    ReadOnlySpan<T> target = targets.ValuesAt(targetStep).Slice(j * o, o);
                    if (Layer.OutputActivation == OutputActivation.Sigmoid)
                    {
                        sum += SigmoidBinaryCrossEntropy.Forward(logits, target);
                        if (!gradient.IsEmpty)
                        {
                            SigmoidBinaryCrossEntropy.Backward(logits, target, scale, gradient);
                        }
                    }
                    else
                    {
                        sum += SquaredError.Forward(logits, target);
                        if (!gradient.IsEmpty)
                        {
                            SquaredError.Backward(logits, target, scale, gradient);
                        }
                    }
                }
            }
        }

        return sum / denominator;
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
