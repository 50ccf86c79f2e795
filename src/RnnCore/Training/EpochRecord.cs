namespace RnnCore.Training;

/// <summary>The figures of one completed epoch, as kept in <see cref="History"/>.</summary>
public sealed class EpochRecord
{
    internal EpochRecord(
        int epoch, double trainingLoss, double? validationLoss, double? validationAccuracy, double learningRate,
        GradientHealth health, int batches, long optimizerSteps, TimeSpan elapsed)
    {
        Epoch = epoch;
        TrainingLoss = trainingLoss;
        ValidationLoss = validationLoss;
        ValidationAccuracy = validationAccuracy;
        LearningRate = learningRate;
        Health = health;
        Batches = batches;
        OptimizerSteps = optimizerSteps;
        Elapsed = elapsed;
    }

    /// <summary>The 1-based epoch number.</summary>
    public int Epoch { get; }

    /// <summary>
    /// The epoch's training loss, measured on each batch before its update: with <see cref="LossReduction.Mean"/> the
    /// mean over every scored item of the epoch (each batch weighted by its items), with <see cref="LossReduction.Sum"/>
    /// the summed loss per sequence.
    /// </summary>
    public double TrainingLoss { get; }

    /// <summary>The loss on the validation set at the end of the epoch (same definition); null without a validation set.</summary>
    public double? ValidationLoss { get; }

    /// <summary>
    /// The validation accuracy (<see cref="EvaluationResult.Accuracy"/>: argmax for softmax, per label at 0.5 for
    /// sigmoid); null without a validation set or for an identity output.
    /// </summary>
    public double? ValidationAccuracy { get; }

    /// <summary>
    /// Everything measured on the validation set at the end of the epoch: the loss, accuracy, MAE and RMSE, and the
    /// metrics of <see cref="TrainerOptions.Metrics"/>; null without a validation set.
    /// </summary>
    public EvaluationResult? Validation { get; internal init; }

    /// <summary>The learning rate used throughout the epoch.</summary>
    public double LearningRate { get; }

    /// <summary>The epoch's gradient health.</summary>
    public GradientHealth Health { get; }

    /// <summary>Number of batches trained.</summary>
    public int Batches { get; }

    /// <summary>Number of optimizer steps (one per batch, or one per chunk with truncated BPTT).</summary>
    public long OptimizerSteps { get; }

    /// <summary>Wall-clock time of the epoch, validation included.</summary>
    public TimeSpan Elapsed { get; }
}
