using System.Globalization;
using System.Text;

namespace RnnCore.Tests.TestUtilities;

/// <summary>
/// Comparisons in the reference README's sense: the error of each element relative to the largest magnitude in the same
/// array (vanishing entries such as 1e-25 are only meaningful relative to their neighbours). On failure the message
/// shows the first pairs and the worst one, like llm.c's check_tensor.
/// </summary>
internal static class Tolerance
{
    /// <summary>The worst |expected − actual| / max|expected| over the arrays.</summary>
    public static double WorstRelativeError(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, out int worstIndex)
    {
        expected.Length.Should().Be(actual.Length, "the arrays must have the same number of elements");
        double scale = 0;
        foreach (double e in expected)
        {
            scale = Math.Max(scale, Math.Abs(e));
        }

        worstIndex = -1;
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(expected[i] - actual[i]);
            double error = scale > 0 ? diff / scale : diff;
            if (double.IsNaN(actual[i]))
            {
                error = double.PositiveInfinity;
            }

            if (error > worst || worstIndex < 0)
            {
                worst = error;
                worstIndex = i;
            }
        }

        return worst;
    }

    /// <summary>Asserts that <paramref name="actual"/> matches <paramref name="expected"/> within <paramref name="tolerance"/> (relative to the array's largest magnitude).</summary>
    public static void AssertClose(string label, ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double tolerance)
    {
        double worst = WorstRelativeError(expected, actual, out int index);
        if (!(worst <= tolerance))
        {
            var message = new StringBuilder();
            message.Append(CultureInfo.InvariantCulture, $"{label}: worst relative error {worst:E3} > {tolerance:E1} at [{index}] (expected {expected[index]:R}, actual {actual[index]:R}). First pairs:");
            for (int i = 0; i < Math.Min(5, expected.Length); i++)
            {
                message.Append(CultureInfo.InvariantCulture, $" {expected[i]:G10}/{actual[i]:G10}");
            }

            throw new Xunit.Sdk.XunitException(message.ToString());
        }
    }

    /// <summary>
    /// The worst |expected − actual| / |expected| element by element, each relative to itself; an exact zero must stay
    /// exactly zero (any other value, or NaN, is an infinite error). For vanishing-gradient norms, whose smallest entries
    /// (1e-25 and below) are computed to full precision and must be right where they are smallest.
    /// </summary>
    public static double WorstElementwiseRelativeError(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, out int worstIndex)
    {
        expected.Length.Should().Be(actual.Length, "the arrays must have the same number of elements");
        worstIndex = -1;
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = expected[i] == 0
                ? (actual[i] == 0 ? 0 : double.PositiveInfinity)
                : Math.Abs(expected[i] - actual[i]) / Math.Abs(expected[i]);
            if (double.IsNaN(error))
            {
                error = double.PositiveInfinity;
            }

            if (error > worst || worstIndex < 0)
            {
                worst = error;
                worstIndex = i;
            }
        }

        return worst;
    }

    /// <summary>Asserts that every element of <paramref name="actual"/> is within <paramref name="tolerance"/> of <paramref name="expected"/> relative to itself.</summary>
    public static void AssertCloseElementwise(string label, ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double tolerance)
    {
        double worst = WorstElementwiseRelativeError(expected, actual, out int index);
        if (!(worst <= tolerance))
        {
            throw new Xunit.Sdk.XunitException(string.Create(
                CultureInfo.InvariantCulture,
                $"{label}: worst element-wise relative error {worst:E3} > {tolerance:E1} at [{index}] (expected {expected[index]:R}, actual {actual[index]:R})."));
        }
    }

    /// <summary>Asserts every tensor of <paramref name="actual"/> close to the same-named one of <paramref name="expected"/>, each relative to its own largest magnitude.</summary>
    public static void AssertClose<T>(string label, TensorSet<T> expected, TensorSet<T> actual, double tolerance)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        actual.Count.Should().Be(expected.Count, "{0}: both sets hold the same tensors", label);
        for (int i = 0; i < expected.Count; i++)
        {
            actual.GetName(i).Should().Be(expected.GetName(i), "{0}: tensor {1}", label, i);
            AssertClose(
                $"{expected.GetName(i)}, {label}",
                expected[i].ToArray().Select(double.CreateTruncating).ToArray(),
                actual[i].ToArray().Select(double.CreateTruncating).ToArray(),
                tolerance);
        }
    }

    /// <summary>Asserts a scalar with relative tolerance.</summary>
    public static void AssertClose(string label, double expected, double actual, double tolerance)
        => AssertClose(label, new[] { expected }, new[] { actual }, tolerance);
}
