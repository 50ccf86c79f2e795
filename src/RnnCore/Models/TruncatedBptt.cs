using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Internal;
using RnnCore.Optimizers;

namespace RnnCore.Models;

/// <summary>
/// Truncated BPTT for a <see cref="RecurrentModel{T}"/>: the T steps are trained in consecutive chunks of k steps. Each
/// chunk starts from the states the previous chunk ended with, h and (LSTM) c of every layer (the first chunk from
/// h_0 / c_0), but no gradient crosses a chunk boundary; each chunk's loss uses the placement and reduction over that
/// chunk alone, and one clipping plus one optimizer step follows each chunk (PyTorch's <c>h.detach()</c> idiom).
/// </summary>
/// <remarks>
/// Only unidirectional models: a reverse direction would need the future of the whole sequence. Chunks are training
/// passes (dropout, when configured, draws fresh masks per chunk). The instance keeps its buffers for the next call, so
/// after the first chunk nothing is allocated per chunk. Inputs and targets are validated before the first update.
/// Not thread-safe.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class TruncatedBptt<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Bptt<T> _bptt;
    private ForwardCache<T>? _chunkCache;
    private RecurrentGradients<T>? _chunkGradients;
    private ForwardCache<T>? _tailCache;
    private RecurrentGradients<T>? _tailGradients;

    /// <summary>Creates truncated BPTT for a model and an optimizer.</summary>
    /// <param name="model">The model to train; unidirectional.</param>
    /// <param name="optimizer">The update applied after each chunk.</param>
    /// <param name="chunkLength">k, the number of steps per chunk; positive.</param>
    /// <param name="placement">Loss at every step of a chunk, or at each chunk's last step.</param>
    /// <param name="reduction">Sum or mean over each chunk.</param>
    /// <param name="clipping">Clipping applied to each chunk's gradients before the optimizer step; none when null.</param>
    /// <exception cref="ArgumentException">The model is bidirectional.</exception>
    public TruncatedBptt(
        RecurrentModel<T> model, IOptimizer<T> optimizer, int chunkLength, LossPlacement placement = LossPlacement.EveryStep,
        LossReduction reduction = LossReduction.Sum, Clipping? clipping = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        Guard.Positive(chunkLength, nameof(chunkLength));
        if (model.Directions != 1)
        {
            throw new ArgumentException("model is bidirectional but truncated BPTT needs a unidirectional model (expected Bidirectional = false).", nameof(model));
        }

        _bptt = new Bptt<T>(model, placement, reduction);
        Optimizer = optimizer;
        ChunkLength = chunkLength;
        Clipping = clipping ?? Clipping.None;
    }

    /// <summary>The model being trained.</summary>
    public RecurrentModel<T> Model => _bptt.Model;

    /// <summary>The optimizer applied after each chunk.</summary>
    public IOptimizer<T> Optimizer { get; }

    /// <summary>k, the number of steps per chunk (the last chunk may be shorter).</summary>
    public int ChunkLength { get; }

    /// <summary>The clipping applied to each chunk's gradients.</summary>
    public Clipping Clipping { get; }

    /// <summary>
    /// Trains on B sequences of T steps, chunk by chunk: forward (a training pass) from the carried states, BPTT within the
    /// chunk, clipping, one optimizer step.
    /// </summary>
    /// <param name="inputs">T matrices of I x B, finite.</param>
    /// <param name="targets">Targets for every one of the T steps.</param>
    /// <param name="initialHidden">h_0, L matrices of H x B (P x B with projections); zeros when null.</param>
    /// <param name="initialCell">c_0 (LSTM), L matrices of H x B; zeros when null.</param>
    /// <returns>Each chunk's loss and gradient norm before clipping, and every layer's final states (to carry on: stateful training).</returns>
    /// <exception cref="ArgumentException">A shape or value is wrong; nothing has been trained.</exception>
    public TruncatedBpttResult<T> Train(
        IReadOnlyList<Matrix<T>> inputs, SequenceTargets<T> targets, IReadOnlyList<Matrix<T>>? initialHidden = null, IReadOnlyList<Matrix<T>>? initialCell = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        Model.RequireDenseInput(nameof(inputs));
        int batch = BpttChecks<T>.RequireInputs(inputs, Model.InputSize);
        return TrainCore(inputs, null, inputs.Count, batch, targets, initialHidden, initialCell);
    }

    /// <summary>
    /// Trains on B sequences of T token ids, chunk by chunk, as the dense overload does (ids through the model's embedding,
    /// or W_ih's columns without one: see <see cref="RecurrentModel{T}.Forward(IReadOnlyList{int[]}, ForwardCache{T}, IReadOnlyList{Matrix{T}}?, IReadOnlyList{Matrix{T}}?, IReadOnlyList{int}?, bool)"/>).
    /// </summary>
    /// <param name="ids">T arrays of B ids, each in range.</param>
    /// <param name="targets">Targets for every one of the T steps.</param>
    /// <param name="initialHidden">h_0, L matrices of H x B; zeros when null.</param>
    /// <param name="initialCell">c_0 (LSTM), L matrices of H x B; zeros when null.</param>
    /// <returns>Each chunk's loss and gradient norm before clipping, and every layer's final states.</returns>
    /// <exception cref="ArgumentException">A shape or an id is wrong (the message names its step and sequence); nothing has been trained.</exception>
    public TruncatedBpttResult<T> Train(
        IReadOnlyList<int[]> ids, SequenceTargets<T> targets, IReadOnlyList<Matrix<T>>? initialHidden = null, IReadOnlyList<Matrix<T>>? initialCell = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(targets);
        if (ids.Count == 0)
        {
            throw new ArgumentException("ids is empty; a sequence needs at least one step.", nameof(ids));
        }

        int batch = (ids[0] ?? throw new ArgumentNullException(nameof(ids), "ids[0] is null.")).Length;
        for (int t = 0; t < ids.Count; t++)
        {
            int[] step = ids[t] ?? throw new ArgumentNullException(nameof(ids), $"ids[{t}] is null.");
            if (step.Length != batch || batch == 0)
            {
                throw new ArgumentException($"ids[{t}] has {step.Length} entries but ids[0] has {batch}; every step needs one id per sequence (at least one).", nameof(ids));
            }

            for (int b = 0; b < batch; b++)
            {
                Model.RequireId(step[b], nameof(ids), t, b);
            }
        }

        return TrainCore(null, ids, ids.Count, batch, targets, initialHidden, initialCell);
    }

    private TruncatedBpttResult<T> TrainCore(
        IReadOnlyList<Matrix<T>>? inputs, IReadOnlyList<int[]>? ids, int steps, int batch, SequenceTargets<T> targets,
        IReadOnlyList<Matrix<T>>? initialHidden, IReadOnlyList<Matrix<T>>? initialCell)
    {
        RecurrentModel<T> model = Model;
        model.ValidateStates(initialHidden, initialCell, batch);
        BpttChecks<T>.RequireOneTargetPerStep(targets, steps, batch);

        _bptt.ValidateTargetValues(targets);
        int chunks = (steps + ChunkLength - 1) / ChunkLength;
        var losses = new T[chunks];
        var norms = new double[chunks];
        ForwardCache<T>? previous = null;
        for (int c = 0; c < chunks; c++)
        {
            int start = c * ChunkLength;
            int length = Math.Min(ChunkLength, steps - start);
            (ForwardCache<T> cache, RecurrentGradients<T> gradients) = Buffers(length, batch);
            if (previous is null)
            {
                model.CopyStates(cache, initialHidden, initialCell);
            }
            else
            {
                // The carried states cross the boundary as values; their gradients do not.
                for (int ld = 0; ld < cache.Hiddens.Length; ld++)
                {
                    previous.FinalState(previous.Hiddens[ld], cache.StateBlock(cache.Hiddens[ld], 0));
                    if (model.Cell.HasCellState)
                    {
                        previous.FinalState(previous.Cells[ld], cache.StateBlock(cache.Cells[ld], 0));
                    }
                }
            }

            if (ids is not null)
            {
                int[] chunkIds = cache.EnsureIds();
                for (int t = 0; t < length; t++)
                {
                    ids[start + t].CopyTo(chunkIds, t * batch);
                }
            }
            else
            {
                int block = model.InputSize * batch;
                for (int t = 0; t < length; t++)
                {
                    Guard.CopyMatrix(inputs![start + t], model.InputSize, batch, cache.Inputs.AsSpan(t * block, block), nameof(inputs), start + t, "inputSize x batch");
                }
            }

            cache.IdInput = ids is not null;

            cache.HasLengths = false;
            cache.Lengths.AsSpan().Fill(length);
            bool dropout = model.Options.Dropout > 0 && model.Layers > 1;
            if (dropout)
            {
                model.DrawDropoutMasks(cache);
            }

            model.ForwardCore(cache, dropout);
            losses[c] = _bptt.BackwardCore(cache, targets, start, gradients);
            norms[c] = Clipping.Apply(gradients.ParameterGradients);
            Optimizer.Step(model.Parameters, gradients.ParameterGradients);
            previous = cache;
        }

        return new TruncatedBpttResult<T>(losses, norms, previous!.FinalHiddens(), model.Cell.HasCellState ? previous.FinalCells() : null);
    }

    private (ForwardCache<T> Cache, RecurrentGradients<T> Gradients) Buffers(int length, int batch)
    {
        if (length == ChunkLength)
        {
            if (_chunkCache is null || _chunkCache.Batch != batch)
            {
                _chunkCache = Model.CreateCache(length, batch);
                _chunkGradients = Model.CreateGradients(length, batch);
            }

            return (_chunkCache, _chunkGradients!);
        }

        if (_tailCache is null || _tailCache.Batch != batch || _tailCache.Steps != length)
        {
            _tailCache = Model.CreateCache(length, batch);
            _tailGradients = Model.CreateGradients(length, batch);
        }

        return (_tailCache, _tailGradients!);
    }
}
