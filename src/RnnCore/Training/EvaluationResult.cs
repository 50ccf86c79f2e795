namespace RnnCore.Training;

/// <summary>The loss (and, for a softmax output, the accuracy) of a layer on a dataset, from <see cref="Trainer{T}.Evaluate"/>.</summary>
/// <param name="Loss">The loss, defined as <see cref="EpochRecord.TrainingLoss"/>.</param>
/// <param name="Accuracy">The fraction of scored items whose argmax class is the target; null for outputs other than softmax.</param>
public sealed record EvaluationResult(double Loss, double? Accuracy);
