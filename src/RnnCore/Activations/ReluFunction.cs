using System.Numerics;

namespace RnnCore.Activations;

/// <summary>The hidden activation <c>h = max(a, 0)</c> and its backward twin.</summary>
internal static class ReluFunction
{
    /// <summary>h = max(a, 0), in place.</summary>
    public static void Forward<T>(Span<T> preActivationToHidden)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (ref T x in preActivationToHidden)
        {
            // Written as a comparison rather than T.Max so that the result is exactly PyTorch's relu (max(a, 0) with +0).
            x = x > T.Zero ? x : T.Zero;
        }
    }

    /// <summary>
    /// dL/da = dL/dh ⊙ [h &gt; 0], written to <paramref name="preActivationGradient"/> (which may be
    /// <paramref name="hiddenGradient"/> itself). Like PyTorch, the derivative at a = 0 is taken as 0.
    /// </summary>
    public static void Backward<T>(ReadOnlySpan<T> hidden, ReadOnlySpan<T> hiddenGradient, Span<T> preActivationGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < preActivationGradient.Length; i++)
        {
            preActivationGradient[i] = hidden[i] > T.Zero ? hiddenGradient[i] : T.Zero;
        }
    }
}
