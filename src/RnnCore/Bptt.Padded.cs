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
    private double MaskedLoss(ForwardCache<T> cache, SequenceTargets<T> targets, int targetStep0, int[] lengths) =>
        PaddedBatchLoss.Loss<T>(
            Layer.OutputActivation, Layer.OutputSize, cache.Logits, cache.LogSumExps, targets,
            MaskedTargetOffset(targetStep0, cache.Steps), lengths, cache.Steps, Placement, Reduction);

    /// <summary>
    /// dL/dz of a padded batch for steps <paramref name="start"/>..<paramref name="end"/>−1 into
    /// <paramref name="logitGradient"/>, O x (end − start)·B: the scored items' loss backward, zero in every other column.
    /// </summary>
    private void MaskedLogitGradient(
        ForwardCache<T> cache, SequenceTargets<T> targets, int targetStep0, int[] lengths, int start, int end, Span<T> logitGradient) =>
        PaddedBatchLoss.LogitGradient<T>(
            Layer.OutputActivation, Layer.OutputSize, cache.Logits, cache.InverseSums, targets,
            MaskedTargetOffset(targetStep0, cache.Steps), lengths, Placement, Reduction, start, end, logitGradient);

    /// <summary>
    /// The target step of cache step 0 (cache step t reads offset + t). EveryStep: targetStep0, the first step's. LastStep:
    /// <paramref name="targetStep0"/> is the target step of the cache's last step, so that each sequence's own last step
    /// t = length − 1 reads step targetStep0 − (steps − 1) + t (targets that hold one step are read at step 0 instead).
    /// </summary>
    private int MaskedTargetOffset(int targetStep0, int steps) =>
        Placement == LossPlacement.EveryStep ? targetStep0 : targetStep0 - (steps - 1);

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
