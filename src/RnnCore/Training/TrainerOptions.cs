using RnnCore.Models;
using RnnCore.Optimizers;

namespace RnnCore.Training;

/// <summary>
/// How <see cref="Trainer{T}"/> trains: epochs, batches, shuffling, the loss, clipping, the learning-rate schedule, early
/// stopping, truncated BPTT, stateful mode, the gradient-health thresholds and callbacks. Immutable once built.
/// </summary>
public sealed class TrainerOptions
{
    /// <summary>Number of passes over the training set; positive. Default 10.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Sequences per batch (the last batch of an epoch may be smaller); positive. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// Shuffle the training set before every epoch (a fresh permutation of the dataset's order each time, so that an
    /// epoch's order depends only on the generator's state). Default true; must be false in <see cref="Stateful"/> mode.
    /// </summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>
    /// Seed of the shuffling generator (RnnCore's xoshiro256**, one stream for the whole run), so the same seed gives
    /// the same batches on every machine. Default 0.
    /// </summary>
    public long Seed { get; init; }

    /// <summary>
    /// Where the loss is measured. Null (default): inferred from the data, as <see cref="Trainer{T}.Placement"/> describes:
    /// <see cref="LossPlacement.LastStep"/> when each sequence has one target (a classifier, a forecaster),
    /// <see cref="LossPlacement.EveryStep"/> when each has a target per step. Set it to override the inference:
    /// <see cref="LossPlacement.LastStep"/> over per-step targets scores each sequence's last target only;
    /// <see cref="LossPlacement.EveryStep"/> over one target per sequence is refused (there is nothing to score at the
    /// other steps).
    /// </summary>
    public LossPlacement? Placement { get; init; }

    /// <summary>How each batch's loss terms are combined. Default <see cref="LossReduction.Mean"/> (PyTorch's default).</summary>
    public LossReduction Reduction { get; init; } = LossReduction.Mean;

    /// <summary>Gradient clipping before each optimizer step. Default <see cref="Clipping.None"/>.</summary>
    public Clipping Clipping { get; init; } = Clipping.None;

    /// <summary>The learning rate of each epoch from the optimizer's initial rate. Default <see cref="LearningRateSchedule.Constant"/>.</summary>
    public LearningRateSchedule LearningRateSchedule { get; init; } = LearningRateSchedule.Constant;

    /// <summary>
    /// Early stopping: stop after this many epochs without an improvement of the monitored value by more than
    /// <see cref="EarlyStoppingMinDelta"/>, and restore the best epoch's parameters. The monitored value is
    /// <see cref="Monitor"/> on the validation set when set; otherwise the validation loss when a validation set is
    /// given, the training loss otherwise. Null (default) trains every epoch.
    /// </summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>The smallest change of the monitored value, in its <see cref="Metric.Goal"/>'s direction, that counts as an improvement; non-negative. Default 0.</summary>
    public double EarlyStoppingMinDelta { get; init; }

    /// <summary>
    /// Metrics measured on the validation set after every epoch (in <see cref="EpochRecord.Validation"/>) and by
    /// <see cref="Trainer{T}.Evaluate"/> (in <see cref="EvaluationResult.Metrics"/>), e.g.
    /// <c>[Metric.MeanAbsoluteError, Metric.Accuracy(0.3)]</c>. Names must differ. Default none.
    /// </summary>
    public IReadOnlyList<Metric> Metrics { get; init; } = [];

    /// <summary>
    /// The metric early stopping and best-parameter restore follow, on the validation set (which
    /// <see cref="Trainer{T}.Fit"/> then requires), in the direction of its <see cref="Metric.Goal"/>: e.g.
    /// <c>Metric.Accuracy()</c> keeps the epoch of the highest validation accuracy. Measured (and reported) even when
    /// not in <see cref="Metrics"/>; a metric of <see cref="Metrics"/> with the same <see cref="Metric.Name"/> is taken as this one.
    /// Null (default): the loss, as described at <see cref="EarlyStoppingPatience"/>.
    /// </summary>
    public Metric? Monitor { get; init; }

    /// <summary>
    /// With early stopping, also restore the best epoch's parameters when training ends without stopping early
    /// (Keras's <c>restore_best_weights</c>). Default true.
    /// </summary>
    public bool RestoreBestParameters { get; init; } = true;

    /// <summary>
    /// Truncated BPTT: train each batch in chunks of this many steps, carrying the hidden state but no gradient across
    /// chunks, with one clipping and one optimizer step per chunk. Null (default) backpropagates through whole
    /// sequences. Requires <see cref="LossPlacement.EveryStep"/> (set, or inferred from per-step targets). A padded batch is cut the same way: a sequence that
    /// ended before a chunk is inert in it (its state carried, no loss). Validation and <see cref="Trainer{T}.Evaluate"/>
    /// need no gradient and run whole sequences.
    /// </summary>
    public int? TruncationLength { get; init; }

    /// <summary>
    /// Stateful mode: sequence b of each batch starts from the final hidden state of sequence b of the previous batch
    /// (a long stream cut into consecutive pieces, as Keras's <c>stateful=True</c>); the state is reset to zero at the
    /// start of each epoch and of each evaluation. Requires <see cref="Shuffle"/> = false. Default false.
    /// </summary>
    public bool Stateful { get; init; }

