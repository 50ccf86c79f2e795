
namespace RnnCore.Training;

/// <content>
/// Metrics: the built-in figures of <see cref="EvaluationResult"/> beyond the loss and softmax accuracy (sigmoid accuracy,
/// MAE and RMSE), the user's <see cref="TrainerOptions.Metrics"/>, and the value early stopping monitors.
/// </content>
public sealed partial class Trainer<T>
{
    /// <summary>Refuses, when the trainer is built, metrics that do not suit the layer or repeat a name.</summary>
    private void ValidateMetrics()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Metric metric in UserMetrics())
        {
            if (metric is null)
            {
                throw new ArgumentException("options.Metrics holds a null entry.", "options");
            }

            if (!names.Add(metric.Name))
            {
                throw new ArgumentException(
                    $"options.Metrics names '{metric.Name}' twice; each metric is reported under its own name.", "options");
            }

            try
            {
                _ = metric.Start(_network.OutputActivation, _network.OutputSize);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"options' metric '{metric.Name}' does not suit the layer: {e.Message}", "options", e);
            }
        }
    }

    /// <summary>A monitored metric is measured on the validation set: there must be one.</summary>
    private void RequireMonitorData(SequenceDataset<T>? validation)
    {
        if (Options.Monitor is Metric monitor && validation is null)
        {
            throw new ArgumentException(
                $"TrainerOptions.Monitor is '{monitor.Name}', which is measured on the validation set after every epoch; pass a validation set (or leave Monitor null to follow the loss).",
                nameof(validation));
        }
    }

    /// <summary>The metrics listed in the options, and the monitored one if none of them has its name, in that order.</summary>
    private IEnumerable<Metric> UserMetrics()
    {
        foreach (Metric metric in Options.Metrics)
        {
            yield return metric;
        }

        // A monitor named like a listed metric is that metric (Metric.Accuracy() twice makes two equal objects).
        if (Options.Monitor is Metric monitor && !Options.Metrics.Any(m => m?.Name == monitor.Name))
        {
            yield return monitor;
        }
    }

    /// <summary>
    /// Fresh accumulators for one evaluation: the built-ins (sigmoid accuracy; MAE and RMSE for an identity output),
    /// then the user's. Empty for a softmax output without user metrics, so that evaluation costs what it did.
    /// </summary>
    private MetricAccumulator[] StartMetrics()
    {
        var accumulators = new List<MetricAccumulator>();
        OutputActivation output = _network.OutputActivation;
        int o = _network.OutputSize;
        if (output == OutputActivation.Sigmoid)
        {
            accumulators.Add(Metric.Accuracy().Start(output, o));
        }
        else if (output == OutputActivation.Identity)
        {
            accumulators.Add(Metric.MeanAbsoluteError.Start(output, o));
            accumulators.Add(Metric.RootMeanSquaredError.Start(output, o));
        }

        foreach (Metric metric in UserMetrics())
        {
            accumulators.Add(metric.Start(output, o));
        }

        return [.. accumulators];
    }

    /// <summary>
    /// Adds a batch's scored items to every accumulator: each sequence's last step (LastStep) or each real step
    /// (EveryStep), with y_t as doubles and the target as a vector (one-hot for a class).
    /// </summary>
    private void ScoreMetrics(NetworkPass<T> cache, BatchBuffers buffers, MetricAccumulator[] accumulators)
    {
        if (accumulators.Length == 0)
        {
            return;
        }

        int o = _network.OutputSize;
        int b = cache.Batch;
        bool lastStep = ScoredPlacement == LossPlacement.LastStep;
        Span<double> output = o <= 256 ? stackalloc double[o] : new double[o];
        Span<double> target = o <= 256 ? stackalloc double[o] : new double[o];
        for (int j = 0; j < b; j++)
        {
            int length = buffers.Lengths[j];
            for (int t = lastStep ? length - 1 : 0; t < length; t++)
            {
                ReadOnlySpan<T> y = cache.Output((t * b) + j);
                int targetStep = lastStep ? 0 : t;
                for (int k = 0; k < o; k++)
                {
                    output[k] = double.CreateTruncating(y[k]);
                }

                if (buffers.Classes is int[] classes)
                {
                    target.Clear();
                    target[classes[(targetStep * b) + j]] = 1;
                }
                else
                {
                    ReadOnlySpan<T> values = buffers.Values.AsSpan(((targetStep * b) + j) * o, o);
                    for (int k = 0; k < o; k++)
                    {
                        target[k] = double.CreateTruncating(values[k]);
                    }
                }

                foreach (MetricAccumulator accumulator in accumulators)
                {
                    accumulator.Add(output, target);
                }
            }
        }
    }

    /// <summary>The evaluation's result from its loss, softmax accuracy and accumulators (in the order of <see cref="StartMetrics"/>).</summary>
    private EvaluationResult FinishEvaluation(double loss, double? softmaxAccuracy, MetricAccumulator[] accumulators)
    {
        int next = 0;
        double? accuracy = softmaxAccuracy, mae = null, rmse = null;
        if (_network.OutputActivation == OutputActivation.Sigmoid)
        {
            accuracy = accumulators[next++].Result;
        }
        else if (_network.OutputActivation == OutputActivation.Identity)
        {
            mae = accumulators[next++].Result;
            rmse = accumulators[next++].Result;
        }

        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (Metric metric in UserMetrics())
        {
            metrics[metric.Name] = accumulators[next++].Result;
        }

        return new EvaluationResult(loss, accuracy) { MeanAbsoluteError = mae, RootMeanSquaredError = rmse, Metrics = metrics };
    }

    /// <summary>The value early stopping follows: the monitored metric on the validation set, else the validation loss, else the training loss.</summary>
    private double Monitored(EvaluationResult? validated, EpochRecord record) =>
        Options.Monitor is Metric monitor ? validated!.Metrics[monitor.Name] : validated?.Loss ?? record.TrainingLoss;

    /// <summary>
    /// Whether <paramref name="value"/> beats <paramref name="best"/> by more than <see cref="TrainerOptions.EarlyStoppingMinDelta"/>
    /// in the monitored direction (lower for the loss and for <see cref="MetricGoal.Minimize"/>). Anything beats NaN (no epoch yet).
    /// </summary>
    private bool Improves(double value, double best)
    {
        if (double.IsNaN(best))
        {
            return true;
        }

        return Options.Monitor?.Goal == MetricGoal.Maximize
            ? value > best + Options.EarlyStoppingMinDelta
            : value < best - Options.EarlyStoppingMinDelta;
    }
}
