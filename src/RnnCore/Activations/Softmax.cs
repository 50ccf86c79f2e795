using System.Numerics;
using System.Numerics.Tensors;

namespace RnnCore.Activations;

/// <summary>
/// The output activation <c>y = softmax(z)</c> over each column. Its backward is fused with cross-entropy in
/// <see cref="Losses.SoftmaxCrossEntropy"/> (dL/dz = y − onehot), which is both cheaper and stabler than chaining.
/// </summary>
internal static class Softmax
{
    /// <summary>
    /// y_j = e^(z_j − max z) / Σ_k e^(z_k − max z) for each column of a column-major rows x n block, and that column's
    /// log Σ_k e^(z_k) = max z + log Σ_k e^(z_k − max z) into <paramref name="logSumExp"/> for the cross-entropy, which
    /// then costs no second pass of exponentials.
    /// </summary>
    public static void Forward<T>(ReadOnlySpan<T> logits, Span<T> outputs, int rows, Span<double> logSumExp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int column = 0, j = 0; column + rows <= logits.Length; column += rows, j++)
        {
            ReadOnlySpan<T> z = logits.Slice(column, rows);
            Span<T> y = outputs.Slice(column, rows);

            // Subtracting the max keeps every exponent ≤ 0: no overflow, and the largest term is exactly 1, so the sum
            // lies in [1, rows] and its logarithm loses nothing (the log is taken in double).
            T max = TensorPrimitives.Max(z);
            TensorPrimitives.Subtract(z, max, y);
            TensorPrimitives.Exp<T>(y, y);
            T sum = TensorPrimitives.Sum<T>(y);
            TensorPrimitives.Multiply(y, T.One / sum, y);
            logSumExp[j] = double.CreateTruncating(max) + Math.Log(double.CreateTruncating(sum));
        }
    }
}
