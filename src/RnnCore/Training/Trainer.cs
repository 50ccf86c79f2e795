using System.Diagnostics;
using RnnCore.Internal;
using RnnCore.Models;
using RnnCore.Optimizers;

namespace RnnCore.Training;

/// <summary>
/// Trains any network, a <see cref="RecurrentLayer{T}"/> or any other <see cref="RecurrentModel{T}"/> (LSTM, GRU or vanilla cells, stacked,
/// bidirectional, with dropout) on a <see cref="SequenceDataset{T}"/>: epochs of shuffled mini-batches of
/// variable-length sequences, an optional validation set, early stopping that restores the best parameters,
/// learning-rate schedules, truncated BPTT, stateful mode, gradient-health reports, divergence detection, progress and
/// cancellation.
/// </summary>
/// <remarks>
/// <para>
/// A batch holds up to <see cref="TrainerOptions.BatchSize"/> sequences padded to the longest of them; their lengths go
/// to the forward pass and BPTT, so padded steps change nothing (see
/// <see cref="RecurrentModel{T}.Forward(IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}}, ForwardCache{T}, IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}}, IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}}, IReadOnlyList{int}, bool)"/>).
/// A batch whose sequences all have the same length takes the plain path, bit-identical to calling
/// <c>Forward</c>, <c>Bptt.Backward</c>, <c>Clipping.Apply</c> and <c>IOptimizer.Step</c> by hand. Caches and gradient
/// buffers are kept per (steps, batch size), so the steady state of an epoch allocates little.
/// </para>
/// <para>
/// Each optimizer step: forward, BPTT, clipping (the norm before clipping is recorded), a copy of the parameters as the
/// last good ones, the update, a check that the parameters are finite. A NaN or infinity anywhere stops training with a
/// <see cref="TrainingDivergedException"/> after restoring the last good parameters. Cancellation is checked before
/// every batch: a cancelled run throws <see cref="OperationCanceledException"/> with every finished batch applied and
/// none half-applied. Not thread-safe: one trainer, one thread.
/// </para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Trainer<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private readonly TrainableNetwork<T> _network;
    private readonly BatchBufferSet _batches = new();
    private readonly Dictionary<(int Steps, int Batch), NetworkPass<T>> _chunks = [];
    private readonly T[][] _lastGood;
    private readonly T[][] _best;
    private readonly int[] _chunkLengths;
    private T[] _state = []; // stateful mode: the final state of each column of the previous batch, [StateRows, B]
    private T[] _carry = []; // truncated BPTT: the state carried from chunk to chunk, [StateRows, B]
    private bool _hasLastGood;
    private EpochAccumulator _epoch = new();

    /// <summary>
    /// Creates a trainer for any network: a <see cref="RecurrentLayer{T}"/>, or a <see cref="RecurrentModel{T}"/>
    /// (vanilla, LSTM or GRU cells, stacked, bidirectional, with dropout), with dropout active in training passes and off
    /// for validation, <see cref="Evaluate"/> and prediction, and, in stateful mode and truncated BPTT, every layer's h
    /// (and c for LSTM) carried.
    /// </summary>
    /// <remarks>
    /// The trainer keeps one cache per batch size and uses its first T steps for a batch of T steps: memory stays
    /// bounded, and batches of any length allocate nothing. Truncated BPTT needs a unidirectional model (a reverse
    /// direction would read the future of a chunk).
    /// </remarks>
    /// <param name="model">The network to train (its parameters change in place; its generator draws the dropout masks).</param>
    /// <param name="optimizer">The update rule; its <see cref="IOptimizer{T}.LearningRate"/> at the start of <see cref="Fit"/> is the schedule's initial rate.</param>
    /// <param name="options">The options; defaults when null.</param>
    /// <exception cref="ArgumentException">The options are inconsistent, or <see cref="TrainerOptions.TruncationLength"/> is set for a bidirectional model.</exception>
    public Trainer(RecurrentModel<T> model, IOptimizer<T> optimizer, TrainerOptions? options = null)
        : this(new TrainableNetwork<T>(model ?? throw new ArgumentNullException(nameof(model))), optimizer, options)
    {
        if (Options.TruncationLength is int k && model.Options.Bidirectional)
        {
            throw new ArgumentException(
                $"TruncationLength is {k} but the model is bidirectional: its reverse direction reads each chunk's future, so truncated BPTT needs a unidirectional model.",
                nameof(options));
        }
    }

    private Trainer(TrainableNetwork<T> network, IOptimizer<T> optimizer, TrainerOptions? options)
    {
        Model = network.Model;
        ArgumentNullException.ThrowIfNull(optimizer);
        options ??= new TrainerOptions();
        options.Validate();
        if (options.CheckpointPath is not null && optimizer is not OptimizerBase<T>)
        {
            // Refused here rather than after the first epoch, when the first checkpoint would fail.
            throw new ArgumentException(
                $"optimizer is a {optimizer.GetType().Name}, whose state cannot be saved; CheckpointPath needs one of RnnCore's optimizers (OptimizerBase<T>).",
                nameof(optimizer));
        }

        _network = network;
        Optimizer = optimizer;
        Options = options;
        TensorSet<T> parameters = network.Parameters;
        _lastGood = Enumerable.Range(0, parameters.Count).Select(i => new T[parameters.GetLength(i)]).ToArray();
        _best = Enumerable.Range(0, parameters.Count).Select(i => new T[parameters.GetLength(i)]).ToArray();
        _chunkLengths = new int[options.BatchSize];
        ValidateMetrics();
    }

    private string Owner => Model.Noun;

    /// <summary>The network being trained (a <see cref="RecurrentLayer{T}"/> or any other <see cref="RecurrentModel{T}"/>).</summary>
    public RecurrentModel<T> Model { get; }

    /// <summary>The optimizer.</summary>
    public IOptimizer<T> Optimizer { get; }

    /// <summary>The options.</summary>
    public TrainerOptions Options { get; }

    /// <summary>
    /// The history of the current or last <see cref="Fit"/> or <c>Resume</c> (complete up to the last finished epoch,
    /// also after a cancellation; a resumed run's holds only the epochs it ran).
    /// </summary>
    public History History { get; private set; } = new();

    /// <summary>
    /// Trains for <see cref="TrainerOptions.Epochs"/> epochs (fewer with early stopping or a callback's stop).
    /// </summary>
    /// <param name="training">The training set.</param>
    /// <param name="validation">An optional validation set, measured after every epoch.</param>
    /// <param name="progress">Receives a report after every batch and at every epoch's end, on the training thread's call to <see cref="IProgress{T}.Report"/>.</param>
    /// <param name="cancellationToken">Checked before every batch.</param>
    /// <returns>The <see cref="History"/>.</returns>
    /// <exception cref="ArgumentException">A dataset does not suit the layer or the options (input size, target kind or size, class range, targets that contradict the <see cref="Placement"/>).</exception>
    /// <exception cref="TrainingDivergedException">A NaN or infinity appeared; the parameters are the last good ones.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; every finished batch is applied, none half-applied.</exception>
    /// <exception cref="IOException">Writing the checkpoint to <see cref="TrainerOptions.CheckpointPath"/> failed (permission denied and file-size limits included, wrapped with the original as inner exception); the epoch is applied and recorded, the previous checkpoint file is unchanged.</exception>
    public History Fit(
        SequenceDataset<T> training,
        SequenceDataset<T>? validation = null,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ValidateDatasets(training, validation);
        return Run(training, validation, progress, cancellationToken, 1, new SeededRandom(Options.Seed), Optimizer.LearningRate);
    }

    /// <summary>
    /// The training loop from <paramref name="firstEpoch"/> (1-based) to <see cref="TrainerOptions.Epochs"/>, shuffling
    /// with <paramref name="shuffler"/> and scheduling from <paramref name="initialRate"/>; the datasets are validated.
    /// </summary>
    private History Run(
        SequenceDataset<T> training,
        SequenceDataset<T>? validation,
        IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken,
        int firstEpoch,
        SeededRandom shuffler,
        double initialRate)
    {
        var history = new History();
        History = history;
        int[] order = Enumerable.Range(0, training.Count).ToArray();
        int batchSize = Options.BatchSize;
        int batchesPerEpoch = (training.Count + batchSize - 1) / batchSize;
        long totalBatches = (long)batchesPerEpoch * (Options.Epochs - firstEpoch + 1);
        long batchesDone = 0;
        long examplesDone = 0;
        var clock = Stopwatch.StartNew();
        double bestLoss = double.NaN; // the best monitored value so far; NaN before the first epoch
        int epochsWithoutImprovement = 0;
        bool earlyStopping = Options.EarlyStoppingPatience is not null;
        GradientHealth? lastHealth = null;
        _hasLastGood = false;

        for (int epoch = firstEpoch; epoch <= Options.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            TimeSpan epochStart = clock.Elapsed;
            double rate = Options.LearningRateSchedule.RateAt(epoch - 1, initialRate);
            Optimizer.LearningRate = rate;
            if (Options.Shuffle)
            {
                // Each epoch shuffles 0..n-1 afresh, so its order depends on the generator's state alone (which a
                // checkpoint holds), not also on the previous epoch's order.
                for (int i = 0; i < order.Length; i++)
                {
                    order[i] = i;
                }

                Shuffle(order, shuffler);
            }

            ResetState(batchSize);
            _epoch = new EpochAccumulator();
            for (int batch = 1; batch <= batchesPerEpoch; batch++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int start = (batch - 1) * batchSize;
                ReadOnlySpan<int> members = order.AsSpan(start, Math.Min(batchSize, training.Count - start));
                (double batchLoss, double norm) = TrainBatch(training, members, epoch, batch);
                batchesDone++;
                examplesDone += members.Length;
                TimeSpan elapsed = clock.Elapsed;
                var report = new TrainingProgress(
                    epoch, Options.Epochs, batch, batchesPerEpoch, batchLoss, _epoch.Loss, norm, rate,
                    examplesDone / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed,
                    TimeSpan.FromTicks((long)(elapsed.Ticks / (double)batchesDone * (totalBatches - batchesDone))),
                    false, lastHealth, null);
                progress?.Report(report);
                foreach (ITrainingCallback callback in Options.Callbacks)
                {
                    callback.OnBatchEnd(report);
                }
            }

            EvaluationResult? validated = validation is null ? null : EvaluateCore(validation, epoch);
            GradientHealth health = AssessHealth();
            lastHealth = health;
            var record = new EpochRecord(
                epoch, _epoch.Loss, validated?.Loss, validated?.Accuracy, rate, health, batchesPerEpoch, _epoch.Steps, clock.Elapsed - epochStart)
            {
                Validation = validated,
            };
            history.Add(record);

            // Early stopping monitors TrainerOptions.Monitor on the validation set, or by default the validation loss when
            // there is one (Keras's val_loss), else the training loss.
            double monitored = Monitored(validated, record);
            if (Improves(monitored, bestLoss))
            {
                bestLoss = monitored;
                history.BestEpoch = epoch;
                epochsWithoutImprovement = 0;
                if (earlyStopping)
                {
                    Copy(_network.Parameters, _best);
                }
            }
            else
            {
                epochsWithoutImprovement++;
            }

            // Saved before the epoch's reports, so that a handler that ends the process there still finds the epoch on disk.
            if (Options.CheckpointPath is string checkpointPath)
            {
                SaveCheckpoint(checkpointPath, epoch, shuffler);
            }

            TimeSpan now = clock.Elapsed;
            long remaining = (long)batchesPerEpoch * (Options.Epochs - epoch);
            progress?.Report(new TrainingProgress(
                epoch, Options.Epochs, batchesPerEpoch, batchesPerEpoch, _epoch.LastBatchLoss, record.TrainingLoss, _epoch.LastNorm, rate,
                examplesDone / Math.Max(now.TotalSeconds, 1e-9), now,
                TimeSpan.FromTicks((long)(now.Ticks / (double)batchesDone * remaining)), true, health, record));

            bool stop = false;
            foreach (ITrainingCallback callback in Options.Callbacks)
            {
                stop |= callback.OnEpochEnd(record) == TrainingDecision.Stop;
            }

            if (earlyStopping && epochsWithoutImprovement >= Options.EarlyStoppingPatience)
            {
                history.StoppedEarly = epoch < Options.Epochs;
                break;
            }

            if (stop)
            {
                history.StoppedByCallback = true;
                break;
            }
        }

        if (earlyStopping && history.BestEpoch > 0 && (history.StoppedEarly || Options.RestoreBestParameters)
            && history.BestEpoch != history.Epochs.Count)
        {
            Restore(_best);
            history.RestoredBestParameters = true;
        }

        return history;
    }

    /// <summary>
    /// The loss and metrics of the layer's current parameters on a dataset, in batches of <see cref="TrainerOptions.BatchSize"/>,
    /// in order: accuracy for softmax and sigmoid outputs, MAE and RMSE for identity outputs, and every metric of
    /// <see cref="TrainerOptions.Metrics"/> and <see cref="TrainerOptions.Monitor"/>.
    /// </summary>
    /// <param name="data">The dataset.</param>
    /// <returns>The loss and accuracy.</returns>
    /// <exception cref="ArgumentException">The dataset does not suit the layer or the options.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on the data.</exception>
    public EvaluationResult Evaluate(SequenceDataset<T> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        PlacementSource placement = PlacementFor(data, nameof(data), null, string.Empty);
        ValidateDataset(data, nameof(data), placement);
        CommitPlacement(placement);
        return EvaluateCore(data, 0);
    }

    private void ValidateDatasets(SequenceDataset<T> training, SequenceDataset<T>? validation)
    {
        ArgumentNullException.ThrowIfNull(training);
        PlacementSource placement = PlacementFor(training, nameof(training), validation, nameof(validation));
        ValidateDataset(training, nameof(training), placement);
        if (validation is not null)
        {
            ValidateDataset(validation, nameof(validation), placement);
        }

        RequireMonitorData(validation);
        CommitPlacement(placement);
    }

    private EvaluationResult EvaluateCore(SequenceDataset<T> data, int epoch)
    {
        int batchSize = Options.BatchSize;
        ResetState(batchSize);
        double lossSum = 0, weightSum = 0;
        long correct = 0, scored = 0;
        MetricAccumulator[] metrics = StartMetrics();
        int batches = (data.Count + batchSize - 1) / batchSize;
        int[] all = Enumerable.Range(0, data.Count).ToArray();
        for (int batch = 0; batch < batches; batch++)
        {
            ReadOnlySpan<int> members = all.AsSpan(batch * batchSize, Math.Min(batchSize, data.Count - (batch * batchSize)));
            BatchBuffers buffers = Assemble(data, members);
            NetworkPass<T> cache = buffers.FullPass(ScoredPlacement, Options.Reduction);
            PrepareFullCache(buffers, cache);
            double loss;
            try
            {
                cache.Forward(training: false);
                loss = cache.Loss(buffers.Targets);
            }
            catch (NonFiniteValueException e) when (epoch > 0)
            {
                throw Diverged(epoch, batch + 1, e.Step, e.Quantity, true, e);
            }

            if (!double.IsFinite(loss) && epoch > 0)
            {
                throw Diverged(epoch, batch + 1, -1, "validation loss", true, null);
            }

            (double weight, long items) = Weight(buffers.Lengths, members.Length, ScoredPlacement);
            lossSum += Options.Reduction == LossReduction.Mean ? loss * weight : loss;
            weightSum += weight;
            if (_network.OutputActivation == OutputActivation.Softmax)
            {
                correct += CountCorrect(cache, buffers);
                scored += items;
            }

            ScoreMetrics(cache, buffers, metrics);

            SaveState(cache, members.Length);
        }

        return FinishEvaluation(lossSum / weightSum, _network.OutputActivation == OutputActivation.Softmax ? correct / (double)scored : null, metrics);
    }

    /// <summary>One batch: the padded inputs and targets, then one optimizer step (or one per chunk). Returns the batch's loss and last gradient norm.</summary>
    private (double Loss, double Norm) TrainBatch(SequenceDataset<T> data, ReadOnlySpan<int> members, int epoch, int batch)
    {
        BatchBuffers buffers = Assemble(data, members);
        int b = members.Length;
        double lossSum = 0, weightSum = 0, norm = 0;
        if (Options.TruncationLength is not int k)
        {
            NetworkPass<T> cache = buffers.FullPass(ScoredPlacement, Options.Reduction);
            PrepareFullCache(buffers, cache);
            (double loss, norm) = OptimizerStep(cache, buffers.Targets, 0, epoch, batch, 0, buffers.Steps);
            (double weight, _) = Weight(buffers.Lengths, b, ScoredPlacement);
            lossSum = Options.Reduction == LossReduction.Mean ? loss * weight : loss;
            weightSum = weight;
            SaveState(cache, b);
        }
        else
        {
            int steps = buffers.Steps;
            EnsureLength(ref _carry, _network.StateRows * b);
            Span<T> carry = _carry.AsSpan(0, _network.StateRows * b);
            _state.AsSpan(0, carry.Length).CopyTo(carry);
            int block = _network.InputSize * b;
            for (int start = 0; start < steps; start += k)
            {
                int length = Math.Min(k, steps - start);
                NetworkPass<T> cache = ChunkBuffers(length, b);
                cache.IdInput = buffers.Tokens;
                if (buffers.Tokens)
                {
                    buffers.Ids.AsSpan(start * b, length * b).CopyTo(cache.Ids);
                }
                else
                {
                    buffers.Inputs.AsSpan(start * block, length * block).CopyTo(cache.Inputs);
                }

                cache.LoadState(carry);

                // Each sequence's real steps within this chunk: 0 when it ended before the chunk (its state is carried).
                bool padded = false;
                for (int j = 0; j < b; j++)
                {
                    cache.Lengths[j] = Math.Clamp(buffers.Lengths[j] - start, 0, length);
                    padded |= cache.Lengths[j] < length;
                }

                cache.HasLengths = padded;
                (double loss, norm) = OptimizerStep(cache, buffers.Targets, start, epoch, batch, start, length);
                for (int j = 0; j < b; j++)
                {
                    _chunkLengths[j] = cache.Lengths[j];
                }

                (double weight, _) = Weight(_chunkLengths.AsSpan(0, b), b, LossPlacement.EveryStep);
                lossSum += Options.Reduction == LossReduction.Mean ? loss * weight : loss;
                weightSum += Options.Reduction == LossReduction.Mean ? weight : 0;
                cache.StoreFinalState(carry);
            }

            if (Options.Reduction == LossReduction.Sum)
            {
                weightSum = b;
            }

            if (Options.Stateful)
            {
                carry.CopyTo(_state);
            }
        }

        _epoch.AddBatch(lossSum, weightSum, norm);
        return (lossSum / weightSum, norm);
    }

    /// <summary>
    /// Forward, BPTT, clipping, snapshot, update, check: one optimizer step on a prepared cache. Any NaN or infinity
    /// restores the last good parameters and throws.
    /// </summary>
    private (double Loss, double Norm) OptimizerStep(
        NetworkPass<T> cache, SequenceTargets<T> targets, int targetStep0, int epoch, int batch, int stepOffset, int realSteps)
    {
        double loss;
        try
        {
            cache.Forward(training: true);
            loss = cache.Backward(targets, targetStep0);
        }
        catch (NonFiniteValueException e)
        {
            throw Diverged(epoch, batch, e.Step < 0 ? -1 : stepOffset + e.Step, e.Quantity, false, e);
        }

        if (!double.IsFinite(loss))
        {
            throw Diverged(epoch, batch, -1, "loss", false, null);
        }

        TensorSet<T> gradients = cache.ParameterGradients;
        Clipping clipping = Options.Clipping;
        bool fired = clipping.Mode == ClippingMode.Value && MaxMagnitude(gradients) > clipping.Threshold;
        double norm = clipping.Apply(gradients);
        if (!double.IsFinite(norm))
        {
            throw Diverged(epoch, batch, -1, "global gradient norm", false, null);
        }

        // PyTorch's clip_grad_norm_ rescales when maxNorm / (norm + 1e-6) < 1.
        fired |= clipping.Mode == ClippingMode.GlobalNorm && clipping.Threshold / (norm + 1e-6) < 1;

        TensorSet<T> parameters = _network.Parameters;
        Copy(parameters, _lastGood);
        _hasLastGood = true;
        try
        {
            Optimizer.Step(parameters, gradients);
        }
        catch (NonFiniteValueException e)
        {
            // RnnCore's optimizers refuse such a step and leave the parameters as they were.
            throw Diverged(epoch, batch, -1, e.Quantity, false, e);
        }

        for (int p = 0; p < parameters.Count; p++)
        {
            if (Guard.IndexOfNonFinite<T>(parameters[p]) >= 0)
            {
                throw Diverged(epoch, batch, -1, $"parameter {parameters.GetName(p)}", false, null);
            }
        }

        _epoch.AddStep(cache, _network, realSteps, norm, fired);
        return (loss, norm);
    }

    private TrainingDivergedException Diverged(int epoch, int batch, int step, string quantity, bool validation, Exception? inner)
    {
        if (_hasLastGood)
        {
            Restore(_lastGood);
        }

        return new TrainingDivergedException(epoch, batch, step, quantity, validation, History, inner);
    }

    /// <summary>Copies a batch's sequences into padded buffers: inputs (zeros past each end), lengths and targets.</summary>
    private BatchBuffers Assemble(SequenceDataset<T> data, ReadOnlySpan<int> members)
    {
        int b = members.Length;
        int steps = 0;
        foreach (int index in members)
        {
            steps = Math.Max(steps, data[index].Length);
        }

        bool lastStep = ScoredPlacement == LossPlacement.LastStep;
        BatchBuffers buffers = _batches.For(_network, steps, b, lastStep, data.IsClasses);
        int i = _network.InputSize;
        int o = data.TargetSize;
        T[] inputs = buffers.Inputs;
        buffers.Tokens = data.IsTokens;
        if (data.IsTokens)
        {
            buffers.Ids.AsSpan(0, steps * b).Fill(-1);
        }
        else
        {
            inputs.AsSpan(0, i * steps * b).Clear();
        }

        buffers.Padded = false;
        for (int j = 0; j < b; j++)
        {
            Sequence<T> sequence = data[members[j]];
            int length = sequence.Length;
            buffers.Lengths[j] = length;
            buffers.Padded |= length < steps;
            for (int t = 0; t < length; t++)
            {
                if (data.IsTokens)
                {
                    buffers.Ids[(t * b) + j] = sequence.Ids![t];
                }
                else
                {
                    sequence.Inputs.AsSpan(t * i, i).CopyTo(inputs.AsSpan(((t * b) + j) * i, i));
                }
            }

            // Targets: every step (padding gets class 0 / zeros, never scored), or the sequence's last target.
            int targetSteps = lastStep ? 1 : steps;
            for (int t = 0; t < targetSteps; t++)
            {
                int source = lastStep ? sequence.TargetSteps - 1 : t;
                bool real = lastStep || t < length;
                if (buffers.Classes is not null)
                {
                    buffers.Classes[(t * b) + j] = real ? sequence.Classes![source] : 0;
                }
                else
                {
                    Span<T> destination = buffers.Values.AsSpan(((t * b) + j) * o, o);
                    if (real)
                    {
                        sequence.Values.AsSpan(source * o, o).CopyTo(destination);
                    }
                    else
                    {
                        destination.Clear();
                    }
                }
            }
        }

        return buffers;
    }

    /// <summary>Inputs, lengths and the initial state (the carried state in stateful mode, zeros otherwise) into a full-length pass.</summary>
    private void PrepareFullCache(BatchBuffers buffers, NetworkPass<T> cache)
    {
        int columns = cache.Steps * cache.Batch;
        cache.IdInput = buffers.Tokens;
        if (buffers.Tokens)
        {
            buffers.Ids.AsSpan(0, columns).CopyTo(cache.Ids);
        }
        else
        {
            buffers.Inputs.AsSpan(0, _network.InputSize * columns).CopyTo(cache.Inputs);
        }

        buffers.Lengths.CopyTo(cache.Lengths.AsSpan());
        cache.HasLengths = buffers.Padded;
        cache.LoadState(_state.AsSpan(0, _network.StateRows * cache.Batch));
    }

    /// <summary>Stateful mode keeps each column's final state (every layer's h, and c) for the next batch; otherwise every batch starts from zeros.</summary>
    private void SaveState(NetworkPass<T> cache, int b)
    {
        if (Options.Stateful)
        {
            cache.StoreFinalState(_state.AsSpan(0, _network.StateRows * b));
        }
    }

    private void ResetState(int batchSize)
    {
        EnsureLength(ref _state, _network.StateRows * batchSize);
        Array.Clear(_state);
    }

    private NetworkPass<T> ChunkBuffers(int length, int b)
    {
        if (!_chunks.TryGetValue((length, b), out NetworkPass<T>? pass))
        {
            pass = _network.CreatePass(length, b, ScoredPlacement, Options.Reduction);
            _chunks.Add((length, b), pass);
        }

        return pass;
    }

    /// <summary>
    /// A batch's weight in the epoch's loss and its scored items: Mean weighs by the items the batch's mean divides by
    /// ((step, sequence) items, times O for BCE and squared error); Sum by the number of sequences.
    /// </summary>
    private (double Weight, long Items) Weight(ReadOnlySpan<int> lengths, int b, LossPlacement placement)
    {
        long items = 0;
        for (int j = 0; j < b; j++)
        {
            items += placement == LossPlacement.LastStep ? Math.Min(lengths[j], 1) : lengths[j];
        }

        double weight = Options.Reduction == LossReduction.Sum ? b
            : _network.OutputActivation == OutputActivation.Softmax ? items : (double)items * _network.OutputSize;
        return (weight, items);
    }

    private long CountCorrect(NetworkPass<T> cache, BatchBuffers buffers)
    {
        int o = _network.OutputSize;
        int b = cache.Batch;
        long correct = 0;
        for (int j = 0; j < b; j++)
        {
            int length = buffers.Lengths[j];
            int first = ScoredPlacement == LossPlacement.LastStep ? length - 1 : 0;
            for (int t = first; t < length; t++)
            {
                ReadOnlySpan<T> output = cache.Output((t * b) + j);
                int best = 0;
                for (int c = 1; c < o; c++)
                {
                    if (output[c] > output[best])
                    {
                        best = c;
                    }
                }

                int target = buffers.Classes![(ScoredPlacement == LossPlacement.LastStep ? 0 : t * b) + j];
                correct += best == target ? 1 : 0;
            }
        }

        return correct;
    }

    private void ValidateDataset(SequenceDataset<T> data, string paramName, PlacementSource placement)
    {
        ArgumentNullException.ThrowIfNull(data, paramName);
        RecurrentModel<T> model = _network.Model;
        if (data.IsTokens)
        {
            if (data.MaxId >= model.IdCount)
            {
                throw new ArgumentException(
                    $"{paramName} holds token id {data.MaxId} but the {Owner} reads ids in [0, {model.IdCount}) ({(model.HasEmbedding ? "its embedding's VocabularySize" : "its inputSize: ids index W_ih's columns")}).", paramName);
            }
        }
        else if (model.HasEmbedding)
        {
            throw new ArgumentException($"{paramName} holds vectors but the {Owner} has an embedding (VocabularySize {model.VocabularySize}); give it token sequences (Sequence.FromTokens).", paramName);
        }
        else if (data.InputSize != _network.InputSize)
        {
            throw new ArgumentException($"{paramName} has input size {data.InputSize} but the {Owner}'s inputSize is {_network.InputSize}.", paramName);
        }

        bool softmax = _network.OutputActivation == OutputActivation.Softmax;
        if (data.IsClasses != softmax || (!softmax && data.TargetSize != _network.OutputSize))
        {
            throw new ArgumentException(
                softmax
                    ? $"{paramName} has value targets but a softmax output is trained with class indices."
                    : $"{paramName} has {(data.IsClasses ? "class targets" : $"value targets of size {data.TargetSize}")} but a {_network.OutputActivation} output needs value targets of size {_network.OutputSize}.",
                paramName);
        }

        for (int s = 0; s < data.Count; s++)
        {
            Sequence<T> sequence = data[s];
            RequireFitsPlacement(sequence, paramName, s, placement);

            if (sequence.Classes is not null)
            {
                foreach (int c in sequence.Classes)
                {
                    if (c >= _network.OutputSize)
                    {
                        throw new ArgumentOutOfRangeException(
                            paramName,
                            c,
                            $"{paramName}[{s}] has class {c} but the {Owner}'s outputSize is {_network.OutputSize}, so classes must be in [0, {_network.OutputSize - 1}] (classes count from 0).");
                    }
                }
            }
            else if (_network.OutputActivation == OutputActivation.Sigmoid)
            {
                foreach (T v in sequence.Values!)
                {
                    if (!(v >= T.Zero && v <= T.One))
                    {
                        throw new ArgumentOutOfRangeException(paramName, v, $"{paramName}[{s}] has a binary cross-entropy target {v} outside [0, 1].");
                    }
                }
            }
        }
    }

    /// <summary>Fisher-Yates with the run's generator: the same seed gives the same order on every machine.</summary>
    internal static void Shuffle(int[] order, SeededRandom random)
    {
        for (int i = order.Length - 1; i > 0; i--)
        {
            // An unbiased index in [0, i] by rejection (no modulo bias).
            ulong bound = (ulong)i + 1;
            ulong limit = ulong.MaxValue - (ulong.MaxValue % bound);
            ulong r;
            do
            {
                r = random.NextUInt64();
            }
            while (r >= limit);

            int j = (int)(r % bound);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    private static double MaxMagnitude(TensorSet<T> gradients)
    {
        double max = 0;
        for (int p = 0; p < gradients.Count; p++)
        {
            foreach (T g in gradients[p])
            {
                max = Math.Max(max, Math.Abs(double.CreateTruncating(g)));
            }
        }

        return max;
    }

    private static void Copy(TensorSet<T> source, T[][] destination)
    {
        for (int p = 0; p < source.Count; p++)
        {
            source[p].CopyTo(destination[p]);
        }
    }

    private void Restore(T[][] snapshot)
    {
        for (int p = 0; p < snapshot.Length; p++)
        {
            snapshot[p].CopyTo(_network.Parameters[p]);
        }
    }

    private static void EnsureLength(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[length];
        }
    }

    /// <summary>The epoch's gradient health: one entry per layer-direction, the verdict from the most extreme of them.</summary>
    private GradientHealth AssessHealth()
    {
        int count = _network.LayerDirections;
        var layers = new LayerGradientHealth[count];
        for (int ld = 0; ld < count; ld++)
        {
            (int layer, int direction) = _network.Locate(ld);
            double ratio = _epoch.Ratio(ld);
            layers[ld] = new LayerGradientHealth(
                layer, direction, GradientHealth.VerdictOf(Options, ratio), ratio, _epoch.LastDhNorms(ld), _network.SpectralRadius(ld));
        }

        return GradientHealth.Assess(Options, layers, count > 1, _epoch.MeanNorm, _epoch.MaxNorm, _epoch.ClipFraction);
    }

    /// <summary>An epoch's running figures: the loss, and the gradient-health statistics over its optimizer steps.</summary>
    private sealed class EpochAccumulator
    {
        private double _lossSum;
        private double _weightSum;
        private double[] _logRatioSums = [];
        private int[] _ratioCounts = [];
        private double[][] _lastDhNorms = [];
        private double _normSum;
        private int _clipped;

        public double Loss => _weightSum > 0 ? _lossSum / _weightSum : double.NaN;

        public double LastBatchLoss { get; private set; }

        public double LastNorm { get; private set; }

        public long Steps { get; private set; }

        public double MaxNorm { get; private set; }

        public double MeanNorm => Steps > 0 ? _normSum / Steps : 0;

        public double ClipFraction => Steps > 0 ? _clipped / (double)Steps : 0;

        public double Ratio(int layerDirection) => layerDirection < _ratioCounts.Length && _ratioCounts[layerDirection] > 0
            ? Math.Exp(_logRatioSums[layerDirection] / _ratioCounts[layerDirection])
            : double.NaN;

        public double[] LastDhNorms(int layerDirection) => layerDirection < _lastDhNorms.Length ? _lastDhNorms[layerDirection] : [];

        public void AddBatch(double lossSum, double weightSum, double norm)
        {
            _lossSum += lossSum;
            _weightSum += weightSum;
            LastBatchLoss = lossSum / weightSum;
            LastNorm = norm;
        }

        /// <summary>
        /// One optimizer step: its norm, and each layer-direction's ‖dL/dh‖ at its first and last processed step over the
        /// chunk's <paramref name="realSteps"/> (position 0 to realSteps − 1 forward, the other way for a reverse direction).
        /// </summary>
        public void AddStep(NetworkPass<T> pass, TrainableNetwork<T> network, int realSteps, double norm, bool clipped)
        {
            Steps++;
            _normSum += norm;
            MaxNorm = Math.Max(MaxNorm, norm);
            _clipped += clipped ? 1 : 0;
            int count = network.LayerDirections;
            if (_ratioCounts.Length != count)
            {
                _logRatioSums = new double[count];
                _ratioCounts = new int[count];
                _lastDhNorms = new double[count][];
                for (int ld = 0; ld < count; ld++)
                {
                    _lastDhNorms[ld] = [];
                }
            }

            for (int ld = 0; ld < count; ld++)
            {
                ReadOnlySpan<double> dhNorms = pass.DhNorms(ld).Slice(0, realSteps);
                bool reverse = network.Locate(ld).Direction == 1;
                double first = reverse ? dhNorms[^1] : dhNorms[0], last = reverse ? dhNorms[0] : dhNorms[^1];
                if (first > 0 && last > 0 && double.IsFinite(first / last))
                {
                    _logRatioSums[ld] += Math.Log(first / last);
                    _ratioCounts[ld]++;
                }

                if (_lastDhNorms[ld].Length != dhNorms.Length)
                {
                    _lastDhNorms[ld] = new double[dhNorms.Length];
                }

                dhNorms.CopyTo(_lastDhNorms[ld]);
            }
        }
    }
}
