using System.Numerics;

namespace RnnCore.Activations;

/// <summary>
/// The output activation <c>y = σ(z) = 1 / (1 + e^−z)</c>, elementwise. Its backward is fused with binary
/// cross-entropy in <see cref="Losses.SigmoidBinaryCrossEntropy"/> (dL/dz = σ(z) − target).
/// </summary>
internal static class SigmoidFunction
{
    /// <summary>y = σ(z), elementwise, in the form that never evaluates e^x for large positive x.</summary>
    public static void Forward<T>(ReadOnlySpan<T> logits, Span<T> outputs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < logits.Length; i++)
        {
            outputs[i] = Of(logits[i]);
        }
    }

    /// <summary>σ(z) = 1 / (1 + e^−z) for z ≥ 0, and e^z / (1 + e^z) for z &lt; 0 (same value, no overflow).</summary>
    public static T Of<T>(T z)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (z >= T.Zero)
        {
            return T.One / (T.One + T.Exp(-z));
        }

        T e = T.Exp(z);
        return e / (T.One + e);
    }
}
