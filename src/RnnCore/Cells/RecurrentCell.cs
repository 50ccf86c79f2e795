using System.Numerics;

namespace RnnCore.Cells;

/// <summary>
/// One step of a recurrent cell and its backward twin, for a batch of B columns. The model computes the two products
/// around the cell, <c>u = W_ih x + b_ih</c> (hoisted: one GEMM over all T·B columns) and <c>v = W_hh h + b_hh</c> (the only
/// product inside the time loop); the cell turns (u, v, h, c) into (h', c') and back.
/// </summary>
/// <remarks>
/// <para>
/// Layout: every block is column-major with one column per sequence. u, v, δu and δv are [G·H, B]: column j holds the G
/// gate blocks of H rows in PyTorch's order, so gate g of unit i in column j is at <c>j·G·H + g·H + i</c>. c is [H, B],
/// h is [S, B], S the description's state size (H, or P for the LSTM with projections).
/// </para>
/// <para>
/// The forward step may overwrite u and v with what its backward needs (gate activations), so that nothing else is
/// cached. The backward step receives dL/dh' (every path: the head or the next layer, and the later steps) and, for a
/// cell with a cell state, dL/dc' from the later steps, and writes δu = dL/du and δv = dL/dv (the model turns them into
/// the weight gradients with GEMMs over all steps, and into dL/dh through W_hhᵀ δv), plus the part of dL/dh that does
/// not pass through v (<c>dhPrevDirect</c>) and dL/dc.
/// </para>
/// <para>
/// A cell is one file: this step and its backward twin, and the <see cref="CellDescription"/> it declares (names, gates,
/// tensors, state size, ONNX mapping), registered in <see cref="CellRegistry"/>. A cell whose description lists a
/// fifth tensor (the projected LSTM's W_hr) receives it in its steps as its own weight.
/// </para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
internal abstract class RecurrentCell<T>(CellDescription description)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>What the cell is: its names, gates, tensors and ONNX mapping.</summary>
    public CellDescription Description { get; } = description;

    /// <summary>G, the number of gate blocks of H rows in W_ih, W_hh, b_ih and b_hh.</summary>
    public int Gates => Description.Gates;

    /// <summary>True when the cell carries a cell state c beside h (LSTM).</summary>
    public bool HasCellState => Description.HasCellState;

    /// <summary>True when the backward needs every step's v (the model keeps [G·H, T·B] instead of one [G·H, B] block).</summary>
    public virtual bool KeepsRecurrentProjection => false;

    /// <summary>
    /// True when u may be computed straight into the state slab, at h''s place: G = 1, the forward reads each element of u
    /// only to write the same element of h', and the backward never reads u (it has h'). The model then keeps no
    /// [G·H, T·B] slab of u.
    /// </summary>
    public virtual bool ProjectionInState => false;

    /// <summary>True when δv differs from δu (GRU, where b_hn sits inside r ⊙ (…)); otherwise the model passes one buffer as both.</summary>
    public virtual bool SeparateRecurrentDelta => false;

    /// <summary>What a non-finite value of the recurrent product v = W_hh h + b_hh is reported as.</summary>
    public virtual string RecurrentProductQuantity => "recurrent pre-activation W_hh h + b_hh";

    /// <summary>What a non-finite value in h' is reported as: the state itself, or what it was computed from.</summary>
    public virtual string StateQuantity => "state h_t";

    /// <summary>(u, v, h, c) → (h', c') for B columns; u and v may be overwritten with what <see cref="Backward"/> reads.</summary>
    /// <remarks>h is S x B (the description's state size), c and the gate blocks use H (<paramref name="hidden"/>); <paramref name="ownWeight"/> is the description's fifth tensor of this layer-direction (empty when none).</remarks>
    public abstract void Forward(
        Span<T> u, Span<T> v, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, Span<T> hNext, Span<T> cNext, int hidden, ReadOnlySpan<T> ownWeight);

    /// <summary>
    /// From dL/dh' (<paramref name="dh"/>) and dL/dc' (<paramref name="dc"/>, replaced by dL/dc), writes δu, δv and the direct
    /// part of dL/dh (<paramref name="dhPrevDirect"/>, zero when every path goes through v). u and v are what
    /// <see cref="Forward"/> left in them. A cell with its own weight adds this step's gradient of it to
    /// <paramref name="ownWeightGradient"/> (the model clears it before the first step of a layer-direction's walk).
    /// </summary>
    public abstract void Backward(
        ReadOnlySpan<T> u, ReadOnlySpan<T> v, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> hNext, ReadOnlySpan<T> cNext,
        ReadOnlySpan<T> dh, Span<T> dc, Span<T> deltaU, Span<T> deltaV, Span<T> dhPrevDirect, int hidden,
        ReadOnlySpan<T> ownWeight, Span<T> ownWeightGradient);
}
