using System.Numerics;
using RnnCore.Kernels;

namespace RnnCore.Cells;

/// <summary>
/// A whole cell step as the epilogue of the step's recurrent product v = W_hh h + b_hh: each GEMM thread runs the cell
/// on the columns (sequences) it has just computed, while v is still in its cache. Cells treat every column on its own,
/// so the bits do not depend on how the columns were split. h blocks have <paramref name="stateRows"/> rows per column
/// (the description's <see cref="CellDescription.StateSize"/>), c blocks <paramref name="hidden"/>.
/// </summary>
internal readonly struct CellStepEpilogue<T>(
    RecurrentCell<T> cell, T[] projections, int projectionOffset, T[] hiddens, T[] cells, int step, int batch, int hidden, int stateRows, T[] ownWeight)
    : IGemmEpilogue<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>(u, v, h, c) → (h', c') for columns [firstColumn, firstColumn + columnCount); v is <paramref name="block"/>.</summary>
    public void Apply(Span<T> block, int firstColumn, int columnCount)
    {
        int rows = cell.Gates * hidden;
        Span<T> u = projections.AsSpan(projectionOffset + (firstColumn * rows), columnCount * rows);
        int previous = ((step * batch) + firstColumn) * stateRows;
        int next = previous + (batch * stateRows);
        ReadOnlySpan<T> hPrev = hiddens.AsSpan(previous, columnCount * stateRows);
        Span<T> hNext = hiddens.AsSpan(next, columnCount * stateRows);
        int cellPrevious = ((step * batch) + firstColumn) * hidden;
        int length = columnCount * hidden;
        Span<T> cPrev = cells.Length == 0 ? default : cells.AsSpan(cellPrevious, length);
        Span<T> cNext = cells.Length == 0 ? default : cells.AsSpan(cellPrevious + (batch * hidden), length);
        cell.Forward(u, block, hPrev, cPrev, hNext, cNext, hidden, ownWeight);
    }
}
