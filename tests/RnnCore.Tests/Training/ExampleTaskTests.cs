using RnnCore.Optimizers;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>
/// The two tasks of docs/examples.md, as tests of what the examples claim: the forecaster beats repeating the last
/// value, and the classifier of sequences of varying length is accurate on held-out data. Same data, model and options
/// as the documented programs (which the docs CI compiles and runs).
/// </summary>
public sealed class ExampleTaskTests
{
    [Fact]
    public void The_forecaster_from_windows_of_30_values_beats_repeating_the_last_value()
    {
        var random = new Random(7);
        double[] series = Enumerable.Range(0, 2000)
            .Select(t => Math.Sin(0.1 * t) + (0.5 * Math.Sin(0.023 * t)) + (0.2 * (random.NextDouble() - 0.5))).ToArray();
        var (training, validation) = SequenceDataset<double>.Windows(series, window: 30).SplitChronologically(0.8, gap: 30);
        (training.Count, validation.Count).Should().Be((1576, 364));

        var model = new RecurrentLayer<double>(1, 24, 1, outputActivation: OutputActivation.Identity, seed: 1);
        var trainer = new Trainer<double>(model, new AdamOptimizer<double>(0.01), new TrainerOptions
        {
            Epochs = 15, Placement = LossPlacement.LastStep, Monitor = Metric.MeanSquaredError, EarlyStoppingPatience = 3,
        });
        trainer.Fit(training, validation);

        double modelMse = trainer.Evaluate(validation).Metrics["mse"];
        double naiveMse = validation.Average(w => Math.Pow(w.Target(0)[0] - w.Input(w.Length - 1)[0], 2));

        // The metric agrees with the predictions, computed here.
        double[][] predicted = trainer.PredictLast(validation);
        predicted.Select((p, k) => Math.Pow(p[0] - validation[k].Target(0)[0], 2)).Average().Should().BeApproximately(modelMse, 1e-12);
        modelMse.Should().BeLessThan(0.75 * naiveMse, $"the model ({modelMse:F5}) must clearly beat repeating the last value ({naiveMse:F5})");
    }

    [Fact]
    public void The_classifier_of_sequences_of_varying_length_is_accurate_on_held_out_data()
    {
        var random = new Random(3);
        double[] frequencies = [0.1, 0.5, 1.0];
        var sequences = new List<Sequence<double>>();
        for (int n = 0; n < 1200; n++)
        {
            int label = random.Next(3), length = random.Next(10, 41);
            double phase = 2 * Math.PI * random.NextDouble();
            double[] wave = Enumerable.Range(0, length)
                .Select(t => Math.Sin((frequencies[label] * t) + phase) + (0.3 * (random.NextDouble() - 0.5))).ToArray();
            sequences.Add(Sequence<double>.WithClass(wave, label));
        }

        var (training, test) = new SequenceDataset<double>(sequences).Split(0.8, seed: 1);
        var model = new RecurrentLayer<double>(1, 32, 3, seed: 1);
        var trainer = new Trainer<double>(model, new AdamOptimizer<double>(0.002), new TrainerOptions
        {
            Epochs = 30, BatchSize = 16, Placement = LossPlacement.LastStep, Clipping = Clipping.ByGlobalNorm(1),
        });
        trainer.Fit(training);

        double accuracy = trainer.Evaluate(test).Accuracy!.Value;
        double[][] probabilities = trainer.PredictLast(test);
        double recomputed = probabilities.Select((p, k) => Array.IndexOf(p, p.Max()) == test[k].TargetClass(0) ? 1.0 : 0.0).Average();
        recomputed.Should().Be(accuracy);
        accuracy.Should().BeGreaterThan(0.9, "three well-separated frequencies (a guess scores 1/3)");
    }
}
