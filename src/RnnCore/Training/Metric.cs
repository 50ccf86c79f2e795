using System.Globalization;

namespace RnnCore.Training;

/// <summary>
/// A figure of merit measured on a dataset by <see cref="Trainer{T}.Evaluate"/> and on the validation set after every
/// epoch (list it in <see cref="TrainerOptions.Metrics"/>), and optionally the one early stopping and best-parameter
/// restore follow (<see cref="TrainerOptions.Monitor"/>). Built-in: <see cref="Accuracy"/>, <see cref="MeanAbsoluteError"/>,
/// <see cref="RootMeanSquaredError"/>, <see cref="MeanSquaredError"/>; <see cref="Mean"/> makes one from a per-item score;
/// derive for anything else (a metric over the whole set, such as an F1 score).
/// </summary>
/// <remarks>
/// A metric sees the same items the loss scores: each sequence's last step under <see cref="LossPlacement.LastStep"/>,
/// every real step under <see cref="LossPlacement.EveryStep"/> (never padding). Outputs are after the output activation;
/// class targets arrive one-hot. A metric object holds no measurement state (see <see cref="MetricAccumulator"/>), so
/// one instance may serve several trainers.
/// </remarks>
public abstract class Metric
{
    /// <summary>Creates a metric.</summary>
    /// <param name="name">The name it is reported under (<see cref="EvaluationResult.Metrics"/>); not empty.</param>
    /// <param name="goal">Which way it improves.</param>
    protected Metric(string name, MetricGoal goal)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!Enum.IsDefined(goal))
        {
            throw new ArgumentOutOfRangeException(nameof(goal), goal, "expected Minimize or Maximize.");
        }

        Name = name;
        Goal = goal;
    }

    /// <summary>
    /// The fraction of correct predictions, which the loss's own output decides: for softmax, the items whose largest
    /// probability is the target class; for sigmoid, the labels (each of the O outputs of each item, as Keras's
    /// <c>binary_accuracy</c>) whose probability is on the target's side of <paramref name="threshold"/>
    /// (<c>p ≥ threshold</c> predicts 1; a target counts as 1 when ≥ 0.5). Not defined for an identity output.
    /// </summary>
    /// <param name="threshold">The sigmoid decision threshold, in (0, 1). Default 0.5.</param>
    /// <returns>The metric, named <c>accuracy</c> (or <c>accuracy@threshold</c> when the threshold is not 0.5).</returns>
    public static Metric Accuracy(double threshold = 0.5)
    {
        if (!(threshold > 0 && threshold < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, $"threshold must be in (0, 1), but was {threshold}.");
        }

        return new AccuracyMetric(threshold);
    }

    /// <summary>The mean absolute error over every output element of every item, mean(|y − target|). Named <c>mae</c>.</summary>
    public static Metric MeanAbsoluteError { get; } = new ErrorMetric("mae", squared: false, root: false);

    /// <summary>The root of the mean squared error over every output element of every item. Named <c>rmse</c>.</summary>
    public static Metric RootMeanSquaredError { get; } = new ErrorMetric("rmse", squared: true, root: true);

    /// <summary>
    /// The mean squared error over every output element of every item, mean((y − target)²), as PyTorch's
    /// <c>MSELoss</c>. Named <c>mse</c>. (For an identity output with <see cref="LossReduction.Mean"/> it equals the loss.)
    /// </summary>
    public static Metric MeanSquaredError { get; } = new ErrorMetric("mse", squared: true, root: false);

    /// <summary>The name the metric is reported under.</summary>
    public string Name { get; }

    /// <summary>Which way it improves.</summary>
    public MetricGoal Goal { get; }

    /// <summary>A user-defined metric: the mean over every scored item of <paramref name="score"/>(output, target).</summary>
    /// <param name="name">The name it is reported under.</param>
    /// <param name="goal">Which way it improves.</param>
    /// <param name="score">The per-item score.</param>
    /// <returns>The metric.</returns>
    public static Metric Mean(string name, MetricGoal goal, ItemScore score)
    {
        ArgumentNullException.ThrowIfNull(score);
        return new MeanMetric(name, goal, score);
    }

    /// <summary>
    /// Starts a measurement for a layer with the given output. Called once when a trainer is built (to refuse a metric
    /// that does not suit the layer) and once per evaluation.
    /// </summary>
    /// <param name="outputActivation">The layer's output activation.</param>
    /// <param name="outputSize">O, the layer's output size.</param>
    /// <returns>A fresh accumulator.</returns>
    /// <exception cref="ArgumentException">The metric is not defined for this output (for example accuracy for an identity output).</exception>
    public abstract MetricAccumulator Start(OutputActivation outputActivation, int outputSize);

    /// <summary>The name.</summary>
    public override string ToString() => Name;

    private sealed class AccuracyMetric(double threshold) : Metric(
        threshold == 0.5 ? "accuracy" : string.Create(CultureInfo.InvariantCulture, $"accuracy@{threshold}"), MetricGoal.Maximize)
    {
        public override MetricAccumulator Start(OutputActivation outputActivation, int outputSize) => outputActivation switch
        {
            OutputActivation.Softmax => new ArgmaxAccuracy(),
            OutputActivation.Sigmoid => new ThresholdAccuracy(threshold),
            _ => throw new ArgumentException(
                $"{Name} needs a softmax or sigmoid output, but the layer's output is {outputActivation}; for regression use Metric.MeanAbsoluteError or Metric.RootMeanSquaredError.",
                "outputActivation"),
        };
    }

    /// <summary>Softmax: the item is correct when argmax y = argmax target (the class).</summary>
    private sealed class ArgmaxAccuracy : MetricAccumulator
    {
        private long _correct, _count;

        public override double Result => _count > 0 ? _correct / (double)_count : double.NaN;

        public override void Add(ReadOnlySpan<double> output, ReadOnlySpan<double> target)
        {
            _correct += ArgMax(output) == ArgMax(target) ? 1 : 0;
            _count++;
        }

        private static int ArgMax(ReadOnlySpan<double> values)
        {
            int best = 0;
            for (int c = 1; c < values.Length; c++)
            {
                best = values[c] > values[best] ? c : best;
            }

            return best;
        }
    }

    /// <summary>Sigmoid: each label is correct when [y ≥ threshold] = [target ≥ 0.5].</summary>
    private sealed class ThresholdAccuracy(double threshold) : MetricAccumulator
    {
        private long _correct, _count;

        public override double Result => _count > 0 ? _correct / (double)_count : double.NaN;

        public override void Add(ReadOnlySpan<double> output, ReadOnlySpan<double> target)
        {
            for (int k = 0; k < output.Length; k++)
            {
                _correct += (output[k] >= threshold) == (target[k] >= 0.5) ? 1 : 0;
            }

            _count += output.Length;
        }
    }

    private sealed class ErrorMetric(string name, bool squared, bool root) : Metric(name, MetricGoal.Minimize)
    {
        public override MetricAccumulator Start(OutputActivation outputActivation, int outputSize) => new ErrorSum(squared, root);
    }

    /// <summary>Σ|e| or Σe² over every element, then the mean (and its root for RMSE).</summary>
    private sealed class ErrorSum(bool squared, bool root) : MetricAccumulator
    {
        private double _sum;
        private long _count;

        public override double Result => _count == 0 ? double.NaN : root ? Math.Sqrt(_sum / _count) : _sum / _count;

        public override void Add(ReadOnlySpan<double> output, ReadOnlySpan<double> target)
        {
            for (int k = 0; k < output.Length; k++)
            {
                double e = output[k] - target[k];
                _sum += squared ? e * e : Math.Abs(e);
            }

            _count += output.Length;
        }
    }

    private sealed class MeanMetric(string name, MetricGoal goal, ItemScore score) : Metric(name, goal)
    {
        public override MetricAccumulator Start(OutputActivation outputActivation, int outputSize) => new MeanOf(score);
    }

    private sealed class MeanOf(ItemScore score) : MetricAccumulator
    {
        private double _sum;
        private long _count;

        public override double Result => _count > 0 ? _sum / _count : double.NaN;

        public override void Add(ReadOnlySpan<double> output, ReadOnlySpan<double> target)
        {
            _sum += score(output, target);
            _count++;
        }
    }
}
