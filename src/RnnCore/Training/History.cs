namespace RnnCore.Training;

/// <summary>What <see cref="Trainer{T}.Fit"/> recorded: one <see cref="EpochRecord"/> per completed epoch, and how training ended.</summary>
public sealed class History
{
    private readonly List<EpochRecord> _epochs = [];

    /// <summary>The completed epochs, in order.</summary>
    public IReadOnlyList<EpochRecord> Epochs => _epochs;

    /// <summary>
    /// The 1-based epoch with the best monitored value (<see cref="TrainerOptions.Monitor"/> on the validation set when
    /// set; otherwise the lowest validation loss when there is a validation set, the lowest training loss otherwise);
    /// 0 before the first epoch completes.
    /// </summary>
    public int BestEpoch { get; internal set; }

    /// <summary>True when early stopping ended training before the last epoch.</summary>
    public bool StoppedEarly { get; internal set; }

    /// <summary>True when a callback asked training to stop.</summary>
    public bool StoppedByCallback { get; internal set; }

    /// <summary>True when the parameters were set back to those of <see cref="BestEpoch"/> at the end of training.</summary>
    public bool RestoredBestParameters { get; internal set; }

    internal void Add(EpochRecord record) => _epochs.Add(record);
}
