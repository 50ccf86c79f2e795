using RnnCore.Internal;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;

namespace RnnCore.Training;

/// <content>Checkpoints: saving one after every epoch (<see cref="TrainerOptions.CheckpointPath"/>) and resuming a run from one.</content>
public sealed partial class Trainer<T>
{
    /// <summary>
    /// Continues a run from a checkpoint file that <see cref="TrainerOptions.CheckpointPath"/> wrote: loads it with
    /// <see cref="ModelFile.LoadCheckpoint{T}(string)"/>, then as <see cref="Resume(Checkpoint{T}, SequenceDataset{T}, SequenceDataset{T}, IProgress{TrainingProgress}, CancellationToken)"/>.
    /// </summary>
    /// <param name="checkpointPath">The checkpoint file.</param>
    /// <param name="training">The training set, the same as the interrupted run's.</param>
    /// <param name="validation">An optional validation set, measured after every epoch.</param>
    /// <param name="progress">Receives a report after every batch and at every epoch's end.</param>
    /// <param name="cancellationToken">Checked before every batch.</param>
    /// <returns>The <see cref="History"/> of the epochs run by this call.</returns>
    /// <exception cref="FileNotFoundException">There is no such file (file-system errors keep their own types).</exception>
    /// <exception cref="ModelFormatException">The file is not a valid checkpoint of <typeparamref name="T"/>; nothing is changed.</exception>
    /// <exception cref="ArgumentException">The checkpoint does not suit this trainer (see the other overload); nothing is changed.</exception>
    /// <exception cref="TrainingDivergedException">A NaN or infinity appeared; the parameters are the last good ones.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; every finished batch is applied, none half-applied.</exception>
    /// <exception cref="IOException">Writing the next checkpoint failed (permission denied and file-size limits included, wrapped with the original as inner exception).</exception>
    public History Resume(
        string checkpointPath,
        SequenceDataset<T> training,
        SequenceDataset<T>? validation = null,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointPath);
        return ResumeCore(ModelFile.LoadCheckpoint<T>(checkpointPath), nameof(checkpointPath), training, validation, progress, cancellationToken);
    }

    /// <summary>
    /// Continues a run from a checkpoint that <see cref="TrainerOptions.CheckpointPath"/> wrote after epoch k: puts the
    /// saved parameters (and a model's dropout generator state, and the vocabulary when the checkpoint holds one) into
    /// <see cref="Model"/> and the saved state into
    /// <see cref="Optimizer"/>, and trains epochs k + 1 to <see cref="TrainerOptions.Epochs"/> with the shuffling
    /// generator where it stood and the learning-rate schedule at epoch k + 1. With the same options and data, and an
    /// optimizer constructed as the interrupted run's, the parameters end bit-identical to those of a run that never
    /// stopped (the dropout masks included).
    /// </summary>
    /// <remarks>
    /// <para>
    /// The schedule's initial rate is the optimizer's <see cref="IOptimizer{T}.LearningRate"/> when this is called, before
    /// the saved state replaces it, as for <see cref="Fit"/>: construct the optimizer with the interrupted run's
    /// learning rate (to resume the same trainer after a cancellation, set it back first).
    /// </para>
    /// <para>
    /// Not restored, because the checkpoint does not hold them: the <see cref="History"/> of epochs 1 to k (the returned
    /// one holds epochs k + 1 on), and the early-stopping bookkeeping (best loss, <see cref="History.BestEpoch"/>,
    /// epochs without improvement, the best parameters), which starts afresh at epoch k + 1; so with
    /// <see cref="TrainerOptions.EarlyStoppingPatience"/> set, when to stop and which parameters to restore may differ
    /// from an uninterrupted run. Stateful mode's carried hidden state needs no restoring: it is reset at every epoch.
    /// </para>
    /// <para>Everything is checked before anything changes: a refused checkpoint leaves the network and the optimizer as they were.</para>
    /// </remarks>
    /// <param name="checkpoint">A checkpoint written by a trainer with <see cref="TrainerOptions.CheckpointPath"/> set.</param>
    /// <param name="training">The training set, the same as the interrupted run's.</param>
    /// <param name="validation">An optional validation set, measured after every epoch.</param>
    /// <param name="progress">Receives a report after every batch and at every epoch's end.</param>
    /// <param name="cancellationToken">Checked before every batch.</param>
    /// <returns>The <see cref="History"/> of the epochs run by this call (empty when the checkpoint is of the last epoch).</returns>
    /// <exception cref="ArgumentException">
    /// A dataset does not suit the network or the options; or the checkpoint's network is of another kind or has another
    /// cell, number of layers, directions, sizes, embedding, activations or dropout than <see cref="Model"/>, it holds no optimizer
    /// state or one of another kind of optimizer (or other options), it holds no training position, or its position is
    /// not one a trainer writes (between epochs, at most <see cref="TrainerOptions.Epochs"/>, four words of generator
    /// state). Nothing is changed.
    /// </exception>
    /// <exception cref="TrainingDivergedException">A NaN or infinity appeared; the parameters are the last good ones.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; every finished batch is applied, none half-applied.</exception>
    /// <exception cref="IOException">Writing the next checkpoint failed (permission denied and file-size limits included, wrapped with the original as inner exception).</exception>
    public History Resume(
        Checkpoint<T> checkpoint,
        SequenceDataset<T> training,
        SequenceDataset<T>? validation = null,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return ResumeCore(checkpoint, nameof(checkpoint), training, validation, progress, cancellationToken);
    }

    /// <summary>Resume proper; <paramref name="paramName"/> is the caller's argument that a refusal names (the checkpoint or its path).</summary>
    private History ResumeCore(
        Checkpoint<T> checkpoint,
        string paramName,
        SequenceDataset<T> training,
        SequenceDataset<T>? validation,
        IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        RecurrentModel<T> model = Model, saved = checkpoint.Model;
        ValidateDatasets(training, validation);
        if (saved.FusedBias != model.FusedBias || saved.Options with { Seed = 0 } != model.Options with { Seed = 0 })
        {
            throw new ArgumentException(
                $"checkpoint holds a {saved.Noun} {Describe(saved)} but the trainer's {model.Noun} is {Describe(model)} (the seed may differ, nothing else).",
                paramName);
        }

        (int epochsDone, SeededRandom shuffler) = ReadPosition(checkpoint.Position, paramName);
        double initialRate = RestoreOptimizer(checkpoint.OptimizerState, checkpoint.RestoreOptimizer, paramName);

        // As ModelFile.LoadInto: the parameters, the dropout generator's state (the masks of epoch k + 1 on are drawn from
        // where the interrupted run's generator stood) and the vocabulary when the checkpoint holds one.
        model.CopyStateFrom(saved);

        return Run(training, validation, progress, cancellationToken, epochsDone + 1, shuffler, initialRate);
    }

    /// <summary>A network's shape for a message: cell, layers, directions, sizes, dropout, activations.</summary>
    private static string Describe(RecurrentModel<T> network)
    {
        RecurrentModelOptions o = network.Options;
        string cell = network.Cell.Description.UsesHiddenActivation ? $"{o.Cell} cell with {o.HiddenActivation}" : $"{o.Cell} cell";
        return $"({cell}, {o.Layers} layer(s), {network.Directions} direction(s), " +
            $"I={o.InputSize}, H={o.HiddenSize}, O={o.OutputSize}" +
            $"{(o.VocabularySize > 0 ? $", embedding V={o.VocabularySize} padding {o.PaddingId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}" : string.Empty)}, dropout {o.Dropout}, {o.OutputActivation} output)";
    }

    /// <summary>Saves the checkpoint of epoch <paramref name="epoch"/> (1-based, just finished): the position names epoch <paramref name="epoch"/> 0-based, the next to run.</summary>
    private void SaveCheckpoint(string path, int epoch, SeededRandom shuffler) =>
        ModelFile.Save(Model, path, Optimizer, new TrainingPosition(epoch, 0, shuffler.GetState()));

    /// <summary>The epochs done and the shuffling generator of a position a trainer wrote; anything else is refused.</summary>
    /// <summary>
    /// Puts a checkpoint's optimizer state into <see cref="Optimizer"/> with <paramref name="restore"/> (the checkpoint's
    /// RestoreOptimizer); returns the learning rate the optimizer had before, the schedule's start.
    /// </summary>
    private double RestoreOptimizer(OptimizerState<T>? state, Action<IOptimizer<T>> restore, string paramName)
    {
        if (state is null)
        {
            throw new ArgumentException("checkpoint holds no optimizer state; it was saved without an optimizer, so the run cannot continue bit for bit.", paramName);
        }

        // Read before the saved state replaces it (the saved rate is epoch k's, not the schedule's start).
        double initialRate = Optimizer.LearningRate;
        try
        {
            // The last check, and the first change: RestoreOptimizer validates everything before changing anything.
            restore(Optimizer);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"checkpoint's optimizer state does not suit this trainer's optimizer: {e.Message}", paramName, e);
        }

        return initialRate;
    }

    private (int EpochsDone, SeededRandom Shuffler) ReadPosition(TrainingPosition? position, string paramName)
    {
        if (position is null)
        {
            throw new ArgumentException("checkpoint holds no training position; it was saved as a model file, not by a trainer with CheckpointPath set.", paramName);
        }

        if (position.Batch != 0)
        {
            throw new ArgumentException(
                $"checkpoint's position is batch {position.Batch} of epoch {position.Epoch}, inside an epoch; a trainer writes and resumes checkpoints between epochs only.",
                paramName);
        }

        if (position.Epoch > Options.Epochs)
        {
            throw new ArgumentException(
                $"checkpoint was saved after epoch {position.Epoch}, beyond this trainer's Epochs = {Options.Epochs}.", paramName);
        }

        try
        {
            return ((int)position.Epoch, SeededRandom.FromState(position.RandomState));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"checkpoint's random state is not the trainer's shuffling generator's: {e.Message}", paramName, e);
        }
    }
}