    /// <summary>Below this ‖dL/dh_1‖/‖dL/dh_T‖ ratio an epoch's gradients are called vanishing. Default 1e-3.</summary>
    public double VanishingRatio { get; init; } = 1e-3;

    /// <summary>Above this ratio an epoch's gradients are called exploding. Default 1e3.</summary>
    public double ExplodingRatio { get; init; } = 1e3;

    /// <summary>
    /// When clipping fires on at least this fraction of an epoch's steps, <see cref="GradientHealth.ClippingSaturated"/>
    /// is set. It is reported on its own and does not change the verdict, which the dL/dh norms decide: a healthy run
    /// with a tight clipping threshold clips on most steps. Positive (above 1, never); default 0.5.
    /// </summary>
    public double ClippingSaturationFraction { get; init; } = 0.5;

    /// <summary>The former name of <see cref="ClippingSaturationFraction"/>; clipping no longer makes the verdict Exploding.</summary>
    /// <remarks>Kept so that code setting it still compiles (without even a warning, for builds that treat warnings as errors).</remarks>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public double ExplodingClipFraction
    {
        get => ClippingSaturationFraction;
        init => ClippingSaturationFraction = value;
    }

    /// <summary>
    /// When set, after every epoch the trainer saves a checkpoint here (atomically, with
    /// <see cref="Persistence.ModelFile.Save{T}(RecurrentModel{T}, string, IOptimizer{T}, Persistence.TrainingPosition)"/>):
    /// the parameters, the optimizer's state, and the position (the number of epochs done, batch 0, the shuffling
    /// generator's state), from which <see cref="Trainer{T}.Resume(string, SequenceDataset{T}, SequenceDataset{T}, IProgress{TrainingProgress}, CancellationToken)"/>
    /// continues the run. Each epoch replaces the previous file. Requires one of RnnCore's optimizers. Default null: no checkpoints.
    /// </summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Callbacks, called in order after every batch and every epoch. Default none.</summary>
    public IReadOnlyList<ITrainingCallback> Callbacks { get; init; } = [];

    /// <summary>Throws unless the options are consistent.</summary>
    internal void Validate()
    {
        Positive(Epochs, nameof(Epochs));
        Positive(BatchSize, nameof(BatchSize));
        if (EarlyStoppingPatience is int patience)
        {
            Positive(patience, nameof(EarlyStoppingPatience));
        }

        if (TruncationLength is int k)
        {
            Positive(k, nameof(TruncationLength));
            if (Placement == LossPlacement.LastStep)
            {
                throw new ArgumentException(
                    $"TruncationLength is {k} but Placement is LastStep: with a loss at the last step only, every chunk but the last would have no loss; truncated BPTT needs Placement = EveryStep (or unset, inferred from per-step targets).",
                    nameof(TruncationLength));
            }
        }

        if (Stateful && Shuffle)
        {
            throw new ArgumentException(
                "Stateful mode carries each sequence's state into the same position of the next batch, which only makes sense in order: set Shuffle = false.",
                nameof(Stateful));
        }

        if ((Placement is LossPlacement placement && !Enum.IsDefined(placement)) || !Enum.IsDefined(Reduction))
        {
            throw new ArgumentOutOfRangeException(nameof(Placement), "Placement or Reduction is not a defined value.");
        }

        if (CheckpointPath is not null && string.IsNullOrWhiteSpace(CheckpointPath))
        {
            throw new ArgumentException("CheckpointPath is empty; set a file path, or null for no checkpoints.", nameof(CheckpointPath));
        }

        ArgumentNullException.ThrowIfNull(Clipping, nameof(Clipping));
        ArgumentNullException.ThrowIfNull(LearningRateSchedule, nameof(LearningRateSchedule));
        ArgumentNullException.ThrowIfNull(Callbacks, nameof(Callbacks));
        ArgumentNullException.ThrowIfNull(Metrics, nameof(Metrics));
        if (!(EarlyStoppingMinDelta >= 0) || !double.IsFinite(EarlyStoppingMinDelta))
        {
            throw new ArgumentOutOfRangeException(nameof(EarlyStoppingMinDelta), EarlyStoppingMinDelta, "EarlyStoppingMinDelta must be non-negative and finite.");
        }

        if (!(VanishingRatio > 0) || !(ExplodingRatio > VanishingRatio) || !double.IsFinite(ExplodingRatio))
        {
            throw new ArgumentOutOfRangeException(
                nameof(VanishingRatio), $"expected 0 < VanishingRatio < ExplodingRatio < ∞, but got {VanishingRatio}, {ExplodingRatio}.");
        }

        if (!(ClippingSaturationFraction > 0))
        {
            throw new ArgumentOutOfRangeException(
                nameof(ClippingSaturationFraction), ClippingSaturationFraction, $"ClippingSaturationFraction must be positive (above 1 it never fires), but was {ClippingSaturationFraction}.");
        }
    }

    private static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive, but was {value}.");
        }
    }
}
