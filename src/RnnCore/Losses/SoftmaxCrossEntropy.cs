using System.Numerics;
using System.Numerics.Tensors;
using RnnCore.Activations;

namespace RnnCore.Losses;

/// <summary>
/// Cross-entropy on softmax outputs with integer class targets: <c>l = −log softmax(z)[c] = logΣe^z − z_c</c>.
/// Forward and backward side by side; the backward is fused with the softmax: <c>dl/dz = y − onehot(c)</c>.
/// </summary>
internal static class SoftmaxCrossEntropy
{
    /// <summary>
    /// Σ over the columns of a rows x n logits block of (logΣe^z − z_c), in double, from the log-sum-exp the softmax
    /// forward cached per column (computed without overflow).
    /// </summary>
    public static double Forward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<double> logSumExp, ReadOnlySpan<int> classes, int rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sum = 0;
        for (int j = 0; j < classes.Length; j++)
        {
            sum += logSumExp[j] - double.CreateTruncating(logits[(j * rows) + classes[j]]);
        }

        return sum;
    }

    /// <summary>
    /// dL/dz = scale · (y − onehot(c)) for each column, written into <paramref name="logitGradient"/>; y is rebuilt from
    /// the logits and each column's 1 / Σ e^(z − max z) that the softmax forward kept (<see cref="SoftmaxFunction.Outputs{T}"/>).
    /// </summary>
    public static void Backward<T>(
        ReadOnlySpan<T> logits, ReadOnlySpan<T> inverseSums, ReadOnlySpan<int> classes, int rows, T scale, Span<T> logitGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> gradient = logitGradient.Slice(0, classes.Length * rows);
        SoftmaxFunction.Outputs(logits.Slice(0, gradient.Length), inverseSums, rows, gradient);
        TensorPrimitives.Multiply(gradient, scale, gradient);
        for (int j = 0; j < classes.Length; j++)
        {
            logitGradient[(j * rows) + classes[j]] -= scale;
        }
    }
}
