namespace RnnCore.Training;

/// <summary>
/// Hooks into <see cref="Trainer{T}.Fit"/>, called on the training thread: after every batch, and after every epoch with
/// the chance to stop. Both methods have empty defaults, so implement only what is needed.
/// </summary>
public interface ITrainingCallback
{
    /// <summary>Called after each batch's update, with the same report the progress receives.</summary>
    /// <param name="progress">The batch's figures.</param>
    void OnBatchEnd(TrainingProgress progress)
    {
    }

    /// <summary>Called after each epoch (after validation and early-stopping bookkeeping).</summary>
    /// <param name="record">The epoch's figures.</param>
    /// <returns><see cref="TrainingDecision.Stop"/> to end training after this epoch.</returns>
    TrainingDecision OnEpochEnd(EpochRecord record) => TrainingDecision.Continue;
}
