using System.Numerics;
using System.Numerics.Tensors;
using RnnCore.Internal;
using RnnCore.Kernels;

namespace RnnCore.Models;

/// <summary>
/// Backpropagation through time for a <see cref="RecurrentModel{T}"/>: walks a <see cref="ForwardCache{T}"/> in
/// reverse, from the head down through every layer and, within a layer-direction, from its last processing step back to
/// its first, and computes the loss, every parameter's gradient, dL/dh_0 and dL/dc_0, and the dh norms.
/// </summary>
/// <remarks>
/// <para>The chain rule per layer-direction (δu = dL/du, δv = dL/dv from the cell's backward step):</para>
/// <code>
/// dL/do_t      = W_headᵀ dL/dz_t (top layer)   or   mask ⊙ (W_ih,aboveᵀ δu_above)_t (below it; dropout's backward)
/// dL/dh_t      = dL/do_t[direction's half] + W_hhᵀ δv_{t+1} + direct_{t+1}        (the later step reaches back)
/// dW_ih = Σ δu xᵀ    dW_hh = Σ δv h_{t−1}ᵀ    db_ih = Σ δu    db_hh = Σ δv          (GEMMs over many columns at once)
/// </code>
/// <para>
/// Only the δ recursion is sequential: the head's products, the weight gradients and the gradient sent to the layer
/// below are GEMMs over many columns at once. The time axis is walked in chunks of about 1024 columns (step, sequence),
/// last chunk first, so that dL/dz, δu and δv are held for one chunk rather than the whole sequence, and each weight
/// gradient is summed over the chunks' products. dL/do is held for the whole sequence only where it must be: between
/// two layers (the layer above finishes its walk before the one below starts) and for a top layer with two directions
/// (the reverse direction reads positions out of the chunks' order). A top layer with one direction walks positions in
/// order, so the head's share of dL/do is computed chunk by chunk as the walk reaches it, into the chunk's δu buffer,
/// where each step reads its block before its δu overwrites it. The gradients use the model's current parameters:
/// call Backward after the forward pass and before changing them. An instance owns scratch buffers that it reuses (a
/// steady-state call allocates nothing), so one instance must not be used by two threads at once.
/// </para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Bptt<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _logitGradient = []; // dL/dz of one time chunk of positions, [O, chunk steps · B]
    private T[] _outputGradient = []; // dL/do of the layer being walked, by position, [D·H, T·B] (two directions, or three layers or more)
    private T[] _belowGradient = []; // dL/d(input) of that layer = dL/do of the layer below (two layers or more), [D·H, T·B]
    private T[] _reversedInputGradient = []; // a reverse direction's W_ihᵀ δu of one chunk, in processing order, [D·H, chunk steps · B]
    private T[] _stepGradient = []; // dL/dh of one direction at one step, [H, B] (H: the size of h, P for a projected LSTM)
    private T[] _deltaU = []; // δu of one time chunk, [G·H, chunk steps · B]; first the head's dL/do of the chunk (one direction)
    private T[] _deltaV = []; // δv of one time chunk when it differs from δu (GRU), [G·H, chunk steps · B]
    private T[] _future = []; // the gradient reaching h_{s−1} from step s, [H, B]
    private T[] _cellGradient = []; // dL/dc carried backwards (LSTM only), [H, B]
    private double[] _normSquares = []; // padded batches: Σ over real columns of |dL/dh|² by position, [T]
    private PackedMatrix<T>? _recurrentWeightsTransposed; // W_hhᵀ in the GEMM kernel's panel layout, [H, G·H] (G > 1)

    /// <summary>Creates BPTT for <paramref name="model"/> with the given loss placement and reduction.</summary>
    /// <param name="model">The model whose caches will be walked.</param>
    /// <param name="placement">Loss at every step (default) or at each sequence's last step only.</param>
    /// <param name="reduction">Sum (default) or PyTorch's mean.</param>
    public Bptt(RecurrentModel<T> model, LossPlacement placement = LossPlacement.EveryStep, LossReduction reduction = LossReduction.Sum)
    {
        ArgumentNullException.ThrowIfNull(model);
        BpttChecks<T>.RequireDefined(placement, reduction);

        Model = model;
        Placement = placement;
        Reduction = reduction;
    }

    /// <summary>
    /// The columns a time chunk aims for (<see cref="TimeChunks.TargetColumns"/>); tests set it smaller to walk small
    /// problems in many chunks.
    /// </summary>
    internal int ChunkColumns { get; set; } = TimeChunks.TargetColumns;

    /// <summary>The model this instance differentiates.</summary>
    public RecurrentModel<T> Model { get; }

    /// <summary>Where the loss is measured.</summary>
    public LossPlacement Placement { get; }

    /// <summary>How the loss terms are combined.</summary>
    public LossReduction Reduction { get; }

    /// <summary>Computes the loss and new gradient buffers.</summary>
    /// <param name="cache">A cache filled by <see cref="Model"/>'s forward pass.</param>
    /// <param name="targets">The targets of the scored steps.</param>
    /// <returns>New gradients (with the loss set).</returns>
    public RecurrentGradients<T> Backward(ForwardCache<T> cache, SequenceTargets<T> targets)
    {
        ArgumentNullException.ThrowIfNull(cache);
        RecurrentGradients<T> gradients = Model.CreateGradients(cache.Steps, cache.Batch);
        Backward(cache, targets, gradients);
        return gradients;
    }

    /// <summary>Computes the loss and overwrites <paramref name="gradients"/>.</summary>
    /// <param name="cache">A cache filled by <see cref="Model"/>'s forward pass.</param>
    /// <param name="targets">Class indices (softmax) or values (sigmoid, identity): one step per position for EveryStep; for LastStep one step (read at each sequence's last step) or one per position.</param>
    /// <param name="gradients">Buffers from <see cref="RecurrentModel{T}.CreateGradients"/> for the cache's T and B.</param>
    /// <returns>The loss.</returns>
    /// <exception cref="ArgumentException">The cache, targets or gradients do not match the model or each other, or a target is out of range. Nothing is written.</exception>
    /// <exception cref="NonFiniteValueException">A gradient dL/dh became NaN or infinite (reported at its position).</exception>
    public T Backward(ForwardCache<T> cache, SequenceTargets<T> targets, RecurrentGradients<T> gradients)
    {
        Validate(cache, targets);
        ValidateTargetValues(targets);
        ArgumentNullException.ThrowIfNull(gradients);
        Model.RequireSameShape(gradients.Options, nameof(gradients), "gradients");
        if (gradients.FusedBias != Model.FusedBias)
        {
            throw new ArgumentException(
                $"gradients were created for a network {(gradients.FusedBias ? "with one fused hidden bias" : "with b_ih and b_hh")} but this one has {(Model.FusedBias ? "one fused hidden bias" : "b_ih and b_hh")}; create them with this network's CreateGradients.",
                nameof(gradients));
        }
        if (gradients.Steps != cache.Steps || gradients.Batch != cache.Batch)
        {
            throw new ArgumentException(
                $"gradients were created for {gradients.Steps} steps x {gradients.Batch} sequences but the cache has {cache.Steps} x {cache.Batch}; create them with CreateGradients({cache.Steps}, {cache.Batch}).",
                nameof(gradients));
        }

        return BackwardCore(cache, targets, 0, gradients);
    }

    /// <summary>The loss alone, without gradients (for validation sets and finite differences).</summary>
    /// <param name="cache">A cache filled by <see cref="Model"/>'s forward pass.</param>
    /// <param name="targets">The targets, as for Backward.</param>
    /// <returns>The loss.</returns>
    public T Loss(ForwardCache<T> cache, SequenceTargets<T> targets)
    {
        Validate(cache, targets);
        ValidateTargetValues(targets);
        return T.CreateTruncating(Model.Head.Loss(
            cache.Logits, cache.LogSumExps, targets, 0, cache.Lengths, cache.Steps, Placement, Reduction));
    }

    /// <summary>BPTT proper, once validated: cache position t is scored against target step <paramref name="targetOffset"/> + t.</summary>
    internal T BackwardCore(ForwardCache<T> cache, SequenceTargets<T> targets, int targetOffset, RecurrentGradients<T> gradients)
    {
        using RnnCoreSettings.ParallelismScope parallelism = RnnCoreSettings.UseModelDegree(Model.MaxDegreeOfParallelism);
        RecurrentModel<T> model = Model;
        int d = model.Directions;
        int dh = d * model.StateSize;
        int b = cache.Batch;
        int columns = cache.Steps * b;
        EnsureWorkspace(cache);

        // The loss, summed in double in position order, apart from the gradients (taken chunk by chunk below).
        double loss = model.Head.Loss(cache.Logits, cache.LogSumExps, targets, targetOffset, cache.Lengths, cache.Steps, Placement, Reduction);

        // Seed. A top layer with two directions needs the head's dL/do for the whole sequence first (its reverse direction
        // reads positions out of the chunks' order): in time chunks of positions, last first. With one direction the
        // walk takes the same chunks itself (BackwardDirection).
        T[] outputGradient = _outputGradient;
        T[] belowGradient = _belowGradient;
        if (d == 2)
        {
            int chunks = TimeChunks.Count(cache.Steps, b, ChunkColumns);
            for (int chunk = chunks - 1; chunk >= 0; chunk--)
            {
                int start = TimeChunks.Start(chunk, chunks, cache.Steps);
                int end = TimeChunks.Start(chunk + 1, chunks, cache.Steps);
                HeadChunk(cache, targets, targetOffset, gradients, start, end, chunk == chunks - 1, outputGradient.AsSpan(start * b * dh, (end - start) * b * dh));
            }
        }

        // Down the stack: each layer's directions, then dropout's backward on what reaches the layer below.
        for (int k = model.Layers - 1; k >= 0; k--)
        {
            int inputRows = k == 0 ? model.InputSize : dh;
            ReadOnlySpan<T> layerInput = k == 0 ? cache.Inputs : cache.DropoutApplied ? cache.DroppedOutputs[k - 1] : cache.LayerOutput(k - 1);
            for (int dir = 0; dir < d; dir++)
            {
                BackwardDirection(cache, targets, targetOffset, gradients, k, dir, outputGradient, belowGradient, layerInput.Slice(0, inputRows * columns), inputRows);
            }

            if (k == 0 && EmbeddingInput(cache))
            {
                // dL/dx of layer 0 is dL/d(embedding rows): added into the rows the batch's ids name.
                model.ScatterEmbeddingGradient(cache, belowGradient.AsSpan(0, model.InputSize * columns), gradients.ParameterGradients[0]);
            }

            if (k > 0)
            {
                if (cache.DropoutApplied)
                {
                    // x = o ⊙ m, so dL/do = dL/dx ⊙ m.
                    TensorPrimitives.Multiply<T>(belowGradient.AsSpan(0, dh * columns), cache.DropoutMasks[k - 1].AsSpan(0, dh * columns), belowGradient.AsSpan(0, dh * columns));
                }

                (outputGradient, belowGradient) = (belowGradient, outputGradient);
            }
        }

        // The loss is summed in double; rounded to T it may still overflow (float squared errors past 3.4e38). Each
        // weight gradient is a sum over all steps: once non-finite it stays so, so one check at the end suffices.
        if (!double.IsFinite(loss) || !T.IsFinite(T.CreateTruncating(loss)))
        {
            throw new NonFiniteValueException("loss", -1, $"the sum over the scored steps is {loss:R}, beyond {typeof(T).Name}");
        }

        TensorSet<T> g = gradients.ParameterGradients;
        for (int p = 0; p < g.Count; p++)
        {
            int bad = Guard.IndexOfNonFinite<T>(g[p]);
            if (bad >= 0)
            {
                throw new NonFiniteValueException($"gradient dL/d{g.GetName(p)}", -1, $"element {bad}, summed over all steps");
            }
        }

        T lossValue = T.CreateTruncating(loss);
        gradients.Loss = lossValue;
        return lossValue;
    }

    /// <summary>
    /// The head's backward for positions <paramref name="start"/>..<paramref name="end"/>−1 (one time chunk): dL/dz at
    /// every scored column (zero elsewhere), dW_head and db_head (<paramref name="first"/>: the first chunk walked writes
    /// them, the others add), and the top layer's dL/do = W_headᵀ dL/dz for those positions into
    /// <paramref name="topGradient"/>, [D·H, (end − start)·B].
    /// </summary>
    private void HeadChunk(
        ForwardCache<T> cache, SequenceTargets<T> targets, int targetOffset, RecurrentGradients<T> gradients, int start, int end, bool first, Span<T> topGradient)
    {
        RecurrentModel<T> model = Model;
        int dh = model.Directions * model.StateSize;
        int chunkColumns = (end - start) * cache.Batch;
        Span<T> logitGradient = _logitGradient.AsSpan(0, model.OutputSize * chunkColumns);
        model.Head.LogitGradient(cache.Logits, cache.InverseSums, targets, targetOffset, cache.Lengths, Placement, Reduction, start, end, logitGradient);
        model.Head.Backward(
            logitGradient, cache.LayerOutput(model.Layers - 1).Slice(start * cache.Batch * dh, chunkColumns * dh), gradients.ParameterGradients[model.HeadWeightIndex],
            gradients.ParameterGradients[model.HeadBiasIndex], topGradient, first ? T.Zero : T.One);
    }

    /// <summary>Checks that the targets suit the model's output and loss: their kind, their size and their range.</summary>
    internal void ValidateTargetValues(SequenceTargets<T> targets)
    {
        int o = Model.OutputSize;
        if (Model.Options.OutputActivation == OutputActivation.Softmax)
        {
            BpttChecks<T>.RequireClasses(targets, o);
            return;
        }

        BpttChecks<T>.RequireValues(targets, o, Model.Options.OutputActivation, Model.Noun);

        if (Model.Options.OutputActivation == OutputActivation.Sigmoid)
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

    /// <summary>
    /// One layer-direction backwards, in time chunks of processing steps, last chunk first: walk each chunk's steps back
    /// through the cell (taking each step's half of dL/do from its position: from <paramref name="outputGradient"/>, or,
    /// for a top layer with one direction, from the head's backward for the chunk), then the weight gradients (summed over
    /// the chunks) and the gradient to the layer below for the chunk's columns as GEMMs.
    /// </summary>
    private void BackwardDirection(
        ForwardCache<T> cache, SequenceTargets<T> targets, int targetOffset, RecurrentGradients<T> gradients, int k, int dir,
        T[] outputGradient, T[] belowGradient, ReadOnlySpan<T> layerInput, int inputRows)
    {
        RecurrentModel<T> model = Model;
        Cells.RecurrentCell<T> cell = model.Cell;
        int h = model.HiddenSize;
        int hs = model.StateSize; // the size of h; c has H
        int d = model.Directions;
        int b = cache.Batch;
        int steps = cache.Steps;
        int gh = cell.Gates * h;
        int ld = (k * d) + dir;
        int outRows = d * hs;
        T one = T.One;
        ReadOnlySpan<int> lengths = cache.Lengths;
        bool padded = cache.HasLengths;

        // W_hhᵀ packed once per layer-direction for its steps' products. A square W_hh (G = 1) goes into the cache's panel
        // buffer, whose packed W_hh the forward pass is done with (the forward packs again before each unroll).
        PackedMatrix<T> transposed = cell.Gates == 1 ? cache.PackedRecurrentWeights : _recurrentWeightsTransposed!;
        transposed.Pack(true, model.RecurrentWeights(ld), gh);
        Span<T> dhs = _stepGradient.AsSpan(0, hs * b);
        Span<T> future = _future.AsSpan(0, hs * b);
        Span<T> dc = cell.HasCellState ? _cellGradient.AsSpan(0, h * b) : default;
        dc.Clear();
        double[] norms = gradients.DhNormsData[ld];
        Span<double> normSquares = _normSquares.AsSpan(0, steps);
        normSquares.Clear();
        T[] hiddens = cache.Hiddens[ld];
        T[] cells = cache.Cells[ld];
        (T[] projections, int projectionOffset) = cache.ProjectionSlab(ld);
        bool headInWalk = k == model.Layers - 1 && d == 1;
        T[] recurrent = cache.RecurrentProjections[ld];
        ReadOnlySpan<T> x = dir == 1 ? cache.ReversedInputs[ld] : layerInput;
        TensorSet<T> g = gradients.ParameterGradients;
        ReadOnlySpan<int> tensor = model.TensorIndices(ld);
        ReadOnlySpan<T> ownWeight = model.OwnWeights(ld);
        Span<T> ownWeightGradient = tensor.Length > 4 ? g[tensor[4]] : default; // a fifth tensor is the cell's own weight
        ownWeightGradient.Clear(); // the cell adds every step's share
        int chunks = TimeChunks.Count(steps, b, ChunkColumns);
        for (int chunk = chunks - 1; chunk >= 0; chunk--)
        {
            int start = TimeChunks.Start(chunk, chunks, steps);
            int end = TimeChunks.Start(chunk + 1, chunks, steps);
            int columns = (end - start) * b;
            Span<T> deltaU = _deltaU.AsSpan(0, gh * columns);
            Span<T> deltaV = cell.SeparateRecurrentDelta ? _deltaV.AsSpan(0, gh * columns) : deltaU;

            // dL/do of the chunk's columns, column c at c − firstColumn. A top layer with one direction takes the head's
            // share now, into δu's buffer ([H, columns] ≤ [G·H, columns]): step s reads its block (columns (s − start)·B …)
            // before its δu is written, and δu of step s lands at or after that block, on steps already read.
            ReadOnlySpan<T> chunkOutputGradient = outputGradient;
            int firstColumn = 0;
            if (headInWalk)
            {
                Span<T> headGradient = deltaU.Slice(0, outRows * columns);
                HeadChunk(cache, targets, targetOffset, gradients, start, end, chunk == chunks - 1, headGradient);
                chunkOutputGradient = headGradient;
                firstColumn = start * b;
            }

            for (int s = end - 1; s >= start; s--)
            {
                // The step's element-wise half, split between threads by columns (BackwardStepColumns): dL/dh_s =
                // dL/do[this direction's half] of step s, from its position, + what the later step sent back; zero in
                // padding (s ≥ length_b: it held zeros in the forward pass and nothing real read it, so no gradient crosses
                // it; dL/dc too); then the cell's backward step. Two cases stay on this thread, where one range's work
                // would touch another range's columns: a cell with its own weight (it sums that weight's gradient over
                // the columns, in column order), and a top layer's first step of a chunk when δu is wider than dL/do
                // (G > 1): δu of the first columns is written there over the head's dL/do of later columns.
                var work = new BackwardStepColumns<T>
                {
                    Cell = cell,
                    Step = s,
                    Steps = steps,
                    Batch = b,
                    Hidden = h,
                    StateRows = hs,
                    Direction = dir,
                    OutputRows = outRows,
                    FirstColumn = firstColumn,
                    Lengths = cache.Lengths,
                    Padded = padded,
                    OutputGradient = chunkOutputGradient,
                    HiddenGradient = dhs,
                    Later = future,
                    CellGradient = dc,
                    U = projections.AsSpan(projectionOffset + (s * gh * b), gh * b),
                    V = recurrent.AsSpan((cell.KeepsRecurrentProjection ? s : 0) * gh * b, gh * b),
                    HiddenPrevious = cache.StateBlock(hiddens, s),
                    CellPrevious = cell.HasCellState ? cache.StateBlock(cells, s) : default,
                    HiddenNext = cache.StateBlock(hiddens, s + 1),
                    CellNext = cell.HasCellState ? cache.StateBlock(cells, s + 1) : default,
                    DeltaU = deltaU.Slice((s - start) * gh * b, gh * b),
                    DeltaV = deltaV.Slice((s - start) * gh * b, gh * b),
                    OwnWeight = ownWeight,
                    OwnWeightGradient = ownWeightGradient,
                };
                if (ownWeightGradient.IsEmpty && !(headInWalk && s == start && gh != hs))
                {
                    ColumnParts.Run(ref work, b, gh + hs);
                }
                else
                {
                    work.Run(0, b);
                }

                bool anyPadding = false;
                for (int j = 0; padded && j < b; j++)
                {
                    anyPadding |= s >= lengths[j];
                }

                RecordNorm(dhs, s, dir, k, lengths, padded, norms, normSquares, hs);
                Span<T> dv = work.DeltaV;

                // The gradient reaching h_{s−1}: the cell's direct part plus W_hhᵀ δv_s.
                Gemm.Multiply(transposed, false, b, one, dv, gh, one, future, hs);
                if (anyPadding)
                {
                    for (int j = 0; j < b; j++)
                    {
                        if (s >= lengths[j])
                        {
                            future.Slice(j * hs, hs).Clear();
                            if (cell.HasCellState)
                            {
                                dc.Slice(j * h, h).Clear();
                            }
                        }
                    }
                }
            }

            // dW_ih (+)= Σ δu xᵀ, dW_hh (+)= Σ δv h_{s−1}ᵀ, db_ih (+)= Σ δu, db_hh (+)= Σ δv over the chunk's columns: the
            // first chunk walked writes them, the others add.
            // A fused bias b_h (the vanilla layer) is b_ih alone: δv = δu, so db_hh would repeat db_ih.
            T beta = chunk == chunks - 1 ? T.Zero : one;
            if (k == 0 && cache.IdInput && !model.HasEmbedding)
            {
                // Ids without an embedding: x is e_id, so δu xᵀ adds δu into W_ih's column id (RecurrentModel.Tokens).
                if (chunk == chunks - 1)
                {
                    g[tensor[0]].Clear();
                }

                model.ScatterInputWeightGradient(cache, dir, deltaU, start, end, g[tensor[0]]);
            }
            else
            {
                Gemm.Multiply(false, true, gh, inputRows, columns, one, deltaU, gh, x.Slice(start * b * inputRows, columns * inputRows), inputRows, beta, g[tensor[0]], gh);
            }

            Gemm.Multiply(false, true, gh, hs, columns, one, deltaV, gh, hiddens.AsSpan(start * b * hs, columns * hs), hs, beta, g[tensor[1]], gh);
            ColumnBlocks.SumColumns(deltaU, g[tensor[2]], beta);
            if (tensor[3] >= 0)
            {
                ColumnBlocks.SumColumns(deltaV, g[tensor[3]], beta);
            }

            // dL/dx = W_ihᵀ δu for the layer below (or the embedding), by position (the forward direction writes it, the
            // reverse adds to it).
            if (k > 0 || EmbeddingInput(cache))
            {
                if (dir == 0)
                {
                    Span<T> below = belowGradient.AsSpan(start * b * inputRows, columns * inputRows);
                    Gemm.Multiply(true, false, inputRows, columns, gh, one, model.InputWeights(ld), gh, deltaU, gh, T.Zero, below, inputRows);
                }
                else
                {
                    Span<T> reversed = _reversedInputGradient.AsSpan(0, inputRows * columns);
                    Gemm.Multiply(true, false, inputRows, columns, gh, one, model.InputWeights(ld), gh, deltaU, gh, T.Zero, reversed, inputRows);
                    SequenceOrder.AddReversed<T>(reversed, belowGradient, inputRows, start, end, lengths);
                }
            }
        }

        if (padded && dir == 1)
        {
            // The reverse direction's step s is a different position in each sequence: the norms were summed by position.
            for (int t = 0; t < steps; t++)
            {
                norms[t] = Math.Sqrt(normSquares[t]);
            }
        }

        future.CopyTo(gradients.InitialHiddenData[ld]);
        dc.CopyTo(gradients.InitialCellData[ld]);
    }

    /// <summary>|dL/dh| at processing step s, by position; a NaN or infinity is reported where it appeared.</summary>
    private void RecordNorm(
        ReadOnlySpan<T> dhs, int s, int dir, int k, ReadOnlySpan<int> lengths, bool padded, double[] norms, Span<double> normSquares, int h)
    {
        int steps = normSquares.Length;
        double norm;
        if (!padded || dir == 0)
        {
            // One position for every column (the padded ones are zero here): the norm of the whole block.
            norm = ColumnBlocks.FrobeniusNorm(dhs);
            norms[dir == 0 ? s : steps - 1 - s] = norm;
        }
        else
        {
            norm = 0;
            for (int j = 0; j < lengths.Length; j++)
            {
                if (s < lengths[j])
                {
                    double column = ColumnBlocks.FrobeniusNorm(dhs.Slice(j * h, h));
                    normSquares[dir == 0 ? s : lengths[j] - 1 - s] += column * column;
                    norm += column;
                }
            }
        }

        if (!double.IsFinite(norm))
        {
            int bad = Guard.IndexOfNonFinite(dhs);
            int sequence = bad >= 0 ? bad / h : 0;
            int position = dir == 0 ? s : lengths[sequence] - 1 - s;
            throw new NonFiniteValueException(
                $"gradient dL/dh_t{Model.Where(k, dir)}", position,
                bad >= 0 ? $"row {bad % h}, sequence {sequence}" : "its norm overflowed");
        }
    }

    private void Validate(ForwardCache<T> cache, SequenceTargets<T> targets)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(targets);
        BpttChecks<T>.RequireOwnCache(ReferenceEquals(cache.Owner, Model), cache.IsFilled, cache.Batch, targets, Model.Noun);

        bool fits = targets.Steps == cache.Steps || (targets.Steps == 1 && Placement == LossPlacement.LastStep);
        if (!fits)
        {
            throw new ArgumentException(
                $"targets cover {targets.Steps} steps but the loss ({Placement}) over a {cache.Steps}-step cache needs {(Placement == LossPlacement.EveryStep ? cache.Steps.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"1 or {cache.Steps}")}.",
                nameof(targets));
        }
    }

    private void EnsureWorkspace(ForwardCache<T> cache)
    {
        // Grow only: a steady-state call with the same (T, B) reuses the same arrays.
        RecurrentModel<T> model = Model;
        int h = model.HiddenSize;
        int b = cache.Batch;
        int columns = cache.Steps * b;
        int chunkColumns = TimeChunks.MaxSteps(cache.Steps, TimeChunks.Count(cache.Steps, b, ChunkColumns)) * b;
        int hs = model.StateSize;
        int gh = model.Cell.Gates * h;
        int dh = model.Directions * hs;
        Grow(ref _logitGradient, model.OutputSize * chunkColumns);
        // With an embedding, layer 0 sends dL/dx ([E, T·B]) down too: into whichever of the two buffers is "below" then.
        int embedding = EmbeddingInput(cache) ? model.InputSize : 0;
        Grow(ref _outputGradient, Math.Max(model.Directions == 2 || model.Layers > 2 ? dh * columns : 0, embedding * columns));
        Grow(ref _belowGradient, Math.Max(model.Layers > 1 ? dh * columns : 0, embedding * columns));
        Grow(ref _reversedInputGradient, model.Directions == 2 ? Math.Max(model.Layers > 1 ? dh : 0, embedding) * chunkColumns : 0);
        Grow(ref _stepGradient, hs * b);
        Grow(ref _deltaU, gh * chunkColumns);
        Grow(ref _deltaV, model.Cell.SeparateRecurrentDelta ? gh * chunkColumns : 0);
        Grow(ref _future, hs * b);
        Grow(ref _cellGradient, model.Cell.HasCellState ? h * b : 0);
        if (_normSquares.Length < cache.Steps)
        {
            _normSquares = new double[cache.Steps];
        }

        if (model.Cell.Gates > 1)
        {
            _recurrentWeightsTransposed ??= new PackedMatrix<T>(hs, gh);
        }
    }

    /// <summary>True when the cache's pass read ids through the model's embedding: layer 0 then sends dL/dx to the table.</summary>
    private bool EmbeddingInput(ForwardCache<T> cache) => cache.IdInput && Model.HasEmbedding;

    private static void Grow(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[length];
        }
    }
}
