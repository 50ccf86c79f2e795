using MathNet.Numerics.LinearAlgebra;
using RnnCore.Activations;
using RnnCore.Internal;
using RnnCore.Kernels;

namespace RnnCore;

/// <summary>
/// A vanilla (Elman) recurrent layer with its output layer, holding the parameters shared by every step:
/// <code>
/// a_t = W_x x_t + W_h h_{t−1} + b_h      h_t = f(a_t),  f ∈ {tanh, relu}
/// z_t = W_y h_t + b_y                    y_t = g(z_t),  g ∈ {identity, sigmoid, softmax}
/// </code>
/// <see cref="Forward(IReadOnlyList{Matrix{T}}, ForwardCache{T}, Matrix{T})"/> unrolls the recurrence over a batch of
/// sequences into a <see cref="ForwardCache{T}"/>; <see cref="Bptt{T}"/> walks that cache back to gradients.
/// </summary>
/// <remarks>
/// <para>
/// Shapes: W_x is H x I, W_h is H x H, W_y is O x H, b_h has length H, b_y length O (one hidden bias: PyTorch's
/// <c>bias_ih + bias_hh</c>). A batch holds B independent sequences; the input at a step is an I x B matrix, one column per
/// sequence, so that <c>W_x x_t</c> is a plain matrix product.
/// </para>
/// <para>
/// The parameter properties are the live storage, not copies: changing an element of <see cref="Wx"/> changes the layer.
/// Thread safety: <c>Forward</c> only reads the parameters, so any number of threads may call it at once, each with its
/// own <see cref="ForwardCache{T}"/>. Updating the parameters (an optimizer step, or writing to them) must not overlap
/// with any other call.
/// </para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>; any other type is refused.</typeparam>
public sealed partial class RecurrentLayer<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    /// <summary>The names of the five parameters, in the order of <see cref="Parameters"/>.</summary>
    internal static readonly string[] ParameterNames = ["Wx", "Wh", "Wy", "Bh", "By"];

    // The parameters' storage: MathNet's dense column-major layout, element (i, j) of a rows x cols matrix at i + j·rows.
    private readonly T[] _wx; // [H, I]
    private readonly T[] _wh; // [H, H]
    private readonly T[] _wy; // [O, H]
    private readonly T[] _bh; // [H]
    private readonly T[] _by; // [O]
    private int? _maxDegreeOfParallelism;

    /// <summary>
    /// Creates a layer with PyTorch's default initialization: every parameter drawn from U(−1/√H, 1/√H) by RnnCore's own
    /// seeded generator, in the order W_x, W_h, W_y, b_h, b_y (each in column-major order), so that the same seed gives
    /// bit-identical weights on every machine.
    /// </summary>
    /// <param name="inputSize">I, the length of each input vector x_t; positive.</param>
    /// <param name="hiddenSize">H, the length of the hidden state h_t; positive.</param>
    /// <param name="outputSize">O, the length of each output y_t (the number of classes for softmax); positive.</param>
    /// <param name="hiddenActivation">f: tanh (default) or ReLU.</param>
    /// <param name="outputActivation">g, which also chooses the loss: softmax (default, cross-entropy), sigmoid (binary cross-entropy) or identity (squared error).</param>
    /// <param name="seed">Seed of the initialization.</param>
    /// <exception cref="NotSupportedException">T is neither float nor double.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, an activation is not a defined value, or a softmax output has fewer than 2 classes (one binary output is <see cref="OutputActivation.Sigmoid"/>).</exception>
    public RecurrentLayer(
        int inputSize,
        int hiddenSize,
        int outputSize,
        HiddenActivation hiddenActivation = HiddenActivation.Tanh,
        OutputActivation outputActivation = OutputActivation.Softmax,
        int seed = 0)
    {
        Guard.RequireSupportedElementType<T>();
        Guard.Positive(inputSize, nameof(inputSize));
        Guard.Positive(hiddenSize, nameof(hiddenSize));
        Guard.Positive(outputSize, nameof(outputSize));
        if (!Enum.IsDefined(hiddenActivation))
        {
            throw new ArgumentOutOfRangeException(nameof(hiddenActivation), hiddenActivation, "expected Tanh or Relu.");
        }

        if (!Enum.IsDefined(outputActivation))
        {
            throw new ArgumentOutOfRangeException(nameof(outputActivation), outputActivation, "expected Identity, Sigmoid or Softmax.");
        }

        if (outputActivation == OutputActivation.Softmax && outputSize < 2)
        {
            // softmax over one output is exp(z)/exp(z) = 1 whatever z: the loss is 0 and nothing is learned.
            throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize, SoftmaxNeedsTwoClasses(outputSize));
        }

        InputSize = inputSize;
        HiddenSize = hiddenSize;
        OutputSize = outputSize;
        HiddenActivation = hiddenActivation;
        OutputActivation = outputActivation;

        const string smaller = "Use a smaller hiddenSize, inputSize or outputSize.";
        _wx = new T[Guard.ElementCount<T>(hiddenSize, inputSize, "Wx", smaller)];
        _wh = new T[Guard.ElementCount<T>(hiddenSize, hiddenSize, "Wh", smaller)];
        _wy = new T[Guard.ElementCount<T>(outputSize, hiddenSize, "Wy", smaller)];
        _bh = new T[hiddenSize];
        _by = new T[outputSize];

        // PyTorch's nn.RNN and nn.Linear(H, O) both draw from U(−k, k) with k = 1/√H.
        var random = new SeededRandom(seed);
        double bound = 1.0 / Math.Sqrt(hiddenSize);
        foreach (T[] parameter in new[] { _wx, _wh, _wy, _bh, _by })
        {
            for (int i = 0; i < parameter.Length; i++)
            {
                parameter[i] = T.CreateTruncating(random.NextUniform(-bound, bound));
            }
        }

        Wx = Matrix<T>.Build.Dense(hiddenSize, inputSize, _wx);
        Wh = Matrix<T>.Build.Dense(hiddenSize, hiddenSize, _wh);
        Wy = Matrix<T>.Build.Dense(outputSize, hiddenSize, _wy);
        Bh = Vector<T>.Build.Dense(_bh);
        By = Vector<T>.Build.Dense(_by);
        Parameters = new TensorSet<T>(ParameterNames, [_wx, _wh, _wy, _bh, _by]);
    }

    /// <summary>Input size I.</summary>
    public int InputSize { get; }

    /// <summary>Hidden size H.</summary>
    public int HiddenSize { get; }

    /// <summary>Output size O.</summary>
    public int OutputSize { get; }

    /// <summary>The hidden activation f.</summary>
    public HiddenActivation HiddenActivation { get; }

    /// <summary>The output activation g (which also determines the loss).</summary>
    public OutputActivation OutputActivation { get; }

    /// <summary>W_x, the input-to-hidden weights, [hiddenSize, inputSize]. Live storage.</summary>
    public Matrix<T> Wx { get; }

    /// <summary>W_h, the hidden-to-hidden (recurrent) weights, [hiddenSize, hiddenSize]. Live storage.</summary>
    public Matrix<T> Wh { get; }

    /// <summary>W_y, the hidden-to-output weights, [outputSize, hiddenSize]. Live storage.</summary>
    public Matrix<T> Wy { get; }

    /// <summary>b_h, the hidden bias, [hiddenSize]. Live storage.</summary>
    public Vector<T> Bh { get; }

    /// <summary>b_y, the output bias, [outputSize]. Live storage.</summary>
    public Vector<T> By { get; }

    /// <summary>
    /// The five parameters as one <see cref="TensorSet{T}"/> over the live storage, in the order W_x, W_h, W_y, b_h, b_y,
    /// for optimizers: <c>optimizer.Step(layer.Parameters, gradients.ParameterGradients)</c>.
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

    /// <summary>Allocates a cache for forward passes of <paramref name="steps"/> steps over <paramref name="batch"/> sequences.</summary>
    /// <param name="steps">T, positive.</param>
    /// <param name="batch">B, positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the cache would not fit in .NET arrays (the message says how much memory it would need).</exception>
    public ForwardCache<T> CreateCache(int steps, int batch) => new(InputSize, HiddenSize, OutputSize, steps, batch);

    /// <summary>Allocates gradient buffers for BPTT over <paramref name="steps"/> steps and <paramref name="batch"/> sequences.</summary>
    /// <param name="steps">T, positive.</param>
    /// <param name="batch">B, positive.</param>
    public RecurrentGradients<T> CreateGradients(int steps, int batch) => new(InputSize, HiddenSize, OutputSize, steps, batch);

    /// <summary>Runs the forward pass over a batch into a new cache. See <see cref="Forward(IReadOnlyList{Matrix{T}}, ForwardCache{T}, Matrix{T})"/>.</summary>
    /// <param name="inputs">One I x B matrix per step.</param>
    /// <param name="initialHidden">h_0, H x B; zeros when null.</param>
    /// <returns>The filled cache.</returns>
    public ForwardCache<T> Forward(IReadOnlyList<Matrix<T>> inputs, Matrix<T>? initialHidden = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        RequireSteps(inputs.Count, nameof(inputs));
        Matrix<T> first = inputs[0] ?? throw new ArgumentNullException(nameof(inputs), "inputs[0] is null.");
        ForwardCache<T> cache = CreateCache(inputs.Count, first.ColumnCount);
        Forward(inputs, cache, initialHidden);
        return cache;
    }

    /// <summary>
    /// Runs the forward pass over B sequences of T steps, overwriting <paramref name="cache"/>:
    /// <c>a_t = W_x x_t + W_h h_{t−1} + b_h</c>, <c>h_t = f(a_t)</c>, <c>y_t = g(W_y h_t + b_y)</c> for t = 1..T.
    /// A steady-state call allocates nothing.
    /// </summary>
    /// <param name="inputs">T matrices, each I x B (column b is sequence b's input); finite.</param>
    /// <param name="cache">A cache from <see cref="CreateCache"/> for exactly T steps and B sequences.</param>
    /// <param name="initialHidden">h_0, H x B; zeros when null.</param>
    /// <exception cref="ArgumentException">A shape differs from the layer's (the message names the argument, the expected and the actual shape), or a value is NaN or infinite. The cache is left unfilled.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produced a NaN or infinity (reported at the first step where it appeared).</exception>
    public void Forward(IReadOnlyList<Matrix<T>> inputs, ForwardCache<T> cache, Matrix<T>? initialHidden = null)
        => Forward(inputs, cache, initialHidden, null);

    /// <summary>
    /// Runs the forward pass over a padded batch of variable-length sequences (like PyTorch's packed sequences or Keras
    /// masking): sequence b has <c>lengths[b]</c> real steps, and for its padded steps t ≥ lengths[b] the hidden state is
    /// carried unchanged, <c>h_t = h_{t−1}</c>, so <see cref="ForwardCache{T}.FinalHidden"/> holds each sequence's state
    /// after its own last step. <see cref="Bptt{T}"/> then scores only real steps (with <see cref="LossPlacement.LastStep"/>,
    /// each sequence's own last step) and sends no gradient through padding. With <paramref name="lengths"/> null this
    /// is exactly <see cref="Forward(IReadOnlyList{Matrix{T}}, ForwardCache{T}, Matrix{T})"/>.
    /// </summary>
    /// <param name="inputs">T matrices, each I x B; the padded entries must be finite and are ignored.</param>
    /// <param name="cache">A cache from <see cref="CreateCache"/> for exactly T steps and B sequences.</param>
    /// <param name="initialHidden">h_0, H x B; zeros when null.</param>
    /// <param name="lengths">B lengths, each in 1..T; null for a batch of full-length sequences.</param>
    /// <exception cref="ArgumentException">A shape differs from the layer's, a value is NaN or infinite, or a length is out of range.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produced a NaN or infinity at a real step.</exception>
    public void Forward(IReadOnlyList<Matrix<T>> inputs, ForwardCache<T> cache, Matrix<T>? initialHidden, IReadOnlyList<int>? lengths)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        RequireCache(cache, inputs.Count, nameof(inputs));
        if (lengths is not null)
        {
            if (lengths.Count != cache.Batch)
            {
                throw new ArgumentException($"lengths has {lengths.Count} entries but the batch holds {cache.Batch} sequences.", nameof(lengths));
            }

            for (int b = 0; b < lengths.Count; b++)
            {
                if (lengths[b] < 1 || lengths[b] > inputs.Count)
                {
                    throw new ArgumentOutOfRangeException(
                        nameof(lengths), lengths[b], $"lengths[{b}] is {lengths[b]} but must be in [1, {inputs.Count}] (the number of steps).");
                }
            }
        }

        cache.Owner = null;
        int block = InputSize * cache.Batch;
        for (int t = 0; t < inputs.Count; t++)
        {
            Guard.CopyMatrix(
                inputs[t], InputSize, cache.Batch, cache.Inputs.AsSpan(t * block, block), nameof(inputs), t, "inputSize x batch");
        }

        if (initialHidden is null)
        {
            cache.HiddenBlock(0).Clear();
        }
        else
        {
            Guard.CopyMatrix(initialHidden, HiddenSize, cache.Batch, cache.HiddenBlock(0), nameof(initialHidden), -1, "hiddenSize x batch");
        }

        cache.HasLengths = lengths is not null;
        for (int b = 0; lengths is not null && b < lengths.Count; b++)
        {
            cache.Lengths[b] = lengths[b];
        }

        ForwardCore(cache);
    }

    /// <summary>Runs the forward pass over one sequence (B = 1) into a new cache.</summary>
    /// <param name="sequence">T input vectors of length I; finite.</param>
    /// <param name="initialHidden">h_0 of length H; zeros when null.</param>
    /// <returns>The filled cache, with <see cref="ForwardCache{T}.Batch"/> = 1.</returns>
    public ForwardCache<T> Forward(IReadOnlyList<Vector<T>> sequence, Vector<T>? initialHidden = null)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        RequireSteps(sequence.Count, nameof(sequence));
        ForwardCache<T> cache = CreateCache(sequence.Count, 1);
        for (int t = 0; t < sequence.Count; t++)
        {
            Guard.CopyVector(sequence[t], InputSize, cache.Inputs.AsSpan(t * InputSize, InputSize), nameof(sequence), t, "inputSize");
        }

        if (initialHidden is null)
        {
            cache.HiddenBlock(0).Clear();
        }
        else
        {
            Guard.CopyVector(initialHidden, HiddenSize, cache.HiddenBlock(0), nameof(initialHidden), -1, "hiddenSize");
        }

        cache.HasLengths = false;
        ForwardCore(cache);
        return cache;
    }

    /// <summary>
    /// The forward pass proper, once the cache holds the inputs (block by step) and h_0 (hidden block 0).
    /// </summary>
    internal void ForwardCore(ForwardCache<T> cache)
    {
        using RnnCoreSettings.ParallelismScope parallelism = RnnCoreSettings.UseModelDegree(MaxDegreeOfParallelism);
        int h = HiddenSize;
        int b = cache.Batch;
        int steps = cache.Steps;
        int columns = steps * b;
        T one = T.One;

        // a_t = b_h + W_x x_t for every step at once: the input projection does not depend on the recurrence, so it
        // leaves the sequential loop as one GEMM over all T·B columns, written straight into the hidden slots 1..T.
        Span<T> preActivations = cache.Hiddens.AsSpan(h * b, h * columns);
        ColumnBlocks.BroadcastColumns<T>(_bh, preActivations);
        Gemm.Multiply(false, false, h, columns, InputSize, one, _wx, h, cache.Inputs, InputSize, one, preActivations, h);

        // W_h is the left operand of every step's product: pack it into the kernel's panel layout once per pass.
        PackedMatrix<T> recurrentWeights = cache.PackedRecurrentWeights;
        recurrentWeights.Pack(false, _wh, h);
        for (int t = 0; t < steps; t++)
        {
            ReadOnlySpan<T> previous = cache.HiddenBlock(t);
            Span<T> current = cache.HiddenBlock(t + 1);

            // a_t += W_h h_{t−1}, the only product that must stay inside the loop, then h_t = f(a_t) in place, fused
            // into the product's epilogue (each thread checks and activates the columns it computed). The backward needs
            // only h_t (tanh' = 1 − h², relu' = [h > 0]), so a_t is not kept. A padded batch activates its real columns
            // and carries the padded ones after the product instead.
            if (cache.HasLengths)
            {
                Gemm.Multiply(recurrentWeights, false, b, one, previous, h, one, current, h);
                ForwardPaddedStep(previous, current, cache.Lengths, t);
                continue;
            }

            long badElement = RecurrentProduct(recurrentWeights, previous, current, b);

            if (badElement >= 0)
            {
                throw new NonFiniteValueException("pre-activation a_t", t, $"row {badElement % h}, sequence {badElement / h}");
            }
        }

        // z_t = W_y h_t + b_y for every step at once. y_t = g(z_t) is not stored: its readers rebuild it from z_t (and, for
        // softmax, the 1 / Σ e^(z − max z) kept here beside the log-sum-exp), which saves an [O, T·B] slab.
        Span<T> logits = cache.Logits.AsSpan(0, OutputSize * columns);
        ColumnBlocks.BroadcastColumns<T>(_by, logits);
        Gemm.Multiply(false, false, OutputSize, columns, h, one, _wy, OutputSize, cache.Hiddens.AsSpan(h * b), h, one, logits, OutputSize);
        int bad = Guard.IndexOfNonFinite<T>(logits);
        if (bad >= 0)
        {
            int column = bad / OutputSize;
            throw new NonFiniteValueException("logit z_t", column / b, $"row {bad % OutputSize}, sequence {column % b}");
        }

        OutputValues.Forward<T>(OutputActivation, logits, OutputSize, cache.LogSumExps.AsSpan(0, columns), cache.InverseSums.AsSpan(0, columns), cache.OutputScratch);
        cache.OutputActivation = OutputActivation;
        cache.Owner = this;
    }

    /// <summary>a_t += W_h h_{t−1}, then h_t = f(a_t) in the product's epilogue; returns the first non-finite a_t element or −1.</summary>
    private long RecurrentProduct(PackedMatrix<T> recurrentWeights, ReadOnlySpan<T> previous, Span<T> current, int batch)
    {
        int h = HiddenSize;
        if (HiddenActivation == HiddenActivation.Tanh)
        {
            var tanh = default(TanhEpilogue<T>);
            return Gemm.Multiply(recurrentWeights, false, batch, T.One, previous, h, T.One, current, h, ref tanh);
        }

        var relu = default(ReluEpilogue<T>);
        return Gemm.Multiply(recurrentWeights, false, batch, T.One, previous, h, T.One, current, h, ref relu);
    }

    /// <summary>Throws unless <paramref name="cache"/> was made by a layer of this shape for <paramref name="steps"/> steps.</summary>
    internal void RequireCache(ForwardCache<T> cache, int steps, string stepsParamName)
    {
        ArgumentNullException.ThrowIfNull(cache);
        RequireSteps(steps, stepsParamName);
        if (cache.InputSize != InputSize || cache.HiddenSize != HiddenSize || cache.OutputSize != OutputSize)
        {
            throw new ArgumentException(
                $"cache was created for sizes (I={cache.InputSize}, H={cache.HiddenSize}, O={cache.OutputSize}) but this layer has " +
                $"(I={InputSize}, H={HiddenSize}, O={OutputSize}); create it with this layer's CreateCache.",
                nameof(cache));
        }

        if (cache.Steps != steps)
        {
            throw new ArgumentException(
                $"{stepsParamName} has {steps} steps but cache was created for {cache.Steps}; create a cache with CreateCache({steps}, batch).",
                stepsParamName);
        }
    }

    /// <summary>Why a softmax output needs O ≥ 2, and what to use instead.</summary>
    internal static string SoftmaxNeedsTwoClasses(int outputSize) =>
        $"a softmax output needs at least 2 classes but outputSize is {outputSize}: softmax over one output is always 1, so the loss is 0 and nothing is learned. " +
        "For one yes/no output use OutputActivation.Sigmoid (binary cross-entropy), for one value OutputActivation.Identity.";

    private static void RequireSteps(int steps, string paramName)
    {
        if (steps == 0)
        {
            throw new ArgumentException($"{paramName} is empty; a sequence needs at least one step.", paramName);
        }
    }
}
