using System.Numerics;
using System.Numerics.Tensors;
using RnnCore.Cells;
using RnnCore.Kernels;

namespace RnnCore.Models;

/// <summary>
/// The element-wise half of one BPTT step s for a range of columns (sequences), the twin of the forward's
/// <see cref="CellStepEpilogue{T}"/>: dL/dh_s = dL/do_s[this direction's half] + (what step s + 1 sent back), zero in
/// padding, then the cell's backward step (δu, δv, dL/dc, and the direct part of the gradient to h_{s−1}). Every column
/// is treated on its own, so <see cref="ColumnParts"/> may split the batch between threads without changing a bit; the
/// recurrent product W_hhᵀ δv that follows is the GEMM's.
/// </summary>
/// <remarks>
/// Every span covers the whole step, [rows, B]; <see cref="Run"/> slices out its columns. <c>later</c> is read for
/// dL/dh before the cell overwrites it with the direct part, column range by column range.
/// </remarks>
internal ref struct BackwardStepColumns<T> : IColumnWork
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public RecurrentCell<T> Cell;
    public int Step;
    public int Steps;
    public int Batch;
    public int Hidden;
    public int StateRows;
    public int Direction;
    public int OutputRows;
    public int FirstColumn;
    public int[] Lengths;
    public bool Padded;
    public ReadOnlySpan<T> OutputGradient;
    public Span<T> HiddenGradient;
    public Span<T> Later;
    public Span<T> CellGradient;
    public ReadOnlySpan<T> U;
    public ReadOnlySpan<T> V;
    public ReadOnlySpan<T> HiddenPrevious;
    public ReadOnlySpan<T> CellPrevious;
    public ReadOnlySpan<T> HiddenNext;
    public ReadOnlySpan<T> CellNext;
    public Span<T> DeltaU;
    public Span<T> DeltaV;
    public ReadOnlySpan<T> OwnWeight;
    public Span<T> OwnWeightGradient;

    /// <inheritdoc/>
    public readonly void Run(int firstColumn, int columnCount)
    {
        int hs = StateRows;
        int h = Hidden;
        int rows = Cell.Gates * h;
        int s = Step;
        bool hasLater = s < Steps - 1;
        Span<T> dh = HiddenGradient.Slice(firstColumn * hs, columnCount * hs);
        Span<T> later = Later.Slice(firstColumn * hs, columnCount * hs);
        if (OutputRows == hs)
        {
            // One direction: step s's columns lie together, so the sum is one pass.
            ReadOnlySpan<T> output = OutputGradient.Slice(((s * Batch) + firstColumn - FirstColumn) * hs, columnCount * hs);
            if (hasLater)
            {
                TensorPrimitives.Add(output, later, dh);
            }
            else
            {
                output.CopyTo(dh);
            }
        }
        else
        {
            // Two directions: this direction's half of each position's column; the reverse direction's step s is
            // position length_b − 1 − s of sequence b.
            for (int j = firstColumn; j < firstColumn + columnCount; j++)
            {
                int from = Direction == 0 ? (s * Batch) + j : SequenceOrder.ReversedColumn(s, j, Batch, Lengths[j]);
                ReadOnlySpan<T> output = OutputGradient.Slice(((from - FirstColumn) * OutputRows) + (Direction * hs), hs);
                Span<T> column = dh.Slice((j - firstColumn) * hs, hs);
                if (hasLater)
                {
                    TensorPrimitives.Add(output, later.Slice((j - firstColumn) * hs, hs), column);
                }
                else
                {
                    output.CopyTo(column);
                }
            }
        }

        Span<T> dc = CellGradient.IsEmpty ? default : CellGradient.Slice(firstColumn * h, columnCount * h);
        if (Padded)
        {
            // Padding (s ≥ length_b) held zeros in the forward pass and nothing real read it, so no gradient crosses it.
            for (int j = firstColumn; j < firstColumn + columnCount; j++)
            {
                if (s >= Lengths[j])
                {
                    dh.Slice((j - firstColumn) * hs, hs).Clear();
                    if (!dc.IsEmpty)
                    {
                        dc.Slice((j - firstColumn) * h, h).Clear();
                    }
                }
            }
        }

        ReadOnlySpan<T> cPrevious = CellPrevious.IsEmpty ? default : CellPrevious.Slice(firstColumn * h, columnCount * h);
        ReadOnlySpan<T> cNext = CellNext.IsEmpty ? default : CellNext.Slice(firstColumn * h, columnCount * h);
        Cell.Backward(
            U.Slice(firstColumn * rows, columnCount * rows), V.Slice(firstColumn * rows, columnCount * rows),
            HiddenPrevious.Slice(firstColumn * hs, columnCount * hs), cPrevious, HiddenNext.Slice(firstColumn * hs, columnCount * hs), cNext,
            dh, dc, DeltaU.Slice(firstColumn * rows, columnCount * rows), DeltaV.Slice(firstColumn * rows, columnCount * rows),
            later, h, OwnWeight, OwnWeightGradient);
    }
}
