using System.Numerics;

namespace RnnCore.Losses;

/// <summary>
/// The loss of a padded batch of variable-length sequences and its backward: only real (position, sequence) items are
/// scored (EveryStep: t &lt; length_b; LastStep: t = length_b − 1), and Mean divides by PyTorch's count of them. Every
/// network's output head scores through it, padded batches and full ones.
/// </summary>
internal static class PaddedBatchLoss
{
    /// <summary>
    /// The loss, accumulated in double in position order. Position t reads target step <paramref name="targetOffset"/> + t,
    /// or step 0 when LastStep targets hold a single step. <paramref name="logits"/> is O x steps·B, column (t·B + b).
    /// </summary>
    public static double Loss<T>(
        OutputActivation activation, int o, ReadOnlySpan<T> logits, ReadOnlySpan<double> logSumExps, SequenceTargets<T> targets,
        int targetOffset, ReadOnlySpan<int> lengths, int steps, LossPlacement placement, LossReduction reduction)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = lengths.Length;
        double sum = 0;
        bool full = !lengths.ContainsAnyExcept(steps);
        for (int t = 0; t < steps; t++)
        {
            // A batch without padding scores whole steps: each step's B items summed first, then added in step order.
            if (full)
            {
                if (placement == LossPlacement.LastStep && t < steps - 1)
                {
                    continue;
                }

                int stepTarget = TargetStep(targets, targetOffset, t, placement);
                ReadOnlySpan<T> block = logits.Slice(t * b * o, b * o);
                sum += activation switch
                {
                    OutputActivation.Softmax => SoftmaxCrossEntropy.Forward(block, logSumExps.Slice(t * b, b), targets.ClassesAt(stepTarget), o),
                    OutputActivation.Sigmoid => SigmoidBinaryCrossEntropy.Forward(block, targets.ValuesAt(stepTarget)),
                    _ => SquaredError.Forward(block, targets.ValuesAt(stepTarget)),
                };
                continue;
            }

            for (int j = 0; j < b; j++)
            {
                if (!IsScored(t, lengths[j], placement))
                {
                    continue;
                }

                int targetStep = TargetStep(targets, targetOffset, t, placement);
                int column = (t * b) + j;
                ReadOnlySpan<T> z = logits.Slice(column * o, o);
                sum += activation switch
                {
                    OutputActivation.Softmax => SoftmaxCrossEntropy.Forward(z, logSumExps.Slice(column, 1), targets.ClassesAt(targetStep).Slice(j, 1), o),
                    OutputActivation.Sigmoid => SigmoidBinaryCrossEntropy.Forward(z, targets.ValuesAt(targetStep).Slice(j * o, o)),
                    _ => SquaredError.Forward(z, targets.ValuesAt(targetStep).Slice(j * o, o)),
                };
            }
        }

        return sum / Denominator(activation, o, lengths, placement, reduction);
    }

    /// <summary>
    /// dL/dz of positions <paramref name="start"/>..<paramref name="end"/>−1 into <paramref name="logitGradient"/>,
    /// O x (end − start)·B: the scored items' loss backward (fused with the output activation), zero in every other column.
    /// </summary>
    public static void LogitGradient<T>(
        OutputActivation activation, int o, ReadOnlySpan<T> logits, ReadOnlySpan<T> inverseSums, SequenceTargets<T> targets,
        int targetOffset, ReadOnlySpan<int> lengths, LossPlacement placement, LossReduction reduction, int start, int end,
        Span<T> logitGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = lengths.Length;
        T scale = T.One / T.CreateTruncating(Denominator(activation, o, lengths, placement, reduction));
        logitGradient.Clear();
        for (int t = start; t < end; t++)
        {
            for (int j = 0; j < b; j++)
            {
                if (!IsScored(t, lengths[j], placement))
                {
                    continue;
                }

                int targetStep = TargetStep(targets, targetOffset, t, placement);
                int column = (t * b) + j;
                ReadOnlySpan<T> z = logits.Slice(column * o, o);
                Span<T> gradient = logitGradient.Slice((column - (start * b)) * o, o);
                switch (activation)
                {
                    case OutputActivation.Softmax:
                        SoftmaxCrossEntropy.Backward(z, inverseSums.Slice(column, 1), targets.ClassesAt(targetStep).Slice(j, 1), o, scale, gradient);
                        break;
                    case OutputActivation.Sigmoid:
                        SigmoidBinaryCrossEntropy.Backward(z, targets.ValuesAt(targetStep).Slice(j * o, o), scale, gradient);
                        break;
                    default:
                        SquaredError.Backward(z, targets.ValuesAt(targetStep).Slice(j * o, o), scale, gradient);
                        break;
                }
            }
        }
    }

    /// <summary>Whether position t of a sequence of <paramref name="length"/> real steps is scored.</summary>
    private static bool IsScored(int t, int length, LossPlacement placement) =>
        placement == LossPlacement.LastStep ? t == length - 1 : t < length;

    /// <summary>The target step position t is compared with: step 0 when LastStep targets hold one step, else offset + t.</summary>
    private static int TargetStep<T>(SequenceTargets<T> targets, int targetOffset, int t, LossPlacement placement)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        targets.Steps == 1 && placement == LossPlacement.LastStep ? 0 : targetOffset + t;

    /// <summary>
    /// What the loss is divided by: 1 for Sum; the scored items (cross-entropy) or items · O (Mean), at least 1 (a
    /// truncated chunk past every sequence's end scores nothing: loss 0).
    /// </summary>
    private static long Denominator(OutputActivation activation, int o, ReadOnlySpan<int> lengths, LossPlacement placement, LossReduction reduction)
    {
        long items = 0;
        foreach (int length in lengths)
        {
            items += placement == LossPlacement.LastStep ? Math.Min(length, 1) : length;
        }

        long denominator = reduction == LossReduction.Sum ? 1 : activation == OutputActivation.Softmax ? items : items * o;
        return Math.Max(denominator, 1);
    }
}
