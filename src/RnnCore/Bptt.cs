using System.Numerics;
using System.Numerics.Tensors;
using RnnCore.Activations;
using RnnCore.Internal;
using RnnCore.Kernels;
using RnnCore.Losses;

namespace RnnCore;

/// <summary>
/// Backpropagation through time: walks a <see cref="ForwardCache{T}"/> in reverse and computes the loss and its
/// gradient with respect to the five shared parameters and h_0, plus the norm of dL/dh_t at every step.
/// </summary>
/// <remarks>
/// <para>The chain rule it applies, from the last step back to the first (δ_t = dL/da_t):</para>
/// <code>
/// dL/dz_t = y_t − target_t                      (fused softmax/sigmoid + cross-entropy; 2(z_t − target_t) for squared error)
/// dL/dh_t = W_yᵀ dL/dz_t + W_hᵀ δ_{t+1}         (the second term is the future, reaching back through W_h)
/// δ_t     = dL/dh_t ⊙ f'(a_t)
/// dW_y = Σ dL/dz_t h_tᵀ    dW_x = Σ δ_t x_tᵀ    dW_h = Σ δ_t h_{t−1}ᵀ    db_h = Σ δ_t    db_y = Σ dL/dz_t    dh_0 = W_hᵀ δ_1
/// </code>
/// <para>
/// Only the δ recursion is sequential; the output-layer products and the three weight gradients are GEMMs over many
/// steps at once. The time axis is walked in chunks of about 1024 columns (step, sequence), last chunk first, so the
/// scratch holds one chunk of dL/dz and dL/dh_t rather than the whole sequence, and each weight gradient is summed over
/// the chunks' products. The gradients use the layer's current parameters: call <see cref="Backward(ForwardCache{T}, SequenceTargets{T}, RecurrentGradients{T})"/>
/// after the forward pass and before changing the parameters. A <see cref="Bptt{T}"/> owns scratch buffers that it reuses
/// across calls (a steady-state call allocates nothing), so one instance must not be used by two threads at once.
/// </para>
/// <para>
/// A cache filled with per-sequence lengths (a padded batch) is walked the same way, except that a padded step
/// t ≥ length_b has no loss term, δ_t = 0, and passes dL/dh_t unchanged to h_{t−1} (its forward was h_t = h_{t−1});
/// with <see cref="LossPlacement.LastStep"/> each sequence is scored at its own last step, and
/// <see cref="LossReduction.Mean"/> divides by the real items only. <see cref="RecurrentGradients{T}.DhNorms"/>[t] then
/// covers the sequences for which step t is real.
/// </para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Bptt<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _logitGradient = []; // dL/dz for the scored steps of one time chunk, [O, chunk steps · B]
    private T[] _hiddenGradient = []; // dL/dh_t of one time chunk, turned in place into δ_t = dL/da_t, [H, chunk steps · B]
    private T[] _future = []; // W_hᵀ δ_{t+1}: the gradient the next step sends back to h_t, [H, B]
    private T[] _passThrough = []; // padded batches only: dL/dh_t of padded columns, passed unchanged to h_{t−1}, [H, B]

    /// <summary>Creates BPTT for <paramref name="layer"/> with the given loss placement and reduction.</summary>
    /// <param name="layer">The layer whose caches will be walked.</param>
    /// <param name="placement">Loss at every step (default) or at the last step only.</param>
    /// <param name="reduction">Sum (default) or PyTorch's mean.</param>
    public Bptt(RecurrentLayer<T> layer, LossPlacement placement = LossPlacement.EveryStep, LossReduction reduction = LossReduction.Sum)
    {
        ArgumentNullException.ThrowIfNull(layer);
        BpttChecks<T>.RequireDefined(placement, reduction);

        Layer = layer;
        Placement = placement;
        Reduction = reduction;
    }

    /// <summary>
    /// The columns a time chunk aims for (<see cref="TimeChunks.TargetColumns"/>); tests set it smaller to walk small
    /// problems in many chunks.
    /// </summary>
    internal int ChunkColumns { get; set; } = TimeChunks.TargetColumns;

    /// <summary>The layer this instance differentiates.</summary>
    public RecurrentLayer<T> Layer { get; }

    /// <summary>Where the loss is measured.</summary>
    public LossPlacement Placement { get; }

    /// <summary>How the loss terms are combined.</summary>
    public LossReduction Reduction { get; }

    /// <summary>Computes the loss and new gradient buffers. See <see cref="Backward(ForwardCache{T}, SequenceTargets{T}, RecurrentGradients{T})"/>.</summary>
    /// <param name="cache">A cache filled by <see cref="Layer"/>'s forward pass.</param>
    /// <param name="targets">The targets of the scored steps.</param>
    /// <returns>New gradients (with <see cref="RecurrentGradients{T}.Loss"/> set).</returns>
    public RecurrentGradients<T> Backward(ForwardCache<T> cache, SequenceTargets<T> targets)
    {
        ArgumentNullException.ThrowIfNull(cache);
        RecurrentGradients<T> gradients = Layer.CreateGradients(cache.Steps, cache.Batch);
        Backward(cache, targets, gradients);
        return gradients;
    }

    /// <summary>
    /// Computes the loss and overwrites <paramref name="gradients"/> with dL/dW_x, dL/dW_h, dL/dW_y, dL/db_h, dL/db_y,
    /// dL/dh_0 and the per-step norms of dL/dh_t.
    /// </summary>
    /// <param name="cache">A cache filled by <see cref="Layer"/>'s forward pass.</param>
    /// <param name="targets">Class indices (softmax output) or values (sigmoid, identity) for the scored steps and the cache's B sequences.</param>
    /// <param name="gradients">Buffers from <see cref="RecurrentLayer{T}.CreateGradients"/> for the cache's T and B.</param>
    /// <returns>The loss.</returns>
    /// <exception cref="ArgumentException">The cache, targets or gradients do not match the layer or each other, or a target is out of range. Nothing is written.</exception>
    /// <exception cref="NonFiniteValueException">
    /// The loss, a gradient dL/dh_t (reported at its step) or a weight gradient (summed over all steps, reported with
    /// step −1) became NaN or infinite. The gradients are then partly written and must not be used.
    /// </exception>
    public T Backward(ForwardCache<T> cache, SequenceTargets<T> targets, RecurrentGradients<T> gradients)
    {
        int targetStep0 = Validate(cache, targets);
        ValidateTargetValues(targets);
        ArgumentNullException.ThrowIfNull(gradients);
        if (gradients.Steps != cache.Steps || gradients.Batch != cache.Batch
            || gradients.WxData.Length != Layer.HiddenSize * Layer.InputSize || gradients.WyData.Length != Layer.OutputSize * Layer.HiddenSize)
        {
            throw new ArgumentException(
                $"gradients were created for {gradients.Steps} steps x {gradients.Batch} sequences (or another layer's sizes) but the cache has " +
                $"{cache.Steps} x {cache.Batch}; create them with this layer's CreateGradients({cache.Steps}, {cache.Batch}).",
                nameof(gradients));
        }

        return BackwardCore(cache, targets, targetStep0, gradients);
    }

    /// <summary>
    /// BPTT proper, once everything is validated: <paramref name="targetStep0"/> is the target step that the first scored
    /// step of the cache is compared with (a truncated-BPTT chunk scores a window of a longer target sequence).
    /// </summary>
    internal T BackwardCore(ForwardCache<T> cache, SequenceTargets<T> targets, int targetStep0, RecurrentGradients<T> gradients)
    {
        using RnnCoreSettings.ParallelismScope parallelism = RnnCoreSettings.UseModelDegree(Layer.MaxDegreeOfParallelism);
        int h = Layer.HiddenSize;
        int o = Layer.OutputSize;
        int i = Layer.InputSize;
        int b = cache.Batch;
        int steps = cache.Steps;
        int[]? lengths = cache.HasLengths ? cache.Lengths : null;

        // A padded batch scores a different step of each sequence with LastStep, so it takes dL/dz at every step (zero
        // where nothing is scored) and the output-layer products run over every column of each chunk.
        int firstScored = Placement == LossPlacement.LastStep && lengths is null ? steps - 1 : 0;
        int chunks = TimeChunks.Count(steps, b, ChunkColumns);
        T one = T.One;
        EnsureWorkspace(h, o, TimeChunks.MaxSteps(steps, chunks) * b, b, lengths is not null);

        // The loss, summed in double in step order, apart from the gradients (which are taken chunk by chunk below).
        double loss = lengths is null
            ? ScoredLoss(cache, targets, targetStep0, firstScored)
            : MaskedLoss(cache, targets, targetStep0, lengths);

        // The loss is summed in double; rounded to T it may still overflow (float squared errors past 3.4e38).
        if (!double.IsFinite(loss) || !T.IsFinite(T.CreateTruncating(loss)))
        {
            throw new NonFiniteValueException("loss", -1, $"the sum over the scored steps is {loss:R}, beyond {typeof(T).Name}");
        }

        // W_hᵀ is the left operand of every step's product below: pack it once for all of them, into the cache's panel
        // buffer, whose packed W_h the forward pass is done with (one packed H x H matrix per cache, not a second per BPTT).
        PackedMatrix<T> recurrentWeightsTransposed = cache.PackedRecurrentWeights;
        recurrentWeightsTransposed.Pack(true, Layer.Wh.AsColumnMajorSpan(), h);
        Span<T> future = _future.AsSpan(0, h * b);
        Span<double> dhNorms = gradients.DhNormsData;

        // The time axis in chunks of steps, last chunk first: the scratch holds one chunk's dL/dz and dL/dh_t → δ_t (not
        // the whole sequence's), and each weight gradient sums its chunks' GEMMs: dW = Σ_chunks Δ_chunk X_chunkᵀ.
        for (int chunk = chunks - 1; chunk >= 0; chunk--)
        {
            int start = TimeChunks.Start(chunk, chunks, steps);
            int end = TimeChunks.Start(chunk + 1, chunks, steps);
            int columns = (end - start) * b;
            T beta = chunk == chunks - 1 ? T.Zero : one; // the first chunk walked writes the gradients, the others add
            Span<T> hiddenGradient = _hiddenGradient.AsSpan(0, h * columns);

            // Seed: dL/dz_t for the chunk's scored steps (the loss's backward, fused with the output activation), then
            // dW_y += Σ_t dL/dz_t h_tᵀ, db_y += Σ_t dL/dz_t, and the output layer's share of dL/dh_t = W_yᵀ dL/dz_t, each
            // one product over the chunk's columns; zero for unscored steps. The scored steps end the sequence, so the
            // first chunk walked always has one and writes dW_y and db_y.
            int scoredStart = Math.Clamp(firstScored, start, end);
            hiddenGradient.Slice(0, (scoredStart - start) * h * b).Clear();
            if (scoredStart < end)
            {
                int scoredColumns = (end - scoredStart) * b;
                Span<T> logitGradient = _logitGradient.AsSpan(0, o * scoredColumns);
                if (lengths is null)
                {
                    LogitGradient(cache, targets, targetStep0, firstScored, scoredStart, end, logitGradient);
                }
                else
                {
                    MaskedLogitGradient(cache, targets, targetStep0, lengths, scoredStart, end, logitGradient);
                }

                ReadOnlySpan<T> scoredHiddens = cache.Hiddens.AsSpan((scoredStart + 1) * h * b, h * scoredColumns);
                Gemm.Multiply(false, true, o, h, scoredColumns, one, logitGradient, o, scoredHiddens, h, beta, gradients.WyData, o);
                ColumnBlocks.SumColumns(logitGradient, gradients.ByData, beta);
                Gemm.Multiply(
                    true, false, h, scoredColumns, o, one, Layer.Wy.AsColumnMajorSpan(), o, logitGradient, o, T.Zero,
                    hiddenGradient.Slice((scoredStart - start) * h * b), h);
            }

            // The recurrence, backwards: add the future term, record the norm, multiply by f'(a_t), send W_hᵀ δ_t back.
            for (int t = end - 1; t >= start; t--)
            {
                Span<T> dh = hiddenGradient.Slice((t - start) * h * b, h * b);
                if (t < steps - 1)
                {
                    // dL/dh_t = W_yᵀ dL/dz_t + W_hᵀ δ_{t+1}
                    TensorPrimitives.Add(dh, future, dh);
                }

                // Padding (t ≥ length_b): h_t = h_{t−1}, so dL/dh_t passes to h_{t−1} unchanged and δ_t is zero. The column
                // is set aside, zeroed (no norm, no f', no weight gradient), and put back as the future term after W_hᵀ δ_t.
                bool padded = lengths is not null && SetAsidePadding(dh, lengths, t, h);
                dhNorms[t] = ColumnBlocks.FrobeniusNorm<T>(dh);
                if (!double.IsFinite(dhNorms[t]))
                {
                    int bad = Guard.IndexOfNonFinite<T>(dh);
                    throw new NonFiniteValueException("gradient dL/dh_t", t, bad >= 0 ? $"row {bad % h}, sequence {bad / h}" : "its norm overflowed");
                }

                // δ_t = dL/dh_t ⊙ f'(a_t), computed from the cached h_t.
                ReadOnlySpan<T> hidden = cache.HiddenBlock(t + 1);
                if (Layer.HiddenActivation == HiddenActivation.Tanh)
                {
                    Tanh.Backward(hidden, dh);
                }
                else
                {
                    Relu.Backward(hidden, dh);
                }

                // W_hᵀ δ_t: the gradient reaching h_{t−1} through the recurrence (for t = 0, that is dL/dh_0).
                Gemm.Multiply(recurrentWeightsTransposed, false, b, one, dh, h, T.Zero, future, h);
                if (padded)
                {
                    RestorePadding(future, lengths!, t, h);
                }
            }

            // dW_x += Σ δ_t x_tᵀ, dW_h += Σ δ_t h_{t−1}ᵀ, db_h += Σ δ_t: three reductions over the chunk's columns at once.
            ReadOnlySpan<T> deltas = hiddenGradient;
            Gemm.Multiply(false, true, h, i, columns, one, deltas, h, cache.Inputs.AsSpan(start * i * b, i * columns), i, beta, gradients.WxData, h);
            Gemm.Multiply(false, true, h, h, columns, one, deltas, h, cache.Hiddens.AsSpan(start * h * b, h * columns), h, beta, gradients.WhData, h);
            ColumnBlocks.SumColumns(deltas, gradients.BhData, beta);
        }

        future.CopyTo(gradients.InitialHiddenData);

        // Each weight gradient is a sum over all steps: once non-finite, it stays so as chunks are added, so one check at
        // the end sees what a check after every chunk would.
        RequireFiniteGradient(gradients.WyData, o, "dL/dW_y");
        RequireFiniteGradient(gradients.ByData, o, "dL/db_y");
        RequireFiniteGradient(gradients.WxData, h, "dL/dW_x");
        RequireFiniteGradient(gradients.WhData, h, "dL/dW_h");
        RequireFiniteGradient(gradients.BhData, h, "dL/db_h");

        T lossValue = T.CreateTruncating(loss);
        gradients.Loss = lossValue;
        return lossValue;
    }

    /// <summary>The loss alone, without gradients (for validation sets and finite differences).</summary>
    /// <param name="cache">A cache filled by <see cref="Layer"/>'s forward pass.</param>
    /// <param name="targets">The targets of the scored steps.</param>
    /// <returns>The loss.</returns>
    public T Loss(ForwardCache<T> cache, SequenceTargets<T> targets)
    {
        int targetStep0 = Validate(cache, targets);
        ValidateTargetValues(targets);
        if (cache.HasLengths)
        {
            return T.CreateTruncating(MaskedLoss(cache, targets, targetStep0, cache.Lengths));
        }

        int firstScored = Placement == LossPlacement.LastStep ? cache.Steps - 1 : 0;
        return T.CreateTruncating(ScoredLoss(cache, targets, targetStep0, firstScored));
    }

    /// <summary>
    /// The loss over the scored steps <paramref name="firstScored"/>..T−1, accumulated in double in step order. Each
    /// loss's forward and backward live side by side in <c>Losses/</c>.
    /// </summary>
    private double ScoredLoss(ForwardCache<T> cache, SequenceTargets<T> targets, int targetStep0, int firstScored)
    {
        int o = Layer.OutputSize;
        int b = cache.Batch;
        int scoredSteps = cache.Steps - firstScored;
        double sum = 0;
        for (int s = 0; s < scoredSteps; s++)
        {
            int step = firstScored + s;
            int targetStep = targetStep0 + s;
            ReadOnlySpan<T> logits = cache.Logits.AsSpan(step * o * b, o * b);
            sum += Layer.OutputActivation switch
            {
                OutputActivation.Softmax => SoftmaxCrossEntropy.Forward(logits, cache.LogSumExps.AsSpan(step * b, b), targets.ClassesAt(targetStep), o),
                OutputActivation.Sigmoid => SigmoidBinaryCrossEntropy.Forward(logits, targets.ValuesAt(targetStep)),
                _ => SquaredError.Forward(logits, targets.ValuesAt(targetStep)),
            };
        }

        return sum / Denominator((long)scoredSteps * b);
    }

    /// <summary>
    /// dL/dz for the scored steps <paramref name="start"/>..<paramref name="end"/>−1 (all ≥ <paramref name="firstScored"/>)
    /// into <paramref name="logitGradient"/>, O x (end − start)·B: the loss's backward, fused with the output activation.
    /// </summary>
    private void LogitGradient(
        ForwardCache<T> cache, SequenceTargets<T> targets, int targetStep0, int firstScored, int start, int end, Span<T> logitGradient)
    {
        int o = Layer.OutputSize;
        int b = cache.Batch;
        T scale = T.One / T.CreateTruncating(Denominator((long)(cache.Steps - firstScored) * b));
        for (int step = start; step < end; step++)
        {
            int targetStep = targetStep0 + step - firstScored;
            ReadOnlySpan<T> logits = cache.Logits.AsSpan(step * o * b, o * b);
            Span<T> gradient = logitGradient.Slice((step - start) * o * b, o * b);
            switch (Layer.OutputActivation)
            {
                case OutputActivation.Softmax:
                    SoftmaxCrossEntropy.Backward(logits, cache.InverseSums.AsSpan(step * b, b), targets.ClassesAt(targetStep), o, scale, gradient);
                    break;
                case OutputActivation.Sigmoid:
                    SigmoidBinaryCrossEntropy.Backward(logits, targets.ValuesAt(targetStep), scale, gradient);
                    break;
                default:
                    SquaredError.Backward(logits, targets.ValuesAt(targetStep), scale, gradient);
                    break;
            }
        }
    }

    /// <summary>
    /// What the loss is divided by for <paramref name="items"/> scored (step, sequence) items: 1 for Sum; for PyTorch's
    /// mean, the items for cross-entropy, and items · O elements for BCE and squared error.
    /// </summary>
    private long Denominator(long items) =>
        Reduction == LossReduction.Sum ? 1
        : Layer.OutputActivation == OutputActivation.Softmax ? items
        : items * Layer.OutputSize;

    /// <summary>Checks the cache and the targets' shape against the layer and each other; returns the target step of the first scored step.</summary>
    private int Validate(ForwardCache<T> cache, SequenceTargets<T> targets)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(targets);
        BpttChecks<T>.RequireOwnCache(ReferenceEquals(cache.Owner, Layer), cache.IsFilled, cache.Batch, targets, "layer");

        int expectedSteps = Placement == LossPlacement.EveryStep ? cache.Steps : 1;
        int targetStep0;
        if (targets.Steps == cache.Steps)
        {
            targetStep0 = Placement == LossPlacement.EveryStep ? 0 : cache.Steps - 1;
        }
        else if (targets.Steps == 1 && Placement == LossPlacement.LastStep)
        {
            targetStep0 = 0;
        }
        else
        {
            throw new ArgumentException(
                $"targets cover {targets.Steps} steps but the loss ({Placement}) over a {cache.Steps}-step cache needs {expectedSteps}.",
                nameof(targets));
        }

        return targetStep0;
    }

    /// <summary>Checks that the targets suit the layer's output and loss: their kind, their size and their range.</summary>
    internal void ValidateTargetValues(SequenceTargets<T> targets)
    {
        int o = Layer.OutputSize;
        if (Layer.OutputActivation == OutputActivation.Softmax)
        {
            BpttChecks<T>.RequireClasses(targets, o);
        }
        else
        {
            BpttChecks<T>.RequireValues(targets, o, Layer.OutputActivation, "layer");

            if (Layer.OutputActivation == OutputActivation.Sigmoid)
            {
                ReadOnlySpan<T> values = targets.AllValues;
                for (int i = 0; i < values.Length; i++)
                {
                    if (!(values[i] >= T.Zero && values[i] <= T.One))
                    {
                        int column = i / o;
                        throw new ArgumentOutOfRangeException(
                            nameof(targets), values[i], $"binary cross-entropy target at step {column / targets.Batch}, sequence {column % targets.Batch}, unit {i % o} is {values[i]} but must be in [0, 1].");
                    }
                }
            }
        }
    }

    /// <summary>A weight gradient sums over every step: a NaN or infinity in it is reported with step −1 and its element.</summary>
    private static void RequireFiniteGradient(ReadOnlySpan<T> gradient, int rows, string name)
    {
        int bad = Guard.IndexOfNonFinite(gradient);
        if (bad >= 0)
        {
            throw new NonFiniteValueException($"gradient {name}", -1, $"row {bad % rows}, column {bad / rows}, summed over all steps");
        }
    }

    /// <summary>Grows the scratch to one time chunk of <paramref name="chunkColumns"/> columns.</summary>
    private void EnsureWorkspace(int h, int o, int chunkColumns, int b, bool padded)
    {
        // Grow only: a steady-state call with the same (T, B) reuses the same arrays.
        if (padded && _passThrough.Length < h * b)
        {
            _passThrough = new T[h * b];
        }

        if (_logitGradient.Length < o * chunkColumns)
        {
            _logitGradient = new T[o * chunkColumns];
        }

        if (_hiddenGradient.Length < h * chunkColumns)
        {
            _hiddenGradient = new T[h * chunkColumns];
        }

        if (_future.Length < h * b)
        {
            _future = new T[h * b];
        }
    }
}
