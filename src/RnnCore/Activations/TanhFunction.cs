using System.Numerics;
using System.Numerics.Tensors;

namespace RnnCore.Activations;

/// <summary>The hidden activation <c>h = tanh(a)</c> and its backward twin.</summary>
internal static class TanhFunction
{
    /// <summary>
    /// h = tanh(a), in place (the pre-activation buffer becomes the hidden state). TensorPrimitives evaluates it with the
    /// same vectorized algorithm in every lane (ported from AMD's AOCL libm), about ten times faster than T.Tanh per element.
    /// </summary>
    public static void Forward<T>(Span<T> preActivationToHidden)
        where T : unmanaged, IFloatingPointIeee754<T>
        => TensorPrimitives.Tanh<T>(preActivationToHidden, preActivationToHidden);

    /// <summary>
    /// dL/da = dL/dh ⊙ (1 − h²), in place. Computed from the cached output h, so the pre-activation need not be kept.
    /// Vector lanes do exactly the scalar tail's arithmetic (nothing fused), so the result does not depend on the width.
    /// </summary>
    public static void Backward<T>(ReadOnlySpan<T> hidden, Span<T> gradientToPreActivationGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= gradientToPreActivationGradient.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var h = new Vector<T>(hidden.Slice(i));
                var g = new Vector<T>(gradientToPreActivationGradient.Slice(i));
                (g * (Vector<T>.One - (h * h))).CopyTo(gradientToPreActivationGradient.Slice(i));
            }
        }

        for (; i < gradientToPreActivationGradient.Length; i++)
        {
            T h = hidden[i];
            gradientToPreActivationGradient[i] *= T.One - (h * h);
        }
    }
}
