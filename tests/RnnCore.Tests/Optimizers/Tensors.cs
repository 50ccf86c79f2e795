using System.Numerics;

namespace RnnCore.Tests.Optimizers;

/// <summary>Small helpers to build <see cref="TensorSet{T}"/> from double arrays and to compare them.</summary>
internal static class Tensors
{
    public static TensorSet<T> Create<T>(string[] names, double[][] values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Memory<T>[] tensors = values.Select(v => new Memory<T>(v.Select(T.CreateTruncating).ToArray())).ToArray();
        return new TensorSet<T>(names, tensors);
    }

    /// <summary>Copies the current values out as double (for before/after comparisons and messages).</summary>
    public static double[][] Snapshot<T>(TensorSet<T> set)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[][] copy = new double[set.Count][];
        for (int i = 0; i < set.Count; i++)
        {
            copy[i] = set[i].ToArray().Select(double.CreateTruncating).ToArray();
        }

        return copy;
    }

    /// <summary>Sets every value from doubles (rounded to T), keeping the same memory.</summary>
    public static void Fill<T>(TensorSet<T> set, double[][] values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < set.Count; i++)
        {
            Span<T> tensor = set[i];
            for (int k = 0; k < tensor.Length; k++)
            {
                tensor[k] = T.CreateTruncating(values[i][k]);
            }
        }
    }

    /// <summary>
    /// Asserts |actual − expected| ≤ relativeTolerance · max|expected| for each tensor, the scale being the largest
    /// magnitude in that tensor (as the reference README prescribes).
    /// </summary>
    public static void ShouldMatch<T>(TensorSet<T> actual, double[][] expected, double relativeTolerance, string because)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        actual.Count.Should().Be(expected.Length, because);
        for (int i = 0; i < expected.Length; i++)
        {
            ReadOnlySpan<T> tensor = actual[i];
            tensor.Length.Should().Be(expected[i].Length, because);
            double scale = Math.Max(expected[i].Max(Math.Abs), double.Epsilon);
            double worst = 0;
            int worstIndex = 0;
            for (int k = 0; k < tensor.Length; k++)
            {
                double error = Math.Abs(double.CreateTruncating(tensor[k]) - expected[i][k]) / scale;
                if (!(error <= worst))
                {
                    worst = error;
                    worstIndex = k;
                }
            }

            worst.Should().BeLessThanOrEqualTo(
                relativeTolerance,
                $"{because}: tensor {i} ('{actual.GetName(i)}') element {worstIndex} is {tensor[worstIndex]} but PyTorch has "
                + $"{expected[i][worstIndex]}");
        }
    }
}
