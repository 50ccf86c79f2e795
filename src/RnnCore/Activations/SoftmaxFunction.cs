using System.Numerics;
using System.Numerics.Tensors;

namespace RnnCore.Activations;

/// <summary>
/// The output activation <c>y = softmax(z)</c> over each column. Its backward is fused with cross-entropy in
/// <see cref="Losses.SoftmaxCrossEntropy"/> (dL/dz = y − onehot), which is both cheaper and stabler than chaining.
/// </summary>
/// <remarks>
/// The forward pass does not store y: it keeps, per column, log Σ_k e^(z_k) for the loss and s = 1 / Σ_k e^(z_k − max z),
/// and <see cref="Outputs{T}"/> rebuilds y = e^(z − max z) · s from the cached logits whenever y is read. The operations
/// are the ones that used to write y, so the rebuilt y is the same, bit for bit. The sum itself is not recomputed: a
/// vectorised sum groups its terms by the alignment of the span it reads, so only the forward pass's own sum is kept.
/// </remarks>
internal static class SoftmaxFunction
{
    /// <summary>
    /// For each column of a column-major rows x n logits block: log Σ_k e^(z_k) = max z + log Σ_k e^(z_k − max z) into
    /// <paramref name="logSumExp"/> (for the cross-entropy, which then costs no second pass of exponentials), and
    /// 1 / Σ_k e^(z_k − max z) into <paramref name="inverseSums"/> (for <see cref="Outputs{T}"/>).
    /// <paramref name="scratch"/> holds one column's exponentials (at least rows elements).
    /// </summary>
    public static void Forward<T>(ReadOnlySpan<T> logits, int rows, Span<double> logSumExp, Span<T> inverseSums, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> e = scratch.Slice(0, rows);
        for (int column = 0, j = 0; column + rows <= logits.Length; column += rows, j++)
        {
            // Subtracting the max keeps every exponent ≤ 0: no overflow, and the largest term is exactly 1, so the sum
            // lies in [1, rows] and its logarithm loses nothing (the log is taken in double).
            T max = ShiftedExponentials(logits.Slice(column, rows), e);
            T sum = TensorPrimitives.Sum<T>(e);
            inverseSums[j] = T.One / sum;
            logSumExp[j] = double.CreateTruncating(max) + Math.Log(double.CreateTruncating(sum));
        }
    }

    /// <summary>
    /// y_j = e^(z_j − max z) · s for each column of a rows x n logits block, s being that column's 1 / Σ_k e^(z_k − max z)
    /// kept by <see cref="Forward{T}"/>: the softmax outputs, rebuilt from the logits.
    /// </summary>
    public static void Outputs<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> inverseSums, int rows, Span<T> outputs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int column = 0, j = 0; column + rows <= logits.Length; column += rows, j++)
        {
            Span<T> y = outputs.Slice(column, rows);
            ShiftedExponentials(logits.Slice(column, rows), y);
            TensorPrimitives.Multiply(y, inverseSums[j], y);
        }
    }

    /// <summary>e = e^(z − max z), elementwise over one column; returns max z.</summary>
    private static T ShiftedExponentials<T>(ReadOnlySpan<T> z, Span<T> e)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = TensorPrimitives.Max(z);
        TensorPrimitives.Subtract(z, max, e);
        TensorPrimitives.Exp<T>(e, e);
        return max;
    }
}
