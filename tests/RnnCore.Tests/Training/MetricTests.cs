using System.Numerics;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.TestUtilities;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>
/// Metrics: the built-ins on hand-computed items, the trainer's evaluation against figures recomputed here from
/// PredictEveryStep, and early stopping with best-parameter restore on a metric in either direction.
/// </summary>
public abstract class MetricTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Fact]
    public void Built_in_metrics_on_hand_computed_items()
    {
        MetricAccumulator sigmoid = Metric.Accuracy(0.3).Start(OutputActivation.Sigmoid, 2);
        sigmoid.Add([0.2, 0.4], [0, 1]); // both labels right at threshold 0.3
        sigmoid.Add([0.5, 0.1], [0, 1]); // both wrong
        sigmoid.Add([0.35, 0.9], [1, 1]); // both right
        sigmoid.Result.Should().Be(4 / 6.0);
        Metric.Accuracy(0.3).Name.Should().Be("accuracy@0.3");
        Metric.Accuracy().Name.Should().Be("accuracy");

        MetricAccumulator softmax = Metric.Accuracy().Start(OutputActivation.Softmax, 3);
        softmax.Add([0.2, 0.5, 0.3], [0, 1, 0]);
        softmax.Add([0.6, 0.1, 0.3], [0, 0, 1]);
        softmax.Result.Should().Be(0.5);

        // errors (1 − 0, 2 − 4, 3 − 3.5) = (1, −2, −0.5)
        double[][] outputs = [[1, 2], [3]], targets = [[0, 4], [3.5]];
        (Metric Metric, double Expected)[] errors =
        [
            (Metric.MeanAbsoluteError, 3.5 / 3),
            (Metric.MeanSquaredError, 5.25 / 3),
            (Metric.RootMeanSquaredError, Math.Sqrt(5.25 / 3)),
        ];
        foreach ((Metric metric, double expected) in errors)
        {
            MetricAccumulator a = metric.Start(OutputActivation.Identity, 2);
            a.Result.Should().Be(double.NaN, "nothing measured yet");
            a.Add(outputs[0], targets[0]);
            a.Add(outputs[1], targets[1]);
            a.Result.Should().BeApproximately(expected, 1e-15, metric.Name);
            metric.Goal.Should().Be(MetricGoal.Minimize);
        }

        ((Action)(() => Metric.Accuracy().Start(OutputActivation.Identity, 1))).Should().Throw<ArgumentException>().WithMessage("*softmax or sigmoid*");
        ((Action)(() => Metric.Accuracy(1))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("threshold");
    }

    [Theory]
    [InlineData(OutputActivation.Identity, LossPlacement.EveryStep)]
    [InlineData(OutputActivation.Sigmoid, LossPlacement.EveryStep)]
    [InlineData(OutputActivation.Sigmoid, LossPlacement.LastStep)]
    [InlineData(OutputActivation.Softmax, LossPlacement.EveryStep)]
    [InlineData(OutputActivation.Softmax, LossPlacement.LastStep)]
    public void Evaluate_reports_what_the_predictions_and_targets_give(OutputActivation output, LossPlacement placement)
    {
        const int o = 3;
        var layer = new RecurrentLayer<T>(2, 5, o, outputActivation: output, seed: 4);
        var random = new Random(6);
        int[] lengths = [4, 1, 6, 3, 5];
        bool lastStep = placement == LossPlacement.LastStep;
        SequenceDataset<T> data = output == OutputActivation.Softmax
            ? TrainingData.Classes<T>(random, 2, o, lengths, perStep: !lastStep)
            : new SequenceDataset<T>(TrainingData.Values<T>(random, 2, o, lengths).Select(s => lastStep
                ? Sequence<T>.WithValue(Rows(s), s.Values!.AsSpan((s.Length - 1) * o, o).ToArray().Select(Clamp).ToArray())
                : Sequence<T>.WithValues(Rows(s), Enumerable.Range(0, s.Length).Select(t => s.Values!.AsSpan(t * o, o).ToArray().Select(Clamp).ToArray()).ToArray())));
        ItemScore firstOutput = (y, _) => y[0];
        var trainer = new Trainer<T>(layer, new SgdOptimizer<T>(0.1), new TrainerOptions
        {
            BatchSize = 2, Placement = placement, Metrics = [Metric.Mean("first output", MetricGoal.Maximize, firstOutput), Metric.MeanSquaredError],
        });

        EvaluationResult result = trainer.Evaluate(data);

        // Recompute every figure from the per-step predictions and the targets.
        T[][][] predictions = layer.PredictEveryStep(data);
        double correct = 0, labels = 0, absolute = 0, squared = 0, elements = 0, first = 0, items = 0;
        for (int n = 0; n < data.Count; n++)
        {
            Sequence<T> s = data[n];
            for (int t = lastStep ? s.Length - 1 : 0; t < s.Length; t++)
            {
                double[] y = predictions[n][t].Select(double.CreateTruncating).ToArray();
                int targetStep = lastStep ? 0 : t;
                double[] target = s.IsClasses
                    ? Enumerable.Range(0, o).Select(k => k == s.Classes![targetStep] ? 1.0 : 0.0).ToArray()
                    : s.Values!.AsSpan(targetStep * o, o).ToArray().Select(double.CreateTruncating).ToArray();
                items++;
                first += y[0];
                if (output == OutputActivation.Softmax)
                {
                    correct += Array.IndexOf(y, y.Max()) == Array.IndexOf(target, 1.0) ? 1 : 0;
                    labels++;
                }
                else
                {
                    for (int k = 0; k < o; k++)
                    {
                        correct += (y[k] >= 0.5) == (target[k] >= 0.5) ? 1 : 0;
                        labels++;
                    }
                }

                for (int k = 0; k < o; k++)
                {
                    absolute += Math.Abs(y[k] - target[k]);
                    squared += (y[k] - target[k]) * (y[k] - target[k]);
                    elements++;
                }
            }
        }

        double tolerance = typeof(T) == typeof(float) ? 1e-6 : 1e-12;
        result.Metrics["first output"].Should().BeApproximately(first / items, tolerance);
        result.Metrics["mse"].Should().BeApproximately(squared / elements, tolerance);
        if (output == OutputActivation.Identity)
        {
            result.Accuracy.Should().BeNull();
            result.MeanAbsoluteError!.Value.Should().BeApproximately(absolute / elements, tolerance);
            result.RootMeanSquaredError!.Value.Should().BeApproximately(Math.Sqrt(squared / elements), tolerance);
        }
        else
        {
            result.Accuracy.Should().Be(correct / labels);
            result.MeanAbsoluteError.Should().BeNull();
        }
    }

    [Theory]
    [InlineData(MetricGoal.Maximize, 2)]
    [InlineData(MetricGoal.Minimize, 1)]
    public void Early_stopping_follows_the_monitored_metric_in_its_direction_and_restores_its_best_epoch(MetricGoal goal, int best)
    {
        // The metric's value at epochs 1..5, whatever the model: the best epoch is 2 when maximizing, 1 when minimizing.
        var metric = new ScriptedMetric(goal, [0.3, 0.5, 0.4, 0.45, 0.2, 0.1]);
        var layer = new RecurrentLayer<T>(2, 4, 3, seed: 1);
        var snapshots = new List<T[][]>();
        var random = new Random(2);
        var trainer = new Trainer<T>(layer, new SgdOptimizer<T>(0.5), new TrainerOptions
        {
            Epochs = 6, BatchSize = 4, EarlyStoppingPatience = 2, Monitor = metric,
            Callbacks = [new DelegateCallback(onEpoch: _ => { snapshots.Add(RandomProblems.Snapshot(layer)); return TrainingDecision.Continue; })],
        });

        History history = trainer.Fit(TrainingData.Classes<T>(random, 2, 3, [4, 5, 3, 6]), TrainingData.Classes<T>(random, 2, 3, [3, 4]));

        history.BestEpoch.Should().Be(best);
        history.Epochs.Should().HaveCount(best + 2, "patience 2 stops two epochs after the best");
        history.StoppedEarly.Should().BeTrue();
        history.RestoredBestParameters.Should().BeTrue();
        RandomProblems.ShouldBeUnchanged(layer, snapshots[best - 1]);
        history.Epochs.Select(e => e.Validation!.Metrics[metric.Name]).Should().Equal(metric.Script.Take(best + 2));
    }

    [Fact]
    public void Metrics_that_cannot_work_are_refused_up_front()
    {
        var regression = new RecurrentLayer<T>(2, 4, 1, outputActivation: OutputActivation.Identity);
        ((Action)(() => _ = new Trainer<T>(regression, new SgdOptimizer<T>(0.1), new TrainerOptions { Monitor = Metric.Accuracy() })))
            .Should().Throw<ArgumentException>().WithParameterName("options").WithMessage("*'accuracy' does not suit the layer*softmax or sigmoid*");
        ((Action)(() => _ = new Trainer<T>(regression, new SgdOptimizer<T>(0.1), new TrainerOptions { Metrics = [Metric.MeanAbsoluteError, Metric.MeanAbsoluteError] })))
            .Should().Throw<ArgumentException>().WithMessage("*'mae' twice*");

        // The same metric listed and monitored (two equal objects) is measured once.
        var classifier = new Trainer<T>(new RecurrentLayer<T>(2, 4, 3), new SgdOptimizer<T>(0.1), new TrainerOptions { Metrics = [Metric.Accuracy()], Monitor = Metric.Accuracy() });
        classifier.Evaluate(TrainingData.Classes<T>(new Random(1), 2, 3, [3, 4])).Metrics.Keys.Should().Equal("accuracy");

        var trainer = new Trainer<T>(regression, new SgdOptimizer<T>(0.1), new TrainerOptions { Monitor = Metric.MeanAbsoluteError });
        SequenceDataset<T> data = TrainingData.Values<T>(new Random(1), 2, 1, [3, 4]);
        ((Action)(() => trainer.Fit(data))).Should().Throw<ArgumentException>().WithParameterName("validation").WithMessage("*'mae'*validation set*");
    }

    private static T[][] Rows(Sequence<T> s) => Enumerable.Range(0, s.Length).Select(t => s.Inputs.AsSpan(t * s.InputSize, s.InputSize).ToArray()).ToArray();

    /// <summary>Targets in [0, 1], as binary cross-entropy needs (the mapping is the same for every output).</summary>
    private static T Clamp(T v) => (v + T.One) / T.CreateTruncating(2);

    /// <summary>A metric whose k-th evaluation returns Script[k] (the trainer's construction-time check is call 0, skipped).</summary>
    private sealed class ScriptedMetric(MetricGoal goal, double[] script) : Metric("scripted", goal)
    {
        private int _starts;

        public double[] Script => script;

        public override MetricAccumulator Start(OutputActivation outputActivation, int outputSize) => new Fixed(script[Math.Max(0, _starts++ - 1)]);

        private sealed class Fixed(double value) : MetricAccumulator
        {
            public override double Result => value;

            public override void Add(ReadOnlySpan<double> output, ReadOnlySpan<double> target)
            {
            }
        }
    }
}

public sealed class MetricTestsDouble : MetricTests<double>;

public sealed class MetricTestsSingle : MetricTests<float>;
