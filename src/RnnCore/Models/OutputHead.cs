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
    /// The loss, accumulated in double in position order. Scored: every real position (EveryStep) or each sequence's own
    /// last one (LastStep). Cache position t reads target step <paramref name="targetOffset"/> + t, or step 0 when the
    /// targets hold a single step. Mean divides by PyTorch's count: scored items for cross-entropy, items · O otherwise.
    /// </summary>
    public double Loss(
        ReadOnlySpan<T> logits, ReadOnlySpan<double> logSumExps, SequenceTargets<T> targets, int targetOffset,
        ReadOnlySpan<int> lengths, int steps, LossPlacement placement, LossReduction reduction) =>
        PaddedBatchLoss.Loss(Activation, OutputSize, logits, logSumExps, targets, targetOffset, lengths, steps, placement, reduction);

    /// <summary>
    /// dL/dz of positions <paramref name="start"/>..<paramref name="end"/>−1 into <paramref name="logitGradient"/>,
    /// O x (end − start)·B: the scored items' loss backward (fused with the output activation), zero in every other column.
    /// </summary>
    public void LogitGradient(
        ReadOnlySpan<T> logits, ReadOnlySpan<T> inverseSums, SequenceTargets<T> targets, int targetOffset, ReadOnlySpan<int> lengths,
        LossPlacement placement, LossReduction reduction, int start, int end, Span<T> logitGradient) =>
        PaddedBatchLoss.LogitGradient(
            Activation, OutputSize, logits, inverseSums, targets, targetOffset, lengths, placement, reduction, start, end, logitGradient);

    /// <summary>
    /// For a block of columns (a time chunk, or all T·B): dW_head (+)= Σ dL/dz oᵀ and db_head (+)= Σ dL/dz (two
    /// reductions; <paramref name="beta"/> 0 writes them, 1 adds to them), and the head's share of the top layer's output
    /// gradient for those columns, dL/do = W_headᵀ dL/dz (one GEMM).
    /// </summary>
    public void Backward(ReadOnlySpan<T> logitGradient, ReadOnlySpan<T> top, Span<T> weightGradient, Span<T> biasGradient, Span<T> topGradient, T beta)
    {
        int o = OutputSize;
        int columns = logitGradient.Length / o;
        Gemm.Multiply(false, true, o, InputRows, columns, T.One, logitGradient, o, top, InputRows, beta, weightGradient, o);
        ColumnBlocks.SumColumns(logitGradient, biasGradient, beta);

        Gemm.Multiply(true, false, InputRows, columns, o, T.One, Weight, o, logitGradient, o, T.Zero, topGradient, InputRows);
    }
}
