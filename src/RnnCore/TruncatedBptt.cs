using MathNet.Numerics.LinearAlgebra;
using RnnCore.Internal;
using RnnCore.Optimizers;

namespace RnnCore;

/// <summary>
/// Truncated backpropagation through time: a long batch of sequences is trained in consecutive chunks of k steps.
/// Each chunk starts from the hidden state the previous chunk ended with (the first from h_0), but no gradient crosses
/// a chunk boundary; each chunk's loss uses the placement and reduction over that chunk alone, and one clipping plus one
/// optimizer step follows each chunk. This is min-char-rnn's training loop, and PyTorch's <c>h = h.detach()</c> idiom.
/// </summary>
/// <remarks>
/// The instance keeps a cache and gradient buffers for k steps (and for a shorter last chunk when T is not a multiple of
/// k), so that after the first call a chunk allocates nothing. All inputs and targets are validated before the first
/// update. If a chunk fails (a <see cref="NonFiniteValueException"/>), the chunks before it have already been applied.
/// Not thread-safe.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class TruncatedBptt<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private readonly Bptt<T> _bptt;
    private ForwardCache<T>? _chunkCache;
    private RecurrentGradients<T>? _chunkGradients;
    private ForwardCache<T>? _tailCache;
    private RecurrentGradients<T>? _tailGradients;

    /// <summary>Creates truncated BPTT for a layer and an optimizer.</summary>
    /// <param name="layer">The layer to train.</param>
    /// <param name="optimizer">The update applied after each chunk.</param>
    /// <param name="chunkLength">k, the number of steps per chunk; positive.</param>
    /// <param name="placement">Loss at every step of a chunk, or at each chunk's last step.</param>
    /// <param name="reduction">Sum or mean over each chunk.</param>
    /// <param name="clipping">Clipping applied to each chunk's gradients before the optimizer step; none when null.</param>
    public TruncatedBptt(
        RecurrentLayer<T> layer,
        IOptimizer<T> optimizer,
        int chunkLength,
        LossPlacement placement = LossPlacement.EveryStep,
        LossReduction reduction = LossReduction.Sum,
        Clipping? clipping = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(optimizer);
        Guard.Positive(chunkLength, nameof(chunkLength));
        _bptt = new Bptt<T>(layer, placement, reduction);
        Optimizer = optimizer;
        ChunkLength = chunkLength;
        Clipping = clipping ?? Clipping.None;
    }

    /// <summary>The layer being trained.</summary>
    public RecurrentLayer<T> Layer => _bptt.Layer;

    /// <summary>The optimizer applied after each chunk.</summary>
    public IOptimizer<T> Optimizer { get; }

    /// <summary>k, the number of steps per chunk (the last chunk may be shorter).</summary>
    public int ChunkLength { get; }

    /// <summary>The clipping applied to each chunk's gradients.</summary>
    public Clipping Clipping { get; }

    /// <summary>Where each chunk's loss is measured.</summary>
    public LossPlacement Placement => _bptt.Placement;

    /// <summary>How each chunk's loss terms are combined.</summary>
    public LossReduction Reduction => _bptt.Reduction;

    /// <summary>
    /// Trains on B sequences of T steps, chunk by chunk: forward from the carried hidden state, BPTT within the chunk,
    /// clipping, one optimizer step.
    /// </summary>
    /// <param name="inputs">T matrices of I x B, finite.</param>
    /// <param name="targets">Targets for every one of the T steps (with <see cref="LossPlacement.LastStep"/>, each chunk scores its own last step).</param>
    /// <param name="initialHidden">h_0 (H x B); zeros when null.</param>
    /// <returns>Each chunk's loss and gradient norm before clipping, and the hidden state after the last step.</returns>
    /// <exception cref="ArgumentException">A shape or value is wrong; nothing has been trained.</exception>
    public TruncatedBpttResult<T> Train(IReadOnlyList<Matrix<T>> inputs, SequenceTargets<T> targets, Matrix<T>? initialHidden = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        RecurrentLayer<T> layer = Layer;
        int steps = inputs.Count;
        int batch = BpttChecks<T>.RequireInputs(inputs, layer.InputSize);

        if (initialHidden is not null)
        {
            Guard.ValidateMatrix(initialHidden, layer.HiddenSize, batch, nameof(initialHidden), -1, "hiddenSize x batch");
        }

        BpttChecks<T>.RequireOneTargetPerStep(targets, steps, batch);

        _bptt.ValidateTargetValues(targets);

        int chunks = (steps + ChunkLength - 1) / ChunkLength;
        var losses = new T[chunks];
        var norms = new double[chunks];
        ReadOnlySpan<T> carried = default; // the previous chunk's last hidden state; empty before the first chunk
        ForwardCache<T>? previous = null;
        for (int c = 0; c < chunks; c++)
        {
            int start = c * ChunkLength;
            int length = Math.Min(ChunkLength, steps - start);
            (ForwardCache<T> cache, RecurrentGradients<T> gradients) = Buffers(length, batch);

            // h_0 of this chunk: the carried state (a copy: the value crosses the boundary, the gradient does not).
            Span<T> h0 = cache.HiddenBlock(0);
            if (previous is not null)
            {
                carried.CopyTo(h0);
            }
            else if (initialHidden is null)
            {
                h0.Clear();
            }
            else
            {
                Guard.CopyMatrix(initialHidden, layer.HiddenSize, batch, h0, nameof(initialHidden), -1, "hiddenSize x batch");
            }

            int block = layer.InputSize * batch;
            for (int t = 0; t < length; t++)
            {
                Guard.CopyMatrix(inputs[start + t], layer.InputSize, batch, cache.Inputs.AsSpan(t * block, block), nameof(inputs), start + t, "inputSize x batch");
            }

            layer.ForwardCore(cache);
            int targetStep0 = Placement == LossPlacement.LastStep ? start + length - 1 : start;
            losses[c] = _bptt.BackwardCore(cache, targets, targetStep0, gradients);
            norms[c] = Clipping.Apply(gradients.ParameterGradients);
            Optimizer.Step(layer.Parameters, gradients.ParameterGradients);

            carried = cache.HiddenBlock(length);
            previous = cache;
        }

        return new TruncatedBpttResult<T>(losses, norms, Matrix<T>.Build.Dense(layer.HiddenSize, batch, carried.ToArray()));
    }

    private (ForwardCache<T> Cache, RecurrentGradients<T> Gradients) Buffers(int length, int batch)
    {
        // One set for full chunks and one for a shorter last chunk; both kept for the next call with the same batch.
        if (length == ChunkLength)
        {
            if (_chunkCache is null || _chunkCache.Batch != batch)
            {
                _chunkCache = Layer.CreateCache(length, batch);
                _chunkGradients = Layer.CreateGradients(length, batch);
            }

            return (_chunkCache, _chunkGradients!);
        }

        if (_tailCache is null || _tailCache.Batch != batch || _tailCache.Steps != length)
        {
            _tailCache = Layer.CreateCache(length, batch);
            _tailGradients = Layer.CreateGradients(length, batch);
        }

        return (_tailCache, _tailGradients!);
    }
}
