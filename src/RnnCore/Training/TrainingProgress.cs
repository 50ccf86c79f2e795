namespace RnnCore.Training;

/// <summary>
/// A progress report from <see cref="Trainer{T}.Fit"/>, sent through <see cref="IProgress{T}"/> after every batch and
/// once more at the end of every epoch (<see cref="IsEpochEnd"/>).
/// </summary>
public sealed class TrainingProgress
{
    internal TrainingProgress(
        int epoch, int epochs, int batch, int batchesPerEpoch, double batchLoss, double epochLoss, double gradientNorm,
        double learningRate, double examplesPerSecond, TimeSpan elapsed, TimeSpan estimatedRemaining, bool isEpochEnd,
        GradientHealth? health, EpochRecord? epochRecord)
    {
        Epoch = epoch;
        Epochs = epochs;
        Batch = batch;
        BatchesPerEpoch = batchesPerEpoch;
        BatchLoss = batchLoss;
        EpochLoss = epochLoss;
        GradientNorm = gradientNorm;
        LearningRate = learningRate;
        ExamplesPerSecond = examplesPerSecond;
        Elapsed = elapsed;
        EstimatedRemaining = estimatedRemaining;
        IsEpochEnd = isEpochEnd;
        Health = health;
        EpochRecord = epochRecord;
    }

    /// <summary>The 1-based epoch.</summary>
    public int Epoch { get; }

    /// <summary>The number of epochs requested.</summary>
    public int Epochs { get; }

    /// <summary>The 1-based batch just trained (equal to <see cref="BatchesPerEpoch"/> at the end of an epoch).</summary>
    public int Batch { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>The loss of the batch just trained, before its update.</summary>
    public double BatchLoss { get; }

    /// <summary>The epoch's training loss so far (see <see cref="EpochRecord.TrainingLoss"/>).</summary>
    public double EpochLoss { get; }

    /// <summary>The batch's global gradient norm before clipping (the last chunk's, with truncated BPTT).</summary>
    public double GradientNorm { get; }

    /// <summary>The current learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>Sequences trained per second of wall-clock time since training started.</summary>
    public double ExamplesPerSecond { get; }

    /// <summary>Wall-clock time since training started.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Estimated time to finish every epoch at the rate so far (early stopping may end sooner).</summary>
    public TimeSpan EstimatedRemaining { get; }

    /// <summary>True for the report sent at the end of an epoch, after validation.</summary>
    public bool IsEpochEnd { get; }

    /// <summary>The gradient health of the epoch just completed (at an epoch end), or of the last completed epoch; null during the first epoch.</summary>
    public GradientHealth? Health { get; }

    /// <summary>The record of the epoch just completed, at an epoch end; null otherwise.</summary>
    public EpochRecord? EpochRecord { get; }
}
