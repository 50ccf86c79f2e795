using System.Globalization;
using System.Numerics;

namespace RnnCore.Optimizers;

/// <summary>
/// An immutable choice of gradient clipping, applied between backpropagation and the optimizer step:
/// <see cref="None"/>, <see cref="ByGlobalNorm"/> or <see cref="ByValue"/>.
/// </summary>
/// <remarks>
/// <see cref="Apply{T}"/> always returns the global gradient norm before clipping, whatever the mode, so a trainer can
/// report it (a growing norm is the first sign of exploding gradients).
/// </remarks>
public sealed class Clipping
{
    private Clipping(ClippingMode mode, double threshold)
    {
        Mode = mode;
        Threshold = threshold;
    }

    /// <summary>No clipping; <see cref="Apply{T}"/> only measures the norm.</summary>
    public static Clipping None { get; } = new(ClippingMode.None, 0);

    /// <summary>Which kind of clipping this is.</summary>
    public ClippingMode Mode { get; }

    /// <summary>
    /// The maximum global norm (<see cref="ClippingMode.GlobalNorm"/>), the clamp value (<see cref="ClippingMode.Value"/>),
    /// or 0 (<see cref="ClippingMode.None"/>).
    /// </summary>
    public double Threshold { get; }

    /// <summary>Clipping by global norm, as PyTorch's <c>clip_grad_norm_(parameters, maxNorm)</c>.</summary>
    /// <param name="maxNorm">The largest global norm allowed; positive and finite.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not positive and finite.</exception>
    public static Clipping ByGlobalNorm(double maxNorm) =>
        new(ClippingMode.GlobalNorm, OptimizerGuard.PositiveFinite(maxNorm, nameof(maxNorm)));

    /// <summary>Clipping by value, as PyTorch's <c>clip_grad_value_(parameters, clipValue)</c>.</summary>
    /// <param name="clipValue">The largest magnitude allowed per element; positive and finite.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipValue"/> is not positive and finite.</exception>
    public static Clipping ByValue(double clipValue) =>
        new(ClippingMode.Value, OptimizerGuard.PositiveFinite(clipValue, nameof(clipValue)));

    /// <summary>Clips <paramref name="gradients"/> in place according to <see cref="Mode"/>.</summary>
    /// <param name="gradients">The gradients, changed in place (not at all for <see cref="None"/>).</param>
    /// <returns>The global L2 norm of the gradients before clipping.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="gradients"/> is null.</exception>
    public double Apply<T>(TensorSet<T> gradients)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(gradients);
        switch (Mode)
        {
            case ClippingMode.GlobalNorm:
                return GradientClipping.ClipByGlobalNorm(gradients, Threshold);
            case ClippingMode.Value:
                double norm = gradients.L2Norm();
                GradientClipping.ClipByValue(gradients, Threshold);
                return norm;
            default:
                return gradients.L2Norm();
        }
    }

    /// <summary>A readable description, e.g. <c>ByGlobalNorm(5)</c>.</summary>
    public override string ToString() => Mode switch
    {
        ClippingMode.GlobalNorm => string.Create(CultureInfo.InvariantCulture, $"ByGlobalNorm({Threshold})"),
        ClippingMode.Value => string.Create(CultureInfo.InvariantCulture, $"ByValue({Threshold})"),
        _ => "None",
    };
}
