using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace RnnCore.Internal;

/// <summary>
/// Small operations on column-major rows x n blocks (one column per (step, sequence)) that sit around the GEMMs:
/// broadcasting a bias into every column, summing columns into a bias gradient, and norms.
/// </summary>
internal static class ColumnBlocks
{
    /// <summary>Every column of <paramref name="block"/> = <paramref name="bias"/> (the b in a = b + W·x, before the GEMM adds W·x).</summary>
    public static void BroadcastColumns<T>(ReadOnlySpan<T> bias, Span<T> block)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int offset = 0; offset < block.Length; offset += bias.Length)
        {
            bias.CopyTo(block.Slice(offset, bias.Length));
        }
    }

    /// <summary>db = Σ_columns δ: the gradient of a bias that was broadcast into every column.</summary>
    public static void SumColumns<T>(ReadOnlySpan<T> block, Span<T> sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        sum.Clear();
        AddColumns(block, sum);
    }

    /// <summary>db += Σ_columns δ, column after column: a bias gradient summed over several blocks (BPTT's time chunks).</summary>
    public static void AddColumns<T>(ReadOnlySpan<T> block, Span<T> sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = sum.Length;
        for (int offset = 0; offset < block.Length; offset += rows)
        {
            TensorPrimitives.Add(sum, block.Slice(offset, rows), sum);
        }
    }

    /// <summary>
    /// sum = Σ_columns δ when <paramref name="beta"/> is 0, else sum += Σ_columns δ: a bias gradient over BPTT's time
    /// chunks, written by the first chunk walked (beta 0) and added to by the others (beta 1), as the GEMMs beside it are.
    /// </summary>
    public static void SumColumns<T>(ReadOnlySpan<T> block, Span<T> sum, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta == T.Zero)
        {
            SumColumns(block, sum);
        }
        else
        {
            AddColumns(block, sum);
        }
    }

    /// <summary>
    /// sqrt(Σ x²), accumulated in double so that vanishing norms (1e-25 and below) keep their digits. When the plain sum
    /// of squares overflows or underflows although the values are finite (|x| above 1e154 or below 1e-154), the sum is
    /// recomputed scaled by the largest magnitude, as BLAS nrm2 does, so a finite vector always has a finite norm.
    /// </summary>
    public static double FrobeniusNorm<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sum = SumOfSquaresInDouble(values);
        if (double.IsNormal(sum) && sum > 1e-290)
        {
            return Math.Sqrt(sum);
        }

        double scale = 0;
        foreach (T x in values)
        {
            double magnitude = Math.Abs(double.CreateTruncating(x));
            if (double.IsNaN(magnitude) || double.IsInfinity(magnitude))
            {
                return magnitude;
            }

            scale = Math.Max(scale, magnitude);
        }

        if (scale == 0)
        {
            return 0;
        }

        double scaledSum = 0;
        foreach (T x in values)
        {
            double v = double.CreateTruncating(x) / scale;
            scaledSum += v * v;
        }

        return scale * Math.Sqrt(scaledSum);
    }

    /// <summary>Σ x² accumulated in double; float lanes are widened first, so squares of 1e-25 do not underflow.</summary>
    private static double SumOfSquaresInDouble<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            return TensorPrimitives.SumOfSquares(MemoryMarshal.Cast<T, double>(values));
        }

        int i = 0;
        double sum = 0;
        if (typeof(T) == typeof(float) && Vector.IsHardwareAccelerated)
        {
            ReadOnlySpan<float> floats = MemoryMarshal.Cast<T, float>(values);
            Vector<double> accumulator = Vector<double>.Zero;
            for (; i <= floats.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(floats.Slice(i)), out Vector<double> low, out Vector<double> high);
                accumulator += (low * low) + (high * high);
            }

            sum = Vector.Sum(accumulator);
        }

        for (; i < values.Length; i++)
        {
            double v = double.CreateTruncating(values[i]);
            sum += v * v;
        }

        return sum;
    }
}
