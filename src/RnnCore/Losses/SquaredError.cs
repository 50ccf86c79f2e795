using System.Numerics;

namespace RnnCore.Losses;

/// <summary>
/// Squared error on identity outputs: <c>l = Σ_k (z_k − t_k)²</c>. Forward and backward side by side:
/// <c>dl/dz = 2 (z − t)</c>.
/// </summary>
internal static class SquaredError
{
    /// <summary>Σ (z − t)² over every element of a block, in double.</summary>
    public static double Forward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            double d = double.CreateTruncating(logits[i]) - double.CreateTruncating(targets[i]);
            sum += d * d;
        }

        return sum;
    }

    /// <summary>dL/dz = scale · 2 (z − t), elementwise.</summary>
    public static void Backward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, T scale, Span<T> logitGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T twiceScale = scale + scale;
        for (int i = 0; i < logits.Length; i++)
        {
            logitGradient[i] = twiceScale * (logits[i] - targets[i]);
        }
    }
}
