namespace RnnCore.Training;

/// <summary>
/// What the <see cref="Trainer{T}"/> needs from a recurrent network, so that its loop is written once for a
/// <see cref="RecurrentLayer{T}"/> and a <see cref="RecurrentModel{T}"/>: the sizes, the parameters, and passes
/// (a cache with its gradients) to run forward and backward.
/// </summary>
/// <remarks>
/// The carried state of one sequence is <see cref="StateRows"/> values: h for the layer; for a model every
/// layer-direction's h, then its c for LSTM, stacked as [h_0; c_0; h_1; c_1; …] (index layer·D + direction).
/// </remarks>
internal abstract class TrainableNetwork<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    public abstract int InputSize { get; }

    public abstract int OutputSize { get; }

    public abstract OutputActivation OutputActivation { get; }

    public abstract TensorSet<T> Parameters { get; }

    /// <summary>Rows of carried state per sequence (see the remarks).</summary>
    public abstract int StateRows { get; }

    /// <summary>Layer-directions whose dL/dh profile gradient health reports: 1 for the layer, L·D for a model.</summary>
    public abstract int LayerDirections { get; }

    /// <summary>A pass with room for <paramref name="capacity"/> steps of <paramref name="batch"/> sequences.</summary>
    public abstract NetworkPass<T> CreatePass(int capacity, int batch, LossPlacement placement, LossReduction reduction);

    /// <summary>ρ(W_hh) of a layer-direction for gradient health; NaN where W_hh is not square (gated cells).</summary>
    public abstract double SpectralRadius(int layerDirection);

    /// <summary>(layer, direction) of a layer-direction index.</summary>
    public abstract (int Layer, int Direction) Locate(int layerDirection);
}

/// <summary>One cache and (created when first needed) one gradient set, for a capacity and a batch size.</summary>
internal abstract class NetworkPass<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    public abstract int Capacity { get; }

    public abstract int Batch { get; }

    /// <summary>The steps the next forward pass runs (at most <see cref="Capacity"/>).</summary>
    public abstract int Steps { get; }

    /// <summary>[I, Steps·B] at least: the inputs, column t·B + j for step t of sequence j.</summary>
    public abstract Span<T> Inputs { get; }

    /// <summary>Each sequence's real steps (0 ≤ length ≤ Steps).</summary>
    public abstract int[] Lengths { get; }

    public abstract bool HasLengths { set; }

    /// <summary>
    /// The output y of column t·B + j of the last forward pass (length O), rebuilt from the cached logits into a buffer
    /// that the next call overwrites.
    /// </summary>
    public abstract ReadOnlySpan<T> Output(int column);

    public abstract TensorSet<T> ParameterGradients { get; }

    public abstract void UseSteps(int steps);

    /// <summary>Copies the carried state (StateRows x B) in as the initial state.</summary>
    public abstract void LoadState(ReadOnlySpan<T> state);

    /// <summary>Copies each sequence's final state (StateRows x B) out.</summary>
    public abstract void StoreFinalState(Span<T> state);

    /// <summary>The forward pass; <paramref name="training"/> turns dropout on (models with p &gt; 0).</summary>
    public abstract void Forward(bool training);

    public abstract double Loss(SequenceTargets<T> targets);

    /// <summary>BPTT into the gradients (overwritten); cache position t is scored against target step <paramref name="targetStep0"/> + t.</summary>
    public abstract double Backward(SequenceTargets<T> targets, int targetStep0);

    /// <summary>The last backward pass's ‖dL/dh_t‖ per position, of a layer-direction.</summary>
    public abstract ReadOnlySpan<double> DhNorms(int layerDirection);
}
