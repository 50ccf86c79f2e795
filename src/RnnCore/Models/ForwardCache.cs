using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Activations;
using RnnCore.Internal;
using RnnCore.Kernels;

namespace RnnCore.Models;

/// <summary>
/// The unrolled forward pass of a <see cref="RecurrentModel{T}"/> over B sequences of T steps: every layer's and
/// direction's states and gate activations, the dropout masks, the head's logits (the outputs are rebuilt from them when
/// read). Exactly what <see cref="Bptt{T}"/> reads on its way back. Create one with <see cref="RecurrentModel{T}.CreateCache"/>
/// and pass it to every forward pass: it is overwritten, never reallocated.
/// </summary>
/// <remarks>
/// Positions are numbered from 0. Each direction walks its own processing order: the forward direction s = 0, 1, … is
/// position s; the reverse direction's step s is position length_b − 1 − s of sequence b (each sequence starts at its
/// own last real step, as PyTorch's packed sequences do). A cache is not thread-safe; use one per thread.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class ForwardCache<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    internal ForwardCache(RecurrentModel<T> model, int steps, int batch)
    {
        Guard.Positive(steps, nameof(steps));
        Guard.Positive(batch, nameof(batch));
        Options = model.Options;
        Steps = steps;
        Capacity = steps;
        Batch = batch;
        int h = model.HiddenSize;
        int hs = model.StateSize;
        StateSize = hs;
        int d = model.Directions;
        int gh = model.Cell.Gates * h;
        long columns = (long)steps * batch;
        Inputs = new T[Guard.ElementCount<T>(model.InputSize, columns, "inputs cache")];
        int count = model.Layers * d;
        ProjectionsInState = model.Cell.ProjectionInState;
        ReversedInputs = new T[count][];
        Projections = new T[count][];
        RecurrentProjections = new T[count][];
        Hiddens = new T[count][];
        Cells = new T[count][];
        for (int ld = 0; ld < count; ld++)
        {
            int layer = ld / d;
            int inputRows = layer == 0 ? model.InputSize : d * hs;
            ReversedInputs[ld] = ld % d == 1 ? new T[Guard.ElementCount<T>(inputRows, columns, "reversed inputs cache")] : [];
            Projections[ld] = ProjectionsInState ? [] : new T[Guard.ElementCount<T>(gh, columns, "gate cache")];
            RecurrentProjections[ld] = new T[Guard.ElementCount<T>(gh, model.Cell.KeepsRecurrentProjection ? columns : batch, "recurrent gate cache")];
            Hiddens[ld] = new T[Guard.ElementCount<T>(hs, columns + batch, "hidden-state cache")];
            Cells[ld] = model.Cell.HasCellState ? new T[Guard.ElementCount<T>(h, columns + batch, "cell-state cache")] : [];
        }

        LayerOutputs = new T[model.Layers][];
        DropoutMasks = new T[model.Layers][];
        DroppedOutputs = new T[model.Layers][];
        for (int k = 0; k < model.Layers; k++)
        {
            // One direction: the layer's output is its state slab's blocks 1..T (see LayerOutput), no slab of its own.
            LayerOutputs[k] = d == 1 ? [] : new T[Guard.ElementCount<T>(d * hs, columns, "layer-output cache")];

            // Every layer below the top gets mask buffers, whatever p: a cache serves any model of the same shape.
            bool dropped = k < model.Layers - 1;
            DropoutMasks[k] = dropped ? new T[Guard.ElementCount<T>(d * hs, columns, "dropout-mask cache")] : [];
            DroppedOutputs[k] = dropped ? new T[DropoutMasks[k].Length] : [];
        }

        Logits = new T[Guard.ElementCount<T>(model.OutputSize, columns, "logits cache")];
        LogSumExps = new double[columns];
        InverseSums = new T[columns];
        OutputScratch = new T[model.OutputSize];
        PackedRecurrentWeights = new PackedMatrix<T>(gh, hs);
        Lengths = new int[batch];
        Ids = model.HasEmbedding ? new int[Guard.ElementCount<int>(1, columns, "token-id cache")] : [];
    }

    /// <summary>The options of the model this cache was created for.</summary>
    public RecurrentModelOptions Options { get; }

    /// <summary>Number of steps T of the last pass (at most the steps the cache was created for).</summary>
    public int Steps { get; private set; }

    /// <summary>The steps the cache was created for: <see cref="UseSteps"/> may use fewer without reallocating.</summary>
    internal int Capacity { get; }

    /// <summary>T·B, the columns of the steps in use.</summary>
    internal int Columns => Steps * Batch;

    /// <summary>Number of sequences B.</summary>
    public int Batch { get; }

    /// <summary>The size of h (the model's <see cref="RecurrentModel{T}.StateSize"/>): H, or P for a projected LSTM. c has H.</summary>
    internal int StateSize { get; }

    /// <summary>True once a forward pass has filled the cache.</summary>
    public bool IsFilled => Owner is not null;

    /// <summary>True when the last forward pass was given per-sequence lengths.</summary>
    public bool HasLengths { get; internal set; }

    /// <summary>True when the last forward pass applied dropout (training with p &gt; 0 and at least two layers).</summary>
    public bool DropoutApplied { get; internal set; }

    internal object? Owner { get; set; }

    // [I, T·B], position order: x_t in columns t·B … t·B+B−1.
    internal T[] Inputs { get; }

    // Per layer-direction k·D+d. Reverse directions only: the layer's input in processing order, [n_in, T·B].
    internal T[][] ReversedInputs { get; }

    // u = W_ih x + b_ih in processing order, [G·H, T·B]; the cell's forward replaces it with what its backward reads.
    // Empty when ProjectionsInState: u_s is then computed into the state slab's block s+1, where h' replaces it.
    internal T[][] Projections { get; }

    // True when the cell's backward reads no u and its forward turns u into h' element by element (vanilla,
    // RecurrentCell.ProjectionInState): u lives in the state slab, not in a [G·H, T·B] slab of its own.
    internal bool ProjectionsInState { get; }

    // v = W_hh h + b_hh, [G·H, T·B] when the cell keeps it (GRU), else one [G·H, B] scratch block.
    internal T[][] RecurrentProjections { get; }

    // States in processing order, [H, (T+1)·B] ([P, (T+1)·B] for h of a projected LSTM): the initial state in block 0, the state after processing step s in
    // block s+1, zero at padded steps (s ≥ length_b: in each direction's processing order padding comes after the last
    // real step, so nothing real reads it); sequence b's final state is its block length_b (FinalState). Cells: the same
    // for c (LSTM only).
    internal T[][] Hiddens { get; }

    internal T[][] Cells { get; }

    // Per layer: [h_fwd ; h_rev] by position, [D·H, T·B] (H: the size of h, P for a projected LSTM) (zero at padded positions); empty for one direction, whose
    // output is its state slab (LayerOutput).
    internal T[][] LayerOutputs { get; }

    // Per layer below the top: the mask (0 or 1/(1 − p)) and the masked output the next layer reads.
    internal T[][] DropoutMasks { get; }

    internal T[][] DroppedOutputs { get; }

    // [O, T·B]: z = W_head o + b_head, by position. y = g(z) is rebuilt from it where it is read (OutputValues), not kept
    // as a second [O, T·B] slab.
    internal T[] Logits { get; }

    // [T·B]: log Σ_k e^(z_k) of each logit column (softmax), for the cross-entropy.
    internal double[] LogSumExps { get; }

    // [T·B]: 1 / Σ_k e^(z_k − max z) of each logit column (softmax), to rebuild y with the forward pass's own sum.
    internal T[] InverseSums { get; }

    // [O]: one column's exponentials while the softmax forward sums them.
    internal T[] OutputScratch { get; }

    // W_hh of the layer-direction being unrolled, in the GEMM kernel's panel layout (packed once per layer-direction).
    internal PackedMatrix<T> PackedRecurrentWeights { get; }

    // [B]: real steps per sequence (T for every sequence when HasLengths is false).
    internal int[] Lengths { get; }

    // [T·B], position order: the token ids of the last pass fed ids (IdInput), −1 at padded positions. Allocated with the
    // cache for a network with an embedding, else by the first pass fed ids (EnsureIds).
    internal int[] Ids { get; private set; }

    /// <summary>True when the last pass read token ids (an embedding's lookup, or W_ih's columns) rather than dense vectors.</summary>
    internal bool IdInput { get; set; }

    /// <summary>The id buffer for every step the cache was created for, allocated on first use (0 B afterwards).</summary>
    internal int[] EnsureIds()
    {
        if (Ids.Length == 0)
        {
            Ids = new int[Guard.ElementCount<int>(1, (long)Capacity * Batch, "token-id cache")];
        }

        return Ids;
    }

    private int Directions => Options.Bidirectional ? 2 : 1;

    /// <summary>The output y_t = g(z_t) at position <paramref name="step"/>, a new O x B matrix.</summary>
    /// <param name="step">0-based position, 0 ≤ step &lt; <see cref="Steps"/>.</param>
    public Matrix<T> Output(int step)
    {
        T[] outputs = new T[Options.OutputSize * Batch];
        OutputColumns(CheckStep(step) * Batch, Batch, outputs);
        return Matrix<T>.Build.Dense(Options.OutputSize, Batch, outputs);
    }

    /// <summary>The logits z_t at position <paramref name="step"/>, a new O x B matrix.</summary>
    /// <param name="step">0-based position, 0 ≤ step &lt; <see cref="Steps"/>.</param>
    public Matrix<T> Logit(int step) => Block(Logits, Options.OutputSize, CheckStep(step));

    /// <summary>
    /// The top layer's output o_t = [h_fwd ; h_rev] at position <paramref name="step"/> (PyTorch's <c>output[t]</c>), a new
    /// D·H x B matrix (D·P x B with projections); zero at a padded position.
    /// </summary>
    /// <param name="step">0-based position, 0 ≤ step &lt; <see cref="Steps"/>.</param>
    public Matrix<T> Hidden(int step) => Block(LayerOutput(LayerOutputs.Length - 1), Directions * StateSize, CheckStep(step));

    /// <summary>
    /// The final hidden state h_n of layer-direction <paramref name="index"/> = layer·D + direction (PyTorch's
    /// <c>h_n[index]</c>), a new H x B matrix: the forward direction's state after each sequence's last real step, the
    /// reverse direction's state at position 0. P x B for an LSTM with projections.
    /// </summary>
    /// <param name="index">layer·D + direction, 0 ≤ index &lt; L·D.</param>
    public Matrix<T> FinalHidden(int index) => FinalStateMatrix(Hiddens[CheckIndex(index)]);

    /// <summary>The final cell state c_n of layer-direction <paramref name="index"/> (LSTM only), a new H x B matrix.</summary>
    /// <param name="index">layer·D + direction, 0 ≤ index &lt; L·D.</param>
    /// <exception cref="InvalidOperationException">The cell has no cell state.</exception>
    public Matrix<T> FinalCell(int index)
    {
        if (!NetworkTensors.Cell(Options).HasCellState)
        {
            throw new InvalidOperationException($"a {Options.Cell} cell has no cell state; only a cell that carries c (Lstm) has a final c.");
        }

        return FinalStateMatrix(Cells[CheckIndex(index)]);
    }

    /// <summary>Every layer-direction's final hidden state, in PyTorch's order (index layer·D + direction).</summary>
    public IReadOnlyList<Matrix<T>> FinalHiddens() => Enumerable.Range(0, Hiddens.Length).Select(FinalHidden).ToArray();

    /// <summary>Every layer-direction's final cell state (LSTM only), in PyTorch's order.</summary>
    public IReadOnlyList<Matrix<T>> FinalCells() => Enumerable.Range(0, Hiddens.Length).Select(FinalCell).ToArray();

    /// <summary>
    /// y = g(z) of the <paramref name="count"/> columns from <paramref name="firstColumn"/> (column t·B + b is position t
    /// of sequence b) into <paramref name="destination"/>, O x count, rebuilt from the logits.
    /// </summary>
    internal void OutputColumns(int firstColumn, int count, Span<T> destination)
    {
        int o = Options.OutputSize;
        OutputValues.FromLogits<T>(
            Options.OutputActivation, Logits.AsSpan(firstColumn * o, count * o), InverseSums.AsSpan(firstColumn, count), o, destination);
    }

    /// <summary>
    /// Uses the first <paramref name="steps"/> steps of every slab (1..<see cref="Capacity"/>): a trainer reuses one
    /// cache for batches of any length up to its capacity. The cache is empty until the next forward pass.
    /// </summary>
    internal void UseSteps(int steps)
    {
        if (steps < 1 || steps > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must be in [1, {Capacity}], but was {steps}.");
        }

        Steps = steps;
        Owner = null;
    }

    /// <summary>
    /// Layer <paramref name="layer"/>'s output o_t by position, [D·H, T·B], zero at padded positions: the layer's own slab
    /// for two directions; for one, the state slab's blocks 1..T (processing order is position order, and padded steps
    /// hold zeros), without copying.
    /// </summary>
    internal Span<T> LayerOutput(int layer) => Directions == 1
        ? Hiddens[layer].AsSpan(StateSize * Batch, StateSize * Columns)
        : LayerOutputs[layer].AsSpan(0, 2 * StateSize * Columns);

    /// <summary>Where u = W_ih x + b_ih of layer-direction <paramref name="ld"/> lives: its slab and the offset of step 0's block.</summary>
    internal (T[] Slab, int Offset) ProjectionSlab(int ld) =>
        ProjectionsInState ? (Hiddens[ld], StateSize * Batch) : (Projections[ld], 0);

    /// <summary>
    /// The final state of a state slab into <paramref name="destination"/>, rows x B (<see cref="SlabRows"/>): column b from block length_b, the state
    /// after sequence b's last real step (block T for every sequence when the pass had no lengths; block 0, the initial
    /// state, for a sequence with no step in a truncated chunk).
    /// </summary>
    internal void FinalState(T[] slab, Span<T> destination)
    {
        int h = SlabRows(slab);
        for (int b = 0; b < Batch; b++)
        {
            int block = HasLengths ? Lengths[b] : Steps;
            slab.AsSpan(((block * Batch) + b) * h, h).CopyTo(destination.Slice(b * h, h));
        }
    }

    /// <summary>The rows x B block <paramref name="block"/> of a state slab (<see cref="SlabRows"/>), without copying.</summary>
    internal Span<T> StateBlock(T[] slab, int block)
    {
        int size = SlabRows(slab) * Batch;
        return slab.AsSpan(block * size, size);
    }

    /// <summary>
    /// The rows of a state slab of this cache, from its length (rows·(capacity + 1)·B): the size of h for
    /// <see cref="Hiddens"/>, H for <see cref="Cells"/> (they differ for a projected LSTM).
    /// </summary>
    internal int SlabRows(T[] slab) => slab.Length / ((Capacity + 1) * Batch);

    private int CheckIndex(int index)
    {
        CheckFilled();
        return (uint)index < (uint)Hiddens.Length
            ? index
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {Hiddens.Length - 1}] (layer·D + direction), but was {index}.");
    }

    private int CheckStep(int step)
    {
        CheckFilled();
        return (uint)step < (uint)Steps
            ? step
            : throw new ArgumentOutOfRangeException(nameof(step), step, $"step must be in [0, {Steps - 1}], but was {step}.");
    }

    private void CheckFilled()
    {
        if (!IsFilled)
        {
            throw new InvalidOperationException("The cache is empty: run RecurrentModel.Forward with it first.");
        }
    }

    private Matrix<T> Block(ReadOnlySpan<T> slab, int rows, int block)
    {
        CheckFilled();
        T[] copy = slab.Slice(block * rows * Batch, rows * Batch).ToArray();
        return Matrix<T>.Build.Dense(rows, Batch, copy);
    }

    private Matrix<T> FinalStateMatrix(T[] slab)
    {
        int rows = SlabRows(slab);
        T[] copy = new T[rows * Batch];
        FinalState(slab, copy);
        return Matrix<T>.Build.Dense(rows, Batch, copy);
    }
}
