using System.Numerics;
using RnnCore.Activations;
using RnnCore.Internal;
using RnnCore.Kernels;
using RnnCore.Losses;

namespace RnnCore.Models;

/// <summary>
/// The output head, separate from the recurrence: <c>z_t = W_head o_t + b_head</c> on the top layer's output at every
/// position, <c>y_t = g(z_t)</c>, and the fused loss (softmax + cross-entropy, sigmoid + binary cross-entropy, identity +
/// squared error) with its backward <c>dL/dz</c>. The losses themselves live in <c>Losses/</c>.
/// </summary>
internal sealed class OutputHead<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public OutputHead(int inputRows, int outputSize, OutputActivation activation)
    {
        InputRows = inputRows;
        OutputSize = outputSize;
        Activation = activation;
        Weight = new T[Guard.ElementCount<T>(outputSize, inputRows, "head.weight")];
        Bias = new T[outputSize];
    }

    /// <summary>D·H, the length of the top layer's output.</summary>
    public int InputRows { get; }

    /// <summary>O.</summary>
    public int OutputSize { get; }

    public OutputActivation Activation { get; }

    /// <summary>W_head, [O, D·H] column-major.</summary>
    public T[] Weight { get; }

    /// <summary>b_head, [O].</summary>
    public T[] Bias { get; }

    /// <summary>
    /// z = W_head o + b_head for all T·B columns in one GEMM; a NaN or infinity in z is reported. y = g(z) is not stored:
    /// what rebuilds it is kept instead (<see cref="OutputValues.Forward{T}"/>), with <paramref name="scratch"/> one column.
    /// </summary>
    public void Forward(ReadOnlySpan<T> top, Span<T> logits, Span<double> logSumExps, Span<T> inverseSums, Span<T> scratch, int batch)
    {
        int o = OutputSize;
        int columns = logits.Length / o;
        ColumnBlocks.BroadcastColumns<T>(Bias, logits);
        Gemm.Multiply(false, false, o, columns, InputRows, T.One, Weight, o, top, InputRows, T.One, logits, o);
        int bad = Guard.IndexOfNonFinite<T>(logits);
        if (bad >= 0)
        {
            int column = bad / o;
            throw new NonFiniteValueException("logit z_t", column / batch, $"row {bad % o}, sequence {column % batch}");
        }

        OutputValues.Forward<T>(Activation, logits, o, logSumExps, inverseSums, scratch);
    }

    /// <summary>
    /// The loss (accumulated in double) and, when <paramref name="logitGradient"/> is not empty, dL/dz for all T·B
    /// columns (zero where nothing is scored). Scored: every real position (EveryStep) or each sequence's own last one
    /// (LastStep). Cache position t reads target step <paramref name="targetOffset"/> + t, or step 0 when the targets
    /// hold a single step. Mean divides by PyTorch's count: scored items for cross-entropy, items · O otherwise.
    /// </summary>
    public double Loss(
        ReadOnlySpan<T> logits, ReadOnlySpan<double> logSumExps, ReadOnlySpan<T> inverseSums, SequenceTargets<T> targets, int targetOffset,
        ReadOnlySpan<int> lengths, int steps, LossPlacement placement, LossReduction reduction, Span<T> logitGradient)
    {
        int o = OutputSize;
        int b = lengths.Length;
        bool lastStep = placement == LossPlacement.LastStep;
        long items = 0;
        foreach (int length in lengths)
        {
            items += lastStep ? Math.Min(length, 1) : length;
        }

        long denominator = reduction == LossReduction.Sum ? 1 : Activation == OutputActivation.Softmax ? items : items * o;
        denominator = Math.Max(denominator, 1);
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

                int targetStep = targets.Steps == 1 && lastStep ? 0 : targetOffset + t;
                int column = (t * b) + j;
                ReadOnlySpan<T> z = logits.Slice(column * o, o);
                Span<T> gradient = logitGradient.IsEmpty ? default : logitGradient.Slice(column * o, o);
                if (Activation == OutputActivation.Softmax)
                {
                    ReadOnlySpan<int> target = targets.ClassesAt(targetStep).Slice(j, 1);
                    sum += SoftmaxCrossEntropy.Forward(z, logSumExps.Slice(column, 1), target, o);
                    if (!gradient.IsEmpty)
                    {
                        SoftmaxCrossEntropy.Backward(z, inverseSums.Slice(column, 1), target, o, scale, gradient);
                    }
                }
                else
                {
                    ReadOnlySpan<T> target = targets.ValuesAt(targetStep).Slice(j * o, o);
                    if (Activation == OutputActivation.Sigmoid)
                    {
                        sum += SigmoidBinaryCrossEntropy.Forward(z, target);
                        if (!gradient.IsEmpty)
                        {
                            SigmoidBinaryCrossEntropy.Backward(z, target, scale, gradient);
                        }
                    }
                    else
                    {
                        sum += SquaredError.Forward(z, target);
                        if (!gradient.IsEmpty)
                        {
                            SquaredError.Backward(z, target, scale, gradient);
                        }
                    }
                }
            }
        }

        return sum / denominator;
    }

    /// <summary>
    /// dW_head = Σ dL/dz oᵀ and db_head = Σ dL/dz over all T·B columns (two reductions), and the head's share of the top
    /// layer's output gradient, dL/do = W_headᵀ dL/dz (one GEMM).
    /// </summary>
    public void Backward(ReadOnlySpan<T> logitGradient, ReadOnlySpan<T> top, Span<T> weightGradient, Span<T> biasGradient, Span<T> topGradient)
    {
        int o = OutputSize;
        int columns = logitGradient.Length / o;
        Gemm.Multiply(false, true, o, InputRows, columns, T.One, logitGradient, o, top, InputRows, T.Zero, weightGradient, o);
        ColumnBlocks.SumColumns(logitGradient, biasGradient);
        Gemm.Multiply(true, false, InputRows, columns, o, T.One, Weight, o, logitGradient, o, T.Zero, topGradient, InputRows);
    }
}
