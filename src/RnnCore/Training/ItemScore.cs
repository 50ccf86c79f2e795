namespace RnnCore.Training;

/// <summary>
/// The score of one scored item (a sequence's last step, or one real step under <see cref="LossPlacement.EveryStep"/>),
/// for <see cref="Metric.Mean(string, MetricGoal, ItemScore)"/>, which averages it over every item.
/// </summary>
/// <param name="output">The layer's output y_t (after its activation: probabilities for softmax and sigmoid), length O.</param>
/// <param name="target">The target, length O: the target vector, or the one-hot vector of a class target.</param>
/// <returns>The item's score.</returns>
public delegate double ItemScore(ReadOnlySpan<double> output, ReadOnlySpan<double> target);
