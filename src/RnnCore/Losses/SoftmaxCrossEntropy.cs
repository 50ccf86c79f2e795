using System.Numerics;

namespace RnnCore.Losses;

/// <summary>
/// Cross-entropy on softmax outputs with integer class targets: <c>l = −log softmax(z)[c] = logΣe^z − z_c</c>.
/// Forward and backward side by side; the backward is fused with the softmax: <c>dl/dz = y − onehot(c)</c>.
/// </summary>
internal static class SoftmaxCrossEntropy
{
    /// <summary>Σ over the columns of a rows x n logits block of (logΣe^z − z_c), in double (log-sum-exp: no overflow).</summary>
    public static double Forward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> classes, int rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sum = 0;
        for (int j = 0; j < classes.Length; j++)
        {
            ReadOnlySpan<T> z = logits.Slice(j * rows, rows);
            sum += Activations.Softmax.LogSumExp(z) - double.CreateTruncating(z[classes[j]]);
        }

        return sum;
    }

    /// <summary>dL/dz = scale · (y − onehot(c)) for each column, written into <paramref name="logitGradient"/>.</summary>
    public static void Backward<T>(ReadOnlySpan<T> outputs, ReadOnlySpan<int> classes, int rows, T scale, Span<T> logitGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < classes.Length; j++)
        {
            int offset = j * rows;
            for (int i = 0; i < rows; i++)
            {
                logitGradient[offset + i] = scale * outputs[offset + i];
            }

            logitGradient[offset + classes[j]] -= scale;
        }
    }
}
