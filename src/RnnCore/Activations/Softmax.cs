using System.Numerics;

namespace RnnCore.Activations;

/// <summary>
/// The output activation <c>y = softmax(z)</c> over each column. Its backward is fused with cross-entropy in
/// <see cref="Losses.SoftmaxCrossEntropy"/> (dL/dz = y − onehot), which is both cheaper and stabler than chaining.
/// </summary>
internal static class Softmax
{
    /// <summary>y_j = e^(z_j − max z) / Σ_k e^(z_k − max z) for each column of a column-major rows x n block.</summary>
    public static void Forward<T>(ReadOnlySpan<T> logits, Span<T> outputs, int rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int column = 0; column + rows <= logits.Length; column += rows)
        {
            ReadOnlySpan<T> z = logits.Slice(column, rows);
            Span<T> y = outputs.Slice(column, rows);

            // Subtracting the max keeps every exponent ≤ 0: no overflow, and the largest term is exactly 1.
            T max = z[0];
            for (int i = 1; i < rows; i++)
            {
                max = T.Max(max, z[i]);
            }

            T sum = T.Zero;
            for (int i = 0; i < rows; i++)
            {
                y[i] = T.Exp(z[i] - max);
                sum += y[i];
            }

            T inverse = T.One / sum;
            for (int i = 0; i < rows; i++)
            {
                y[i] *= inverse;
            }
        }
    }

    /// <summary>log Σ_k e^(z_k), computed as max + log Σ e^(z_k − max) so that it never overflows.</summary>
    public static double LogSumExp<T>(ReadOnlySpan<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double max = double.CreateTruncating(z[0]);
        for (int i = 1; i < z.Length; i++)
        {
            max = Math.Max(max, double.CreateTruncating(z[i]));
        }

        double sum = 0;
        for (int i = 0; i < z.Length; i++)
        {
            sum += Math.Exp(double.CreateTruncating(z[i]) - max);
        }

        return max + Math.Log(sum);
    }
}
