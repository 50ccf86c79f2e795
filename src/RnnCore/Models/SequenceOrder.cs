using System.Numerics;
using System.Numerics.Tensors;

namespace RnnCore.Models;

/// <summary>
/// The reverse direction's processing order. Its step s of sequence b is position length_b − 1 − s (each sequence
/// starts at its own last real step); padded columns (s ≥ length_b) keep their index. The map is its own inverse, so one
/// function reorders both ways. Blocks are [rows, T·B], one column per (step, sequence), step-major.
/// </summary>
internal static class SequenceOrder
{
    /// <summary>The column of (position or step) <paramref name="s"/> of sequence <paramref name="b"/> in the other order.</summary>
    public static int ReversedColumn(int s, int b, int batch, int length) => ((s < length ? length - 1 - s : s) * batch) + b;

    /// <summary>destination = source with its columns reordered (position ↔ reverse processing order).</summary>
    public static void Reverse<T>(ReadOnlySpan<T> source, Span<T> destination, int rows, int steps, ReadOnlySpan<int> lengths)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int batch = lengths.Length;
        for (int s = 0; s < steps; s++)
        {
            for (int b = 0; b < batch; b++)
            {
                int from = ReversedColumn(s, b, batch, lengths[b]);
                source.Slice(from * rows, rows).CopyTo(destination.Slice(((s * batch) + b) * rows, rows));
            }
        }
    }

    /// <summary>
    /// destination += source with its columns reordered, for the steps <paramref name="start"/>..<paramref name="end"/>−1
    /// of one time chunk: source holds those steps' columns (column (s − start)·B + b), destination all T·B columns, and
    /// each source column is added into the destination column it maps to.
    /// </summary>
    public static void AddReversed<T>(ReadOnlySpan<T> source, Span<T> destination, int rows, int start, int end, ReadOnlySpan<int> lengths)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int batch = lengths.Length;
        for (int s = start; s < end; s++)
        {
            for (int b = 0; b < batch; b++)
            {
                Span<T> to = destination.Slice(ReversedColumn(s, b, batch, lengths[b]) * rows, rows);
                TensorPrimitives.Add(to, source.Slice((((s - start) * batch) + b) * rows, rows), to);
            }
        }
    }
}
