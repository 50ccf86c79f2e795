namespace RnnCore.Training;

/// <summary>
/// The loss and metrics of a layer on a dataset, from <see cref="Trainer{T}.Evaluate"/> and, for the validation set,
/// in <see cref="EpochRecord.Validation"/>.
/// </summary>
/// <param name="Loss">The loss, defined as <see cref="EpochRecord.TrainingLoss"/>.</param>
/// <param name="Accuracy">
/// The fraction of correct predictions (<see cref="Metric.Accuracy"/> with its default threshold): for softmax, the
/// scored items whose argmax class is the target; for sigmoid, the labels on the target's side of 0.5; null for an
/// identity output.
/// </param>
public sealed record EvaluationResult(double Loss, double? Accuracy)
{
    /// <summary>For an identity output, the mean absolute error over every output element of every scored item; null otherwise.</summary>
    public double? MeanAbsoluteError { get; init; }

    /// <summary>For an identity output, the root mean squared error over every output element of every scored item; null otherwise.</summary>
    public double? RootMeanSquaredError { get; init; }

    /// <summary>
    /// The value of each metric of <see cref="TrainerOptions.Metrics"/> (and of <see cref="TrainerOptions.Monitor"/>),
    /// by <see cref="Metric.Name"/>; empty when there are none.
    /// </summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}
