namespace RnnCore.Training;

/// <summary>
/// One measurement of a <see cref="Metric"/> over a dataset: <see cref="Add"/> is called once per scored item, in order,
/// then <see cref="Result"/> is read. Created afresh by <see cref="Metric.Start"/> for every evaluation, so it keeps
/// no state between evaluations and needs no thread safety (one evaluation runs on one thread).
/// </summary>
public abstract class MetricAccumulator
{
    /// <summary>Adds one scored item.</summary>
    /// <param name="output">The layer's output y_t after its activation, length O (the span is reused: copy what you keep).</param>
    /// <param name="target">The target, length O: the target vector, or the one-hot vector of a class target.</param>
    public abstract void Add(ReadOnlySpan<double> output, ReadOnlySpan<double> target);

    /// <summary>The metric over every item added so far (NaN before the first).</summary>
    public abstract double Result { get; }
}
