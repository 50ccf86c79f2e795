namespace RnnCore.Training;

/// <summary>What an <see cref="ITrainingCallback"/> asks the trainer to do after an epoch.</summary>
public enum TrainingDecision
{
    /// <summary>Go on with the next epoch.</summary>
    Continue,

    /// <summary>Stop after this epoch (the model stays as it is, unless early stopping restores its best parameters).</summary>
    Stop,
}
