using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Cells;
using RnnCore.Internal;
using RnnCore.Kernels;

namespace RnnCore.Models;

/// <summary>
/// A stack of L recurrent layers (vanilla, LSTM or GRU cells; one or two directions each) followed by an output head,
/// with PyTorch's semantics and PyTorch's parameter names:
/// <code>
/// layer k, direction d:  state' = cell(W_ih x + b_ih, W_hh h + b_hh, state)      (x: layer k−1's output, dropped out while training)
/// head:                  z_t = W_head o_t + b_head,  y_t = g(z_t)                  (o_t: the top layer's [h_fwd ; h_rev] at t)
/// </code>
/// <see cref="Forward(IReadOnlyList{Matrix{T}}, ForwardCache{T}, IReadOnlyList{Matrix{T}}?, IReadOnlyList{Matrix{T}}?, IReadOnlyList{int}?, bool)"/>
/// unrolls every layer and direction into a <see cref="ForwardCache{T}"/>; <see cref="Bptt{T}"/>
/// walks it back to gradients; any <see cref="Optimizers.IOptimizer{T}"/> updates <see cref="Parameters"/>.
/// </summary>
/// <remarks>
/// <para>
/// Each layer-direction holds W_ih (G·H x n_in), W_hh (G·H x H), b_ih and b_hh (G·H), G = 1, 4, 3 for vanilla, LSTM, GRU,
/// the G blocks in PyTorch's gate order; n_in is I for layer 0 and D·H above it. <see cref="Parameters"/> names them as
/// PyTorch's <c>state_dict</c> does (<c>embedding.weight</c> first when the network has an embedding, then
/// <c>rnn.weight_ih_l0</c>, <c>rnn.weight_hh_l1_reverse</c>, …, <c>head.weight</c>, <c>head.bias</c>) in the same order; each tensor is stored column-major (element (i, j) of a rows x cols matrix at
/// i + j·rows), and <see cref="Parameter"/> shows it as a live matrix.
/// </para>
/// <para>
/// Initial and final states are indexed as PyTorch's h_0 / h_n: layer·D + direction. Thread safety: an inference
/// forward pass only reads the parameters; a training pass with dropout draws from the model's generator, so training
/// passes must not overlap, and nothing may overlap an update.
/// </para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>; any other type is refused.</typeparam>
public partial class RecurrentModel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][] _inputWeights; // W_ih per layer-direction, [G·H, n_in]
    private readonly T[][] _recurrentWeights; // W_hh, [G·H, H]
    private readonly T[][] _inputBiases; // b_ih, [G·H] (the one fused bias b_h when the network fuses them)
    private readonly T[][] _recurrentBiases; // b_hh, [G·H] (zeros, and no parameter, when the network fuses the biases)
    private readonly T[][][] _cellTensors; // per layer-direction, the cell's tensors (the four above first)
    private readonly T[] _embedding = []; // embedding.weight, V x E column-major (token v's vector at v, v + V, …), or empty
    private readonly int[][] _tensorIndex; // per layer-direction: the Parameters index of each cell tensor (−1: no parameter, the fused b_hh)
    private readonly (int Rows, int Columns)[] _shapes;
    private readonly Dictionary<string, int> _index;
    private SeededRandom _random; // initialization, then dropout masks
    private int? _maxDegreeOfParallelism;

    /// <summary>
    /// Creates a model with PyTorch's default initialization: every recurrent parameter from U(−1/√H, 1/√H), the head
    /// from U(−1/√(D·H), 1/√(D·H)) (nn.Linear's bound), drawn by RnnCore's own seeded generator in <c>state_dict</c> order
    /// (each tensor in column-major order), so the same seed gives the same weights on every machine. The same generator
    /// then draws the dropout masks.
    /// </summary>
    /// <param name="options">Sizes, cell, layers, directions, dropout, activations and seed.</param>
    /// <exception cref="NotSupportedException">T is neither float nor double.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// A size is not positive, L &lt; 1, p is outside [0, 1), an enum value is not defined, or
    /// <see cref="RecurrentModelOptions.ProjectionSize"/> is set for a cell other than LSTM or is outside (0, H).
    /// </exception>
    public RecurrentModel(RecurrentModelOptions options)
        : this(options, fusedBias: false)
    {
    }

    /// <summary>
    /// Creates the network. With <paramref name="fusedBias"/> (the vanilla <see cref="RecurrentLayer{T}"/>: one layer,
    /// one direction) the hidden bias is one tensor b_h = b_ih + b_hh and the parameters are named and ordered as the
    /// design card's W_x, W_h, W_y, b_h, b_y; otherwise as PyTorch's <c>state_dict</c>. Either way every tensor is drawn
    /// in that order from U(−bound, bound).
    /// </summary>
    private protected RecurrentModel(RecurrentModelOptions options, bool fusedBias)
    {
        ArgumentNullException.ThrowIfNull(options);
        Guard.RequireSupportedElementType<T>();
        Guard.Positive(options.InputSize, "options.InputSize");
        Guard.Positive(options.HiddenSize, "options.HiddenSize");
        Guard.Positive(options.OutputSize, "options.OutputSize");
        if (options.Layers < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Layers, $"options.Layers is {options.Layers}; expected at least 1.");
        }

        if (!(options.Dropout >= 0 && options.Dropout < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Dropout, $"options.Dropout is {options.Dropout}; expected a probability in [0, 1).");
        }

        if (!Enum.IsDefined(options.Cell) || !Enum.IsDefined(options.HiddenActivation) || !Enum.IsDefined(options.OutputActivation))
        {
            throw new ArgumentOutOfRangeException(
                nameof(options), $"options.Cell ({options.Cell}), HiddenActivation ({options.HiddenActivation}) and OutputActivation ({options.OutputActivation}) must be defined values.");
        }

        if (options.VocabularySize < 0 || (fusedBias && options.VocabularySize != 0))
        {
            throw new ArgumentOutOfRangeException(
                nameof(options), options.VocabularySize, $"options.VocabularySize is {options.VocabularySize}; expected 0 (no embedding) or a positive number of tokens{(fusedBias ? " (the vanilla layer has no embedding: 0)" : string.Empty)}.");
        }

        if (options.PaddingId is int padding && (options.VocabularySize == 0 || padding < 0 || padding >= options.VocabularySize))
        {
            throw new ArgumentOutOfRangeException(
                nameof(options), padding, $"options.PaddingId is {padding}; expected null, or an id in [0, {options.VocabularySize}) of the embedding (VocabularySize > 0).");
        }

        // P selects a kind's projected cell (the registry says which kinds have one) and must lie in (0, H).
        bool kindHasProjection = CellRegistry.All.Any(c => c.Kind == options.Cell && c.HasProjection);
        if (options.ProjectionSize is int projection && (!kindHasProjection || projection <= 0 || projection >= options.HiddenSize))
        {
            string projectedKinds = CellRegistry.Join(CellRegistry.All.Where(c => c.HasProjection).Select(c => c.Kind.ToString()));
            throw new ArgumentOutOfRangeException(
                nameof(options), projection,
                !kindHasProjection
                    ? $"options.ProjectionSize is {projection} but a {options.Cell} cell has no projection; expected null (projections are for {projectedKinds})."
                    : $"options.ProjectionSize is {projection}; expected 0 < P < HiddenSize ({options.HiddenSize}), or null for no projection.");
        }

        Options = options;
        FusedBias = fusedBias;
        CellDescription description = CellRegistry.Of(options.Cell, options.ProjectionSize);
        Cell = description.Create<T>(options.HiddenActivation, options.ProjectionSize);
        StateSize = description.StateSize(options.HiddenSize, options.ProjectionSize);
        int count = options.Layers * Directions;
        if (fusedBias && (count != 1 || description.Gates != 1 || description.Tensors.Count != 4))
        {
            throw new ArgumentException("a fused hidden bias is the vanilla layer's: one vanilla layer, one direction.", nameof(options));
        }

        // Every tensor of every layer-direction as the cell describes it; the model multiplies the first four.
        NetworkTensor[] pytorch = NetworkTensors.PyTorch(options);
        _cellTensors = new T[count][][];
        for (int ld = 0; ld < count; ld++)
        {
            _cellTensors[ld] = new T[description.Tensors.Count][];
        }

        foreach (NetworkTensor tensor in pytorch.Where(t => t.IsCell))
        {
            _cellTensors[tensor.LayerDirection][tensor.Index] = new T[Guard.ElementCount<T>(tensor.Rows, tensor.Columns, tensor.Name)];
        }

        _inputWeights = _cellTensors.Select(t => t[0]).ToArray();
        _recurrentWeights = _cellTensors.Select(t => t[1]).ToArray();
        _inputBiases = _cellTensors.Select(t => t[2]).ToArray();
        _recurrentBiases = _cellTensors.Select(t => t[3]).ToArray();
        Head = new OutputHead<T>(Directions * StateSize, options.OutputSize, options.OutputActivation);

        // The parameter table: PyTorch's state_dict (embedding.weight first when V > 0), or the layer's W_x, W_h, W_y, b_h,
        // b_y (b_hh stays a zero array).
        NetworkTensor[] table = NetworkTensors.Parameters(options, fusedBias);
        _tensorIndex = Enumerable.Range(0, count).Select(_ => Enumerable.Repeat(-1, description.Tensors.Count).ToArray()).ToArray();
        var tensors = new Memory<T>[table.Length];
        for (int i = 0; i < table.Length; i++)
        {
            NetworkTensor tensor = table[i];
            if (tensor.IsEmbedding)
            {
                // V x E column-major: token v's vector at v, v + V, …
                _embedding = new T[Guard.ElementCount<T>(tensor.Rows, tensor.Columns, tensor.Name)];
                tensors[i] = _embedding;
            }
            else if (tensor.IsHead)
            {
                tensors[i] = tensor.Index == 0 ? Head.Weight : Head.Bias;
                if (tensor.Index == 0)
                {
                    HeadWeightIndex = i;
                }
                else
                {
                    HeadBiasIndex = i;
                }
            }
            else
            {
                tensors[i] = _cellTensors[tensor.LayerDirection][tensor.Index];
                _tensorIndex[tensor.LayerDirection][tensor.Index] = i;
            }
        }

        ParameterNames = table.Select(t => t.Name).ToArray();
        _shapes = table.Select(t => ((int)t.Rows, (int)t.Columns)).ToArray();

        _index = ParameterNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
        Parameters = new TensorSet<T>(ParameterNames, tensors);

        _random = new SeededRandom(options.Seed);
        for (int i = 0; i < Parameters.Count; i++)
        {
            // Every tensor in table order from one generator: the embedding from N(0, 1) (nn.Embedding's), the rest U(−b, b).
            Span<T> tensor = Parameters[i];
            bool normal = table[i].IsEmbedding;
            double bound = table[i].Bound;
            for (int e = 0; e < tensor.Length; e++)
            {
                tensor[e] = T.CreateTruncating(normal ? _random.NextGaussian() : _random.NextUniform(-bound, bound));
            }
        }

        if (options.PaddingId is int paddingId)
        {
            ClearEmbeddingRow(_embedding, paddingId);
        }
    }

    /// <summary>The options the model was built with.</summary>
    public RecurrentModelOptions Options { get; }

    /// <summary>Input size I.</summary>
    public int InputSize => Options.InputSize;

    /// <summary>Hidden size H of each direction.</summary>
    public int HiddenSize => Options.HiddenSize;

    /// <summary>The size of h: H, or P for an LSTM with projections (the cell's description says it: <see cref="CellDescription.StateSize"/>).</summary>
    internal int StateSize { get; }

    /// <summary>Output size O.</summary>
    public int OutputSize => Options.OutputSize;

    /// <summary>L, the number of stacked layers.</summary>
    public int Layers => Options.Layers;

    /// <summary>D, 2 for a bidirectional model, else 1.</summary>
    public int Directions => Options.Bidirectional ? 2 : 1;

    /// <summary>V, the embedding's number of tokens, or 0 when the network has no embedding (see <see cref="RecurrentModelOptions.VocabularySize"/>).</summary>
    public int VocabularySize => Options.VocabularySize;

    /// <summary>True when an embedding table sits in front of layer 0: the network then reads token ids only.</summary>
    public bool HasEmbedding => Options.VocabularySize > 0;

    /// <summary>
    /// Every parameter as one <see cref="TensorSet{T}"/> over the live storage, named and ordered as PyTorch's
    /// <c>state_dict</c>, for optimizers and clipping: <c>optimizer.Step(model.Parameters, gradients.ParameterGradients)</c>.
    /// </summary>
    public TensorSet<T> Parameters { get; }

    /// <summary>
    /// The most threads one matrix product of this model's forward pass and BPTT may use (the calling thread included),
    /// or null (the default) for the process-wide <see cref="RnnCoreSettings.MaxDegreeOfParallelism"/>. A
    /// <see cref="RnnCoreSettings.UseDegreeOfParallelism"/> scope on the calling thread takes precedence. Results are
    /// bit-identical for every value. Set it between calls, not while a pass is running.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int? MaxDegreeOfParallelism
    {
        get => _maxDegreeOfParallelism;
        set
        {
            if (value is int degree)
            {
                RnnCoreSettings.RequireDegree(degree, nameof(value));
            }

            _maxDegreeOfParallelism = value;
        }
    }

    internal string[] ParameterNames { get; }

    /// <summary>
    /// The dropout generator's four words of xoshiro256** state, for model files and checkpoints: a model loaded from a
    /// file draws the same masks as the one that was saved. Setting it checks the words (not all zero).
    /// </summary>
    internal ulong[] RandomState
    {
        get => _random.GetState();
        set => _random = SeededRandom.FromState(value);
    }

    internal RecurrentCell<T> Cell { get; }

    /// <summary>Where in the stack a message points: nothing for one layer in one direction, else " (layer k, forward/reverse direction)".</summary>
    internal string Where(int layer, int direction) =>
        Layers * Directions == 1 ? string.Empty : $" (layer {layer}, {(direction == 0 ? "forward" : "reverse")} direction)";

    /// <summary>What messages call this network: "layer" for a <see cref="RecurrentLayer{T}"/>, else "model".</summary>
    internal string Noun => FusedBias ? "layer" : "model";

    /// <summary>True when each layer-direction has one hidden bias b_h instead of b_ih and b_hh (the vanilla layer).</summary>
    internal bool FusedBias { get; }

    /// <summary>The <see cref="Parameters"/> index of the head's weight W_y.</summary>
    internal int HeadWeightIndex { get; }

    /// <summary>The <see cref="Parameters"/> index of the head's bias b_y.</summary>
    internal int HeadBiasIndex { get; }

    internal OutputHead<T> Head { get; }

    /// <summary>
    /// The parameter named <paramref name="name"/> (a PyTorch <c>state_dict</c> name) as a live matrix over its storage:
    /// rows x cols for a weight, n x 1 for a bias. Writing to it changes the model.
    /// </summary>
    /// <param name="name">E.g. <c>"rnn.weight_ih_l0"</c>, <c>"rnn.bias_hh_l1_reverse"</c>, <c>"head.weight"</c>.</param>
    /// <exception cref="ArgumentException">The model has no parameter of that name (the message lists them).</exception>
    public Matrix<T> Parameter(string name) => View(Parameters, name);

    /// <summary>Allocates a cache for forward passes of <paramref name="steps"/> steps over <paramref name="batch"/> sequences.</summary>
    /// <param name="steps">T, positive.</param>
    /// <param name="batch">B, positive.</param>
    public ForwardCache<T> CreateCache(int steps, int batch) => new(this, steps, batch);

    /// <summary>Allocates gradient buffers for BPTT over <paramref name="steps"/> steps and <paramref name="batch"/> sequences.</summary>
    /// <param name="steps">T, positive.</param>
    /// <param name="batch">B, positive.</param>
    public RecurrentGradients<T> CreateGradients(int steps, int batch) => new(this, steps, batch);

    /// <summary>Runs an inference forward pass (no dropout) into a new cache. See the overload with a cache.</summary>
    /// <param name="inputs">T matrices, each I x B.</param>
    /// <param name="initialHidden">h_0: L·D matrices of H x B (P x B with projections; index layer·D + direction); zeros when null.</param>
    /// <param name="initialCell">c_0 for LSTM, as <paramref name="initialHidden"/>; zeros when null.</param>
    /// <returns>The filled cache.</returns>
    public ForwardCache<T> Forward(
        IReadOnlyList<Matrix<T>> inputs, IReadOnlyList<Matrix<T>>? initialHidden = null, IReadOnlyList<Matrix<T>>? initialCell = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0)
        {
            throw new ArgumentException("inputs is empty; a sequence needs at least one step.", nameof(inputs));
        }

        Matrix<T> first = inputs[0] ?? throw new ArgumentNullException(nameof(inputs), "inputs[0] is null.");
        RequireDenseInput(nameof(inputs));
        ForwardCache<T> cache = CreateCache(inputs.Count, first.ColumnCount);
        Forward(inputs, cache, initialHidden, initialCell);
        return cache;
    }

    /// <summary>Runs an inference forward pass over one sequence (B = 1) into a new cache.</summary>
    /// <param name="sequence">T input vectors of length I; finite.</param>
    /// <param name="initialHidden">h_0: L·D vectors of length H (P with projections; index layer·D + direction); zeros when null.</param>
    /// <returns>The filled cache, with <see cref="ForwardCache{T}.Batch"/> = 1.</returns>
    public ForwardCache<T> Forward(IReadOnlyList<MathNet.Numerics.LinearAlgebra.Vector<T>> sequence, IReadOnlyList<MathNet.Numerics.LinearAlgebra.Vector<T>>? initialHidden = null)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (sequence.Count == 0)
        {
            throw new ArgumentException("sequence is empty; a sequence needs at least one step.", nameof(sequence));
        }

        int count = Layers * Directions;
        if (initialHidden is not null && initialHidden.Count != count)
        {
            throw new ArgumentException(
                $"initialHidden has {initialHidden.Count} vectors but this {Noun} has {Layers} layer(s) x {Directions} direction(s); expected {count} (index layer·D + direction).", nameof(initialHidden));
        }

        RequireDenseInput(nameof(sequence));
        ForwardCache<T> cache = CreateCache(sequence.Count, 1);
        cache.IdInput = false;
        for (int t = 0; t < sequence.Count; t++)
        {
            Guard.CopyVector(sequence[t], InputSize, cache.Inputs.AsSpan(t * InputSize, InputSize), nameof(sequence), t, "inputSize");
        }

        for (int ld = 0; ld < count; ld++)
        {
            Span<T> h0 = cache.StateBlock(cache.Hiddens[ld], 0);
            if (initialHidden is null)
            {
                h0.Clear();
            }
            else
            {
                Guard.CopyVector(initialHidden[ld], StateSize, h0, nameof(initialHidden), ld, StateSize == HiddenSize ? "hiddenSize" : "projectionSize");
            }

            if (Cell.HasCellState)
            {
                cache.StateBlock(cache.Cells[ld], 0).Clear();
            }
        }

        cache.HasLengths = false;
        cache.Lengths[0] = sequence.Count;
        ForwardCore(cache, dropout: false);
        return cache;
    }

    /// <summary>
    /// Runs the forward pass over B sequences of T steps, overwriting <paramref name="cache"/>: every layer and direction
    /// in turn, then the head at every position. A steady-state call allocates nothing.
    /// </summary>
    /// <param name="inputs">T matrices, each I x B (column b is sequence b's input); finite (padded entries too).</param>
    /// <param name="cache">A cache from <see cref="CreateCache"/> of this model for exactly T steps and B sequences.</param>
    /// <param name="initialHidden">h_0: L·D matrices of H x B (P x B with projections), index layer·D + direction; zeros when null.</param>
    /// <param name="initialCell">c_0 (LSTM only), as <paramref name="initialHidden"/>; zeros when null.</param>
    /// <param name="lengths">
    /// B lengths in 1..T for a padded batch (PyTorch's packed sequences): positions t ≥ lengths[b] are padding, the reverse
    /// direction starts at each sequence's own last real step, the final states are each sequence's own, and the padded
    /// outputs are zero. Null for full-length sequences.
    /// </param>
    /// <param name="training">
    /// True for a training pass: dropout (p &gt; 0, L ≥ 2) masks every layer's output except the last with fresh masks
    /// from the model's generator. False (inference) applies none.
    /// </param>
    /// <exception cref="ArgumentException">An argument's shape, count or value is wrong (the message names it, the expected and the actual value); the model and its generator are unchanged.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produced a NaN or infinity (reported at the first position where it appeared).</exception>
    public void Forward(
        IReadOnlyList<Matrix<T>> inputs, ForwardCache<T> cache, IReadOnlyList<Matrix<T>>? initialHidden = null,
        IReadOnlyList<Matrix<T>>? initialCell = null, IReadOnlyList<int>? lengths = null, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        RequireCache(cache, nameof(cache));
        if (inputs.Count != cache.Steps)
        {
            throw new ArgumentException($"inputs has {inputs.Count} steps but cache was created for {cache.Steps}; create a cache with CreateCache({inputs.Count}, batch).", nameof(inputs));
        }

        RequireDenseInput(nameof(inputs));
        ValidateStates(initialHidden, initialCell, cache.Batch);
        ValidateLengths(lengths, cache.Batch, inputs.Count);
        cache.Owner = null;
        cache.IdInput = false;
        int block = InputSize * cache.Batch;
        for (int t = 0; t < inputs.Count; t++)
        {
            Guard.CopyMatrix(inputs[t], InputSize, cache.Batch, cache.Inputs.AsSpan(t * block, block), nameof(inputs), t, "inputSize x batch");
        }

        CopyStates(cache, initialHidden, initialCell);
        cache.HasLengths = lengths is not null;
        for (int b = 0; b < cache.Batch; b++)
        {
            cache.Lengths[b] = lengths is null ? cache.Steps : lengths[b];
        }

        bool dropout = training && Options.Dropout > 0 && Layers > 1;
        if (dropout)
        {
            DrawDropoutMasks(cache);
        }

        ForwardCore(cache, dropout);
    }

    /// <summary>Checks h_0 and c_0 (count L·D, each H x B, finite) without copying them.</summary>
    internal void ValidateStates(IReadOnlyList<Matrix<T>>? initialHidden, IReadOnlyList<Matrix<T>>? initialCell, int batch)
    {
        if (initialCell is not null && !Cell.HasCellState)
        {
            throw new ArgumentException($"initialCell was given but a {Options.Cell} cell has no cell state; expected null.", nameof(initialCell));
        }

        ValidateStateList(initialHidden, nameof(initialHidden), batch, StateSize);
        ValidateStateList(initialCell, nameof(initialCell), batch, HiddenSize);
    }

    private void ValidateStateList(IReadOnlyList<Matrix<T>>? states, string name, int batch, int rows)
    {
        int count = Layers * Directions;
        if (states is null)
        {
            return;
        }

        if (states.Count != count)
        {
            throw new ArgumentException(
                $"{name} has {states.Count} matrices but this model has {Layers} layer(s) x {Directions} direction(s); expected {count} (index layer·D + direction).", name);
        }

        for (int i = 0; i < count; i++)
        {
            Guard.ValidateMatrix(states[i], rows, batch, name, i, StateShape(rows));
        }
    }

    /// <summary>How messages name a state's shape: H x B, or P x B for h of a projected LSTM.</summary>
    private string StateShape(int rows) => rows == HiddenSize ? "hiddenSize x batch" : "projectionSize x batch";

    /// <summary>Copies h_0 and c_0 (or zeros) into block 0 of every layer-direction's state slabs.</summary>
    internal void CopyStates(ForwardCache<T> cache, IReadOnlyList<Matrix<T>>? initialHidden, IReadOnlyList<Matrix<T>>? initialCell)
    {
        for (int ld = 0; ld < cache.Hiddens.Length; ld++)
        {
            Span<T> h0 = cache.StateBlock(cache.Hiddens[ld], 0);
            if (initialHidden is null)
            {
                h0.Clear();
            }
            else
            {
                Guard.CopyMatrix(initialHidden[ld], StateSize, cache.Batch, h0, nameof(initialHidden), ld, StateShape(StateSize));
            }

            if (Cell.HasCellState)
            {
                Span<T> c0 = cache.StateBlock(cache.Cells[ld], 0);
                if (initialCell is null)
                {
                    c0.Clear();
                }
                else
                {
                    Guard.CopyMatrix(initialCell[ld], HiddenSize, cache.Batch, c0, nameof(initialCell), ld, "hiddenSize x batch");
                }
            }
        }
    }

    /// <summary>
    /// Draws inverted-dropout masks for every layer below the top: each element kept with probability 1 − p and then
    /// scaled by 1/(1 − p) (so the expected value of a masked output is the output), dropped (0) with probability p.
    /// </summary>
    internal void DrawDropoutMasks(ForwardCache<T> cache)
    {
        double p = Options.Dropout;
        T scale = T.One / T.CreateTruncating(1 - p);
        for (int k = 0; k < Layers - 1; k++)
        {
            Span<T> mask = cache.DropoutMasks[k].AsSpan(0, Directions * StateSize * cache.Columns);
            for (int i = 0; i < mask.Length; i++)
            {
                mask[i] = _random.NextDouble() < p ? T.Zero : scale;
            }
        }
    }

    /// <summary>
    /// The forward pass proper, once the cache holds the inputs, the initial states, the lengths and (when
    /// <paramref name="dropout"/>) the masks.
    /// </summary>
    internal void ForwardCore(ForwardCache<T> cache, bool dropout)
    {
        using RnnCoreSettings.ParallelismScope parallelism = RnnCoreSettings.UseModelDegree(MaxDegreeOfParallelism);
        int d = Directions;
        int b = cache.Batch;
        cache.DropoutApplied = dropout;
        int columns = cache.Columns;
        int outputRows = d * StateSize;
        if (cache.IdInput && HasEmbedding)
        {
            GatherEmbedding(cache);
        }

        ReadOnlySpan<T> layerInput = cache.Inputs;
        int inputRows = InputSize;
        for (int k = 0; k < Layers; k++)
        {
            Span<T> output = cache.LayerOutput(k);
            for (int dir = 0; dir < d; dir++)
            {
                UnrollDirection(cache, k, dir, layerInput, inputRows);
            }

            // The next layer reads this one's output, masked while training: x' = o ⊙ m, m ∈ {0, 1/(1 − p)}.
            if (k < Layers - 1 && dropout)
            {
                Span<T> dropped = cache.DroppedOutputs[k].AsSpan(0, outputRows * columns);
                System.Numerics.Tensors.TensorPrimitives.Multiply<T>(output, cache.DropoutMasks[k].AsSpan(0, outputRows * columns), dropped);
                layerInput = dropped;
            }
            else
            {
                layerInput = output;
            }

            inputRows = outputRows;
        }

        Head.Forward(
            cache.LayerOutput(Layers - 1), cache.Logits.AsSpan(0, OutputSize * columns), cache.LogSumExps.AsSpan(0, columns),
            cache.InverseSums.AsSpan(0, columns), cache.OutputScratch, b);
        cache.Owner = this;
    }

    /// <summary>
    /// One layer-direction over all steps: u = W_ih x + b_ih for all T·B columns in one GEMM (in processing order), then
    /// the time loop with only v = W_hh h + b_hh (W_hh packed once) and the cell step inside, then, with two directions,
    /// the states scattered into the layer's output by position (one direction's output is its state slab).
    /// </summary>
    private void UnrollDirection(ForwardCache<T> cache, int k, int dir, ReadOnlySpan<T> layerInput, int inputRows)
    {
        int h = HiddenSize;
        int hs = StateSize;
        int d = Directions;
        int b = cache.Batch;
        int steps = cache.Steps;
        int columns = steps * b;
        int ld = (k * d) + dir;
        int gh = Cell.Gates * h;
        T one = T.One;
        ReadOnlySpan<int> lengths = cache.Lengths;

        // u in its own slab, or (ProjectionsInState) in the state slab's blocks 1..T, where each step's h' replaces it.
        (T[] projections, int projectionOffset) = cache.ProjectionSlab(ld);
        Span<T> u = projections.AsSpan(projectionOffset, gh * columns);
        if (k == 0 && cache.IdInput && !HasEmbedding)
        {
            // Ids without an embedding: u = W_ih e_id + b_ih is a column of W_ih plus b_ih (RecurrentModel.Tokens).
            GatherInputProjection(cache, ld, dir, u);
        }
        else
        {
            // The reverse direction reads its input in its own processing order.
            ReadOnlySpan<T> x = layerInput.Slice(0, inputRows * columns);
            if (dir == 1)
            {
                Span<T> reversed = cache.ReversedInputs[ld].AsSpan(0, inputRows * columns);
                SequenceOrder.Reverse(x, reversed, inputRows, steps, lengths);
                x = reversed;
            }

            ColumnBlocks.BroadcastColumns<T>(_inputBiases[ld], u);
            Gemm.Multiply(false, false, gh, columns, inputRows, one, _inputWeights[ld], gh, x, inputRows, one, u, gh);
        }

        PackedMatrix<T> packed = cache.PackedRecurrentWeights;
        packed.Pack(false, _recurrentWeights[ld], gh);
        T[] hiddens = cache.Hiddens[ld];
        T[] cells = cache.Cells[ld];
        bool keepV = Cell.KeepsRecurrentProjection;
        for (int s = 0; s < steps; s++)
        {
            Span<T> v = cache.RecurrentProjections[ld].AsSpan((keepV ? s : 0) * gh * b, gh * b);
            ReadOnlySpan<T> hPrev = cache.StateBlock(hiddens, s);
            Span<T> hNext = cache.StateBlock(hiddens, s + 1);
            Span<T> cNext = Cell.HasCellState ? cache.StateBlock(cells, s + 1) : default;

            // v = W_hh h + b_hh, the only product inside the loop, with the cell step fused into its epilogue.
            ColumnBlocks.BroadcastColumns<T>(_recurrentBiases[ld], v);
            var step = new CellStepEpilogue<T>(Cell, projections, projectionOffset + (s * gh * b), hiddens, cells, s, b, h, hs, OwnWeights(ld));
            long badProduct = Gemm.Multiply(packed, false, b, one, hPrev, hs, one, v, gh, ref step);
            if (badProduct >= 0)
            {
                int sequence = (int)(badProduct / gh);
                throw new NonFiniteValueException(
                    $"{Cell.RecurrentProductQuantity}{Where(k, dir)}",
                    dir == 0 ? s : Math.Max(lengths[sequence] - 1 - s, 0), $"row {badProduct % gh}, sequence {sequence}");
            }

            // Padding (s ≥ length_b) holds zeros: in processing order it follows the sequence's last real step, so nothing
            // real reads it, and a forward direction's state slab is then the layer's output as PyTorch pads it. The final
            // state is read from block length_b (ForwardCache.FinalState).
            if (cache.HasLengths)
            {
                for (int j = 0; j < b; j++)
                {
                    if (s >= lengths[j])
                    {
                        hNext.Slice(j * hs, hs).Clear();
                        if (Cell.HasCellState)
                        {
                            cNext.Slice(j * h, h).Clear();
                        }
                    }
                }
            }

            int bad = Guard.IndexOfNonFinite<T>(hNext);
            int rows = hs;
            if (bad < 0 && Cell.HasCellState)
            {
                bad = Guard.IndexOfNonFinite<T>(cNext);
                rows = h;
            }

            if (bad >= 0)
            {
                int sequence = bad / rows;
                int position = dir == 0 ? s : lengths[sequence] - 1 - s;
                throw new NonFiniteValueException(
                    $"{Cell.StateQuantity}{Where(k, dir)}", position, $"row {bad % rows}, sequence {sequence}");
            }
        }

        // Two directions: o_t by position, rows dir·H … dir·H+H−1 of the layer's output; zero at padded positions.
        if (d == 1)
        {
            return;
        }

        Span<T> output = cache.LayerOutputs[k];
        int outRows = d * hs;
        for (int t = 0; t < steps; t++)
        {
            for (int j = 0; j < b; j++)
            {
                Span<T> to = output.Slice((((t * b) + j) * outRows) + (dir * hs), hs);
                if (t >= lengths[j])
                {
                    to.Clear();
                    continue;
                }

                int s = dir == 0 ? t : lengths[j] - 1 - t;
                hiddens.AsSpan((((s + 1) * b) + j) * hs, hs).CopyTo(to);
            }
        }
    }

    /// <summary>Throws unless <paramref name="cache"/> was created for a model of exactly this shape.</summary>
    internal void RequireCache(ForwardCache<T> cache, string paramName)
    {
        ArgumentNullException.ThrowIfNull(cache, paramName);
        RequireSameShape(cache.Options, paramName, "cache");
    }

    /// <summary>Throws unless <paramref name="other"/> describes the same cell, layers, directions and sizes.</summary>
    internal void RequireSameShape(RecurrentModelOptions other, string paramName, string what)
    {
        RecurrentModelOptions o = Options;
        if (other.Cell != o.Cell || other.Layers != o.Layers || other.Bidirectional != o.Bidirectional
            || other.InputSize != o.InputSize || other.HiddenSize != o.HiddenSize || other.OutputSize != o.OutputSize
            || other.VocabularySize != o.VocabularySize || other.PaddingId != o.PaddingId || other.ProjectionSize != o.ProjectionSize)
        {
            throw new ArgumentException(
                $"{what} was created for {Describe(other)} but this model is {Describe(o)}; create it with this model.", paramName);
        }
    }

    internal Matrix<T> View(TensorSet<T> set, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_index.TryGetValue(name, out int i))
        {
            throw new ArgumentException($"name is '{name}' but this model's parameters are: {string.Join(", ", ParameterNames)}.", nameof(name));
        }

        (int rows, int cols) = _shapes[i];
        return Matrix<T>.Build.Dense(rows, cols, (T[])MemoryMarshalArray(set, i));
    }

    internal T[] InputWeights(int ld) => _inputWeights[ld];

    /// <summary>
    /// A network of the same kind and shape in element type <typeparamref name="TOther"/> holding this one's parameters
    /// (converted) and no dropout generator state of its own (for gradient checks in double).
    /// </summary>
    internal RecurrentModel<TOther> Twin<TOther>()
        where TOther : unmanaged, IFloatingPointIeee754<TOther>
    {
        RecurrentModel<TOther> twin = FusedBias
            ? new RecurrentLayer<TOther>(InputSize, HiddenSize, OutputSize, Options.HiddenActivation, Options.OutputActivation)
            : new RecurrentModel<TOther>(Options);
        for (int p = 0; p < Parameters.Count; p++)
        {
            ReadOnlySpan<T> source = Parameters[p];
            Span<TOther> destination = twin.Parameters[p];
            for (int i = 0; i < source.Length; i++)
            {
                destination[i] = TOther.CreateTruncating(source[i]);
            }
        }

        return twin;
    }

    /// <summary>The storage of parameter <paramref name="index"/> (a whole array).</summary>
    internal T[] ParameterArray(int index) => (T[])MemoryMarshalArray(Parameters, index);

    /// <summary>The <see cref="Parameters"/> indices of layer-direction <paramref name="ld"/>'s cell tensors (W_ih, W_hh, b_ih, b_hh, …; −1 for b_hh when fused).</summary>
    internal ReadOnlySpan<int> TensorIndices(int ld) => _tensorIndex[ld];

    internal T[] RecurrentWeights(int ld) => _recurrentWeights[ld];

    /// <summary>
    /// Tensor <paramref name="index"/> of layer-direction <paramref name="ld"/> as the cell describes it (PyTorch's
    /// view): for the fused layer, b_hh is a zero array that no parameter shows and b_ih is b_h.
    /// </summary>
    internal T[] CellTensor(int ld, int index) => _cellTensors[ld][index];

    /// <summary>
    /// The cell's own weight of layer-direction <paramref name="ld"/>: its description's fifth tensor (the projected
    /// LSTM's W_hr), handed to the cell's steps; empty when the cell has four.
    /// </summary>
    internal T[] OwnWeights(int ld) => _cellTensors[ld].Length > 4 ? _cellTensors[ld][4] : [];

    private static string Describe(RecurrentModelOptions o)
        => $"(cell {o.Cell}, layers {o.Layers}, directions {(o.Bidirectional ? 2 : 1)}, I={o.InputSize}, H={o.HiddenSize}{(o.ProjectionSize is int p ? $", P={p}" : string.Empty)}, O={o.OutputSize}{(o.VocabularySize > 0 ? $", V={o.VocabularySize}, padding {o.PaddingId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}" : string.Empty)})";

    private static object MemoryMarshalArray(TensorSet<T> set, int index)
        => System.Runtime.InteropServices.MemoryMarshal.TryGetArray<T>(set.Memory(index), out ArraySegment<T> segment) && segment.Offset == 0
            ? segment.Array!
            : throw new InvalidOperationException("parameter storage is not a whole array.");
}
