using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>
/// The two tasks of docs/examples.md, as tests of what the examples claim: the forecaster, trained on standardized
/// windows, beats repeating the last value in °C, and the classifier trained from plain arrays is accurate on held-out
/// data. Same data, model and options as the documented programs (which the docs CI compiles and runs).
/// </summary>
public sealed class ExampleTaskTests
{
    [Fact]
    public void The_forecaster_on_standardized_windows_beats_repeating_the_last_value_in_original_units()
    {
        var random = new Random(7);
        double[] series = [.. Enumerable.Range(0, 2000)
            .Select(t => 15 + (8 * Math.Sin(0.1 * t)) + (4 * Math.Sin(0.023 * t)) + (2 * (random.NextDouble() - 0.5)))];
        var (training, validation) = SequenceDataset<double>.Windows(series, window: 30).SplitChronologically(0.8);
        (training.Count, validation.Count).Should().Be((1576, 394));
        var scaler = Scaler<double>.Standardize(training);

        // The scaler's figures: the mean and population deviation of every training input, computed here.
        double[] inputs = [.. training.SelectMany(w => Enumerable.Range(0, w.Length).Select(t => w.Input(t)[0]))];
        double mean = inputs.Average();
        scaler.InputOffsets[0].Should().BeApproximately(mean, 1e-12);
        scaler.InputScales[0].Should().BeApproximately(Math.Sqrt(inputs.Average(x => (x - mean) * (x - mean))), 1e-12);

        Metric rmse = scaler.InOriginalUnits(Metric.RootMeanSquaredError);
        var trainer = new Trainer<double>(new RecurrentLayer<double>(1, 24, 1, outputActivation: OutputActivation.Identity, seed: 1),
            new AdamOptimizer<double>(0.01), new TrainerOptions { Epochs = 15, EarlyStoppingPatience = 3, Metrics = [rmse] });
        trainer.Fit(scaler.Transform(training), scaler.Transform(validation));
        trainer.Placement.Should().Be(LossPlacement.LastStep, "a window has one target");

        double model = trainer.Evaluate(scaler.Transform(validation)).Metrics[rmse.Name];
        double naive = Math.Sqrt(validation.Average(w => Math.Pow(w.Target(0)[0] - w.Input(w.Length - 1)[0], 2)));

        // The metric agrees with the predictions mapped back to °C here.
        double[][] predicted = scaler.InverseTransformOutputs(trainer.PredictLast(scaler.Transform(validation)));
        Math.Sqrt(predicted.Select((p, k) => Math.Pow(p[0] - validation[k].Target(0)[0], 2)).Average()).Should().BeApproximately(model, 1e-12);
        model.Should().BeLessThan(0.85 * naive, $"the model ({model:F3} °C) must clearly beat repeating the last value ({naive:F3} °C)");
    }

    [Fact]
    public void The_classifier_fitted_from_plain_arrays_is_accurate_on_held_out_data()
    {
        var random = new Random(3);
        double[] frequencies = [0.1, 0.5, 1.0];
        int[] labels = [.. Enumerable.Range(0, 1200).Select(_ => random.Next(3))];
        double[][] waves = [.. labels.Select(label => Wave(frequencies[label], random.Next(10, 41), 2 * Math.PI * random.NextDouble()))];

        var model = new RecurrentLayer<double>(1, 32, 3, seed: 1);
        model.Summary().TotalParameters.Should().Be((32 * 1) + (32 * 32) + 32 + (3 * 32) + 3);
        var trainer = new Trainer<double>(model, new AdamOptimizer<double>(0.002),
            new TrainerOptions { Epochs = 30, BatchSize = 16, Clipping = Clipping.ByGlobalNorm(1) });
        trainer.Fit(waves[..960], labels[..960]);

        double accuracy = trainer.Evaluate(waves[960..], labels[960..]).Accuracy!.Value;
        int[] predicted = trainer.PredictClass([.. waves[960..].Select(w => w.Select(v => new[] { v }).ToArray())]);
        predicted.Select((c, k) => c == labels[960 + k] ? 1.0 : 0.0).Average().Should().Be(accuracy);
        accuracy.Should().BeGreaterThan(0.9, "three well-separated frequencies (a guess scores 1/3)");
        trainer.PredictClass(Wave(0.5, 25, 0, noise: 0)).Should().Be(1);

        double[] Wave(double frequency, int length, double phase, double noise = 0.3) =>
            [.. Enumerable.Range(0, length).Select(t => Math.Sin((frequency * t) + phase) + (noise * (random.NextDouble() - 0.5)))];
    }
}
