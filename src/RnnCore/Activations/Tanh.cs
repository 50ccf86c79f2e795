using System.Numerics;

namespace RnnCore.Activations;

/// <summary>The hidden activation <c>h = tanh(a)</c> and its backward twin.</summary>
internal static class Tanh
{
    /// <summary>h = tanh(a), in place (the pre-activation buffer becomes the hidden state).</summary>
    public static void Forward<T>(Span<T> preActivationToHidden)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (ref T x in preActivationToHidden)
        {
            x = T.Tanh(x);
        }
    }

    /// <summary>
    /// dL/da = dL/dh ⊙ (1 − h²), in place. Computed from the cached output h, so the pre-activation need not be kept.
    /// </summary>
    public static void Backward<T>(ReadOnlySpan<T> hidden, Span<T> gradientToPreActivationGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < gradientToPreActivationGradient.Length; i++)
        {
            T h = hidden[i];
            gradientToPreActivationGradient[i] *= T.One - (h * h);
        }
    }
}
