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
/// h is [<see cref="StateSize"/>, B] (H but for the projected LSTM).
/// </para>
/// <para>
/// The forward step may overwrite u and v with what its backward needs (gate activations), so that nothing else is
/// cached. The backward step receives dL/dh' (every path: the head or the next layer, and the later steps) and, for a
/// cell with a cell state, dL/dc' from the later steps, and writes δu = dL/du and δv = dL/dv (the model turns them into
/// the weight gradients with GEMMs over all steps, and into dL/dh through W_hhᵀ δv), plus the part of dL/dh that does
/// not pass through v (<c>dhPrevDirect</c>) and dL/dc.
/// </para>
/// <para>
/// A cell is one file beside this one and one line in <see cref="Create"/>: its gates, whether it carries c, the size of
/// its h (<see cref="StateSize"/>), its own weight if any (<see cref="OwnWeight"/>), its forward step and its backward twin.
/// </para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
internal abstract class RecurrentCell<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>G, the number of gate blocks of H rows in W_ih, W_hh, b_ih and b_hh.</summary>
    public abstract int Gates { get; }

    /// <summary>True when the cell carries a cell state c beside h (LSTM).</summary>
    public virtual bool HasCellState => false;

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

    /// <summary>
    /// The size of h for hidden size H (<paramref name="hidden"/>): H for every cell but the projected LSTM, whose h has
    /// P values. W_hh is G·H x this, the layer above and the head read D times this, h_0 and h_n are this x B; c (when
    /// the cell has one), u, v and the gates keep H.
    /// </summary>
    public virtual int StateSize(int hidden) => hidden;

    /// <summary>
    /// The cell's own weight matrix per layer-direction beyond W_ih, W_hh, b_ih and b_hh (the projected LSTM's W_hr), as
    /// PyTorch's <c>state_dict</c> names it without the <c>rnn.</c> prefix and the <c>_l{k}</c> suffix, and its shape for
    /// hidden size H; null when the cell has none. The model stores it after b_hh and hands it to
    /// <see cref="Forward"/> and <see cref="Backward"/>.
    /// </summary>
    public virtual (string Name, int Rows, int Columns)? OwnWeight(int hidden) => null;

    /// <summary>What a non-finite value of the recurrent product v = W_hh h + b_hh is reported as.</summary>
    public virtual string RecurrentProductQuantity => "recurrent pre-activation W_hh h + b_hh";

    /// <summary>What a non-finite value in h' is reported as: the state itself, or what it was computed from.</summary>
    public virtual string StateQuantity => "state h_t";

    /// <summary>
    /// The cell for <paramref name="kind"/> (with <paramref name="projectionSize"/> P, the LSTM with projections): the only
    /// place that knows every cell.
    /// </summary>
    public static RecurrentCell<T> Create(RecurrentCellKind kind, HiddenActivation hiddenActivation, int? projectionSize) => kind switch
    {
        RecurrentCellKind.Vanilla => new VanillaCell<T>(hiddenActivation),
        RecurrentCellKind.Lstm when projectionSize is int projection => new ProjectedLstmCell<T>(projection),
        RecurrentCellKind.Lstm => new LstmCell<T>(),
        RecurrentCellKind.Gru => new GruCell<T>(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "expected Vanilla, Lstm or Gru."),
    };

    /// <summary>(u, v, h, c) → (h', c') for B columns; u and v may be overwritten with what <see cref="Backward"/> reads.</summary>
    /// <remarks>h is <see cref="StateSize"/> x B, c and the gate blocks use H (<paramref name="hidden"/>); <paramref name="ownWeight"/> is <see cref="OwnWeight"/>'s tensor of this layer-direction (empty when none).</remarks>
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
