using System.Globalization;
using System.Numerics;

namespace RnnCore.Optimizers;

/// <summary>
/// Argument checks shared by the optimizers and by gradient clipping. Every message names the argument, the expected
/// range and the actual value, e.g. <c>momentum must be non-negative and finite, but was -0.5.</c>
/// </summary>
internal static class OptimizerGuard
{
    /// <summary>Requires <c>0 &lt; value &lt; ∞</c>.</summary>
    public static double PositiveFinite(double value, string paramName)
    {
        if (!(value > 0) || !double.IsFinite(value))
        {
            throw OutOfRange(value, paramName, "positive and finite");
        }

        return value;
    }

    /// <summary>Requires <c>0 ≤ value &lt; ∞</c>.</summary>
    public static double NonNegativeFinite(double value, string paramName)
    {
        if (!(value >= 0) || !double.IsFinite(value))
        {
            throw OutOfRange(value, paramName, "non-negative and finite");
        }

        return value;
    }

    /// <summary>Requires <c>0 ≤ value ≤ 1</c>.</summary>
    public static double InClosedUnitInterval(double value, string paramName)
    {
        if (!(value >= 0 && value <= 1))
        {
            throw OutOfRange(value, paramName, "in [0, 1]");
        }

        return value;
    }

    /// <summary>Requires <c>0 ≤ value &lt; 1</c> (Adam's betas).</summary>
    public static double InHalfOpenUnitInterval(double value, string paramName)
    {
        if (!(value >= 0 && value < 1))
        {
            throw OutOfRange(value, paramName, "in [0, 1)");
        }

        return value;
    }

    /// <summary>Optimizers compute in float or double only; any other element type is refused up front.</summary>
    public static void RequireFloatOrDouble<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException(
                $"Optimizers support float and double only, not {typeof(T).FullName}.");
        }
    }

    /// <summary>
    /// Throws when any element is NaN or ±infinity, naming the tensor and the first bad element.
    /// Runs before an update so that a bad gradient never reaches a parameter.
    /// </summary>
    public static void RequireFinite<T>(TensorSet<T> tensors, string paramName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < tensors.Count; i++)
        {
            ReadOnlySpan<T> tensor = tensors[i];
            for (int k = 0; k < tensor.Length; k++)
            {
                if (!T.IsFinite(tensor[k]))
                {
                    throw new ArgumentException(
                        $"{paramName}[{i}] ('{tensors.GetName(i)}') has the non-finite value {tensor[k]} at element {k}; "
                        + "nothing was updated.",
                        paramName);
                }
            }
        }
    }

    private static ArgumentOutOfRangeException OutOfRange(double value, string paramName, string expected) =>
        new(paramName, value, $"{paramName} must be {expected}, but was {value.ToString("R", CultureInfo.InvariantCulture)}.");
}
