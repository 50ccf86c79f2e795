using System.Numerics;
using RnnCore.Kernels;

namespace RnnCore.Cells;

/// <summary>
/// A whole cell step as the epilogue of the step's recurrent product v = W_hh h + b_hh: each GEMM thread runs the cell
/// on the columns (sequences) it has just computed, while v is still in its cache. Cells treat every column on its own,
/// so the bits do not depend on how the columns were split.
/// </summary>
internal readonly struct CellStepEpilogue<T>(
    RecurrentCell<T> cell, T[] projections, int projectionOffset, T[] hiddens, T[] cells, int previousOffset, int nextOffset, int hidden)
    : IGemmEpilogue<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>(u, v, h, c) → (h', c') for columns [firstColumn, firstColumn + columnCount); v is <paramref name="block"/>.</summary>
    public void Apply(Span<T> block, int firstColumn, int columnCount)
    {
        int rows = cell.Gates * hidden;
        Span<T> u = projections.AsSpan(projectionOffset + (firstColumn * rows), columnCount * rows);
        int first = firstColumn * hidden;
        int length = columnCount * hidden;
        ReadOnlySpan<T> hPrev = hiddens.AsSpan(previousOffset + first, length);
        Span<T> hNext = hiddens.AsSpan(nextOffset + first, length);
        Span<T> cPrev = cells.Length == 0 ? default : cells.AsSpan(previousOffset + first, length);
        Span<T> cNext = cells.Length == 0 ? default : cells.AsSpan(nextOffset + first, length);
        cell.Forward(u, block, hPrev, cPrev, hNext, cNext, hidden);
    }
}
