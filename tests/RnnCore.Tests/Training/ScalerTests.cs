using System.Numerics;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>
/// <see cref="Scaler{T}"/>: the figures of standardization and min-max scaling on hand-computed data, applied to
/// datasets and new inputs, inverted on predictions, a metric in original units (by hand, and through the Trainer
/// against predictions mapped back here), and refusals; float and double.
/// </summary>
public abstract class ScalerTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly double Epsilon = typeof(T) == typeof(float) ? 1e-6 : 1e-14;

    [Fact]
    public void Standardize_measures_each_feature_over_every_training_step_and_target()
    {
        // Feature 0 takes 1, 2, 3 (sequence 0) and 4 (sequence 1): mean 2.5, population variance
        // (1.5² + 0.5² + 0.5² + 1.5²) / 4 = 1.25. Feature 1 is always 10: no spread, scale 1. Targets 100 and 200:
        // mean 150, deviation 50.
        Scaler<T> scaler = Scaler<T>.Standardize(Training());

        scaler.InputOffsets.Should().Equal(2.5, 10);
        scaler.InputScales[0].Should().BeApproximately(Math.Sqrt(1.25), 1e-15);
        scaler.InputScales[1].Should().Be(1);
        scaler.TargetOffsets.Should().Equal(150);
        scaler.TargetScales.Should().Equal(50);
        scaler.ScalesTargets.Should().BeTrue();

        SequenceDataset<T> scaled = scaler.Transform(Training());
        Values(scaled[0].Input(0)).Should().Equal(new[] { -1.5 / Math.Sqrt(1.25), 0 }, Close);
        Values(scaled[1].Input(0)).Should().Equal(new[] { 1.5 / Math.Sqrt(1.25), 0 }, Close);
        Values(scaled[0].Target(0)).Should().Equal(-1);
        Values(scaled[1].Target(0)).Should().Equal(1);
        scaled.Count.Should().Be(2);
        scaled[0].Length.Should().Be(3);
    }

    [Fact]
    public void MinMax_maps_each_features_training_range_onto_the_given_one()
    {
        // Feature 0 from [1, 4] onto [0, 1]: x' = (x − 1) / 3; the constant feature to 0 (scale 1); targets from [100, 200].
        Scaler<T> unit = Scaler<T>.MinMax(Training());
        unit.InputOffsets.Should().Equal(1, 10);
        unit.InputScales.Should().Equal(3, 1);
        SequenceDataset<T> scaled = unit.Transform(Training());
        Values(scaled[0].Input(1)).Should().Equal(new[] { 1 / 3.0, 0 }, Close);
        Values(scaled[1].Input(0)).Should().Equal(1, 0);
        Values(scaled[0].Target(0)).Should().Equal(0);
        Values(scaled[1].Target(0)).Should().Equal(1);

        // Onto [−1, 1]: scale (4 − 1) / 2 = 1.5 and offset 1 − (−1)(1.5) = 2.5, so 1 → −1 and 4 → 1.
        Scaler<T> symmetric = Scaler<T>.MinMax(Training(), low: -1, high: 1);
        symmetric.InputScales[0].Should().Be(1.5);
        symmetric.InputOffsets[0].Should().Be(2.5);
        SequenceDataset<T> both = symmetric.Transform(Training());
        Values(both[0].Input(0))[0].Should().Be(-1);
        Values(both[1].Input(0))[0].Should().Be(1);

        // Later data keeps the training figures, even outside the range: 7 → (7 − 1) / 3 = 2.
        Values(unit.Transform(Sequence<T>.WithValue(new[] { new[] { T.CreateTruncating(7), T.CreateTruncating(10) } }, T.CreateTruncating(250))).Input(0))
            .Should().Equal(2, 0);
    }

    [Fact]
    public void New_inputs_are_scaled_and_predictions_mapped_back()
    {
        Scaler<T> scaler = Scaler<T>.MinMax(Training());
        Values(scaler.TransformInputs([[T.CreateTruncating(2.5), T.CreateTruncating(11)]])[0]).Should().Equal(0.5, 1);
        Values(scaler.InverseTransformOutputs([T.CreateTruncating(0.5)])).Should().Equal(150);
        scaler.InverseTransformOutputs([[T.Zero], [T.One], [T.CreateTruncating(1.5)]]).Select(r => double.CreateTruncating(r[0])).Should().Equal(100, 200, 250);

        // A univariate series: the same figures for its one feature.
        SequenceDataset<T> series = SequenceDataset<T>.FromSeries([[T.CreateTruncating(2), T.CreateTruncating(4)], [T.CreateTruncating(6)]], [T.One, T.CreateTruncating(3)]);
        Scaler<T> standard = Scaler<T>.Standardize(series);
        standard.InputOffsets.Should().Equal(4);
        standard.InputScales[0].Should().BeApproximately(Math.Sqrt(8 / 3.0), 1e-15);
        Values(standard.TransformInputs([T.CreateTruncating(4), T.CreateTruncating(6)])).Should().Equal(new[] { 0, 2 / Math.Sqrt(8 / 3.0) }, Close);
        Values(standard.InverseTransformOutputs([T.CreateTruncating(-1)])).Should().Equal(1);
    }

    [Fact]
    public void Class_targets_and_targets_left_alone_are_not_scaled()
    {
        SequenceDataset<T> classes = TrainingData.Classes<T>(new Random(1), 2, 3, [3, 4], perStep: false);
        Scaler<T> scaler = Scaler<T>.Standardize(classes);
        scaler.ScalesTargets.Should().BeFalse();
        scaler.TargetScales.Should().BeNull();
        SequenceDataset<T> scaled = scaler.Transform(classes);
        scaled.Select(s => s.TargetClass(0)).Should().Equal(classes.Select(s => s.TargetClass(0)));
        ((Action)(() => scaler.InverseTransformOutputs([T.One]))).Should().Throw<InvalidOperationException>().WithMessage("*does not scale targets*");
        ((Action)(() => scaler.InOriginalUnits(Metric.MeanAbsoluteError))).Should().Throw<InvalidOperationException>();

        Scaler<T> inputsOnly = Scaler<T>.Standardize(Training(), scaleTargets: false);
        inputsOnly.ScalesTargets.Should().BeFalse();
        Values(inputsOnly.Transform(Training())[1].Target(0)).Should().Equal(200);
    }

    [Fact]
    public void Data_of_other_sizes_and_bad_arguments_are_refused()
    {
        Scaler<T> scaler = Scaler<T>.Standardize(Training());
        ((Action)(() => scaler.Transform(TrainingData.Values<T>(new Random(2), 3, 1, [2])))).Should().Throw<ArgumentException>()
            .WithParameterName("data").WithMessage("data has input size 3 but the scaler was fitted on 2 input features*");
        ((Action)(() => scaler.Transform(TrainingData.Classes<T>(new Random(2), 2, 3, [2])))).Should().Throw<ArgumentException>()
            .WithParameterName("data").WithMessage("data has class targets but the scaler scales value targets of size 1*");
        ((Action)(() => scaler.TransformInputs([[T.One]]))).Should().Throw<ArgumentException>().WithParameterName("steps").WithMessage("steps[0] has 1 features*2*");
        ((Action)(() => scaler.TransformInputs([T.One]))).Should().Throw<ArgumentException>().WithParameterName("series");
        ((Action)(() => scaler.InverseTransformOutputs([T.One, T.One]))).Should().Throw<ArgumentException>().WithParameterName("output");
        ((Action)(() => Scaler<T>.MinMax(Training(), low: 1, high: 1))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void A_metric_in_original_units_maps_outputs_and_targets_back_first()
    {
        // Targets scaled by (y − 150) / 50: scaled output 0.5 is 175 against a target of −1, i.e. 100 (error 75); 1 against
        // 1 is 200 against 200 (error 0). RMSE = √((75² + 0²) / 2) = 75/√2.
        Metric rmse = Scaler<T>.Standardize(Training()).InOriginalUnits(Metric.RootMeanSquaredError);
        rmse.Name.Should().Be("rmse_original");
        rmse.Goal.Should().Be(MetricGoal.Minimize);
        MetricAccumulator accumulator = rmse.Start(OutputActivation.Identity, 1);
        accumulator.Add([0.5], [-1]);
        accumulator.Add([1], [1]);
        accumulator.Result.Should().BeApproximately(75 / Math.Sqrt(2), 1e-12);
        ((Action)(() => rmse.Start(OutputActivation.Identity, 2))).Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_trainer_reports_the_metric_in_original_units_as_predictions_mapped_back_score(bool model)
    {
        // Windows of a series around 20; the network learns on standardized windows and targets.
        var random = new Random(3);
        T[] values = [.. Enumerable.Range(0, 120).Select(t => T.CreateTruncating(20 + (3 * Math.Sin(0.3 * t)) + random.NextDouble()))];
        var (training, validation) = SequenceDataset<T>.Windows(values, window: 6).SplitChronologically(0.75);
        Scaler<T> scaler = Scaler<T>.Standardize(training);
        var options = new TrainerOptions { Epochs = 3, BatchSize = 16, Metrics = [scaler.InOriginalUnits(Metric.RootMeanSquaredError), scaler.InOriginalUnits(Metric.MeanAbsoluteError)] };
        Trainer<T> trainer = model
            ? new Trainer<T>(new RecurrentModel<T>(new RecurrentModelOptions(1, 5, 1) { Cell = RecurrentCellKind.Lstm, OutputActivation = OutputActivation.Identity, Seed = 2 }), new AdamOptimizer<T>(0.02), options)
            : new Trainer<T>(new RecurrentLayer<T>(1, 5, 1, outputActivation: OutputActivation.Identity, seed: 2), new AdamOptimizer<T>(0.02), options);
        History history = trainer.Fit(scaler.Transform(training), scaler.Transform(validation));
        EvaluationResult result = trainer.Evaluate(scaler.Transform(validation));

        // The same figures from the predictions, mapped back here, against the raw targets.
        T[][] predicted = scaler.InverseTransformOutputs(trainer.PredictLast(scaler.Transform(validation)));
        double[] errors = [.. predicted.Select((y, n) => double.CreateTruncating(y[0]) - double.CreateTruncating(validation[n].Target(0)[0]))];
        double rmse = Math.Sqrt(errors.Average(e => e * e)), mae = errors.Average(Math.Abs);
        double tolerance = typeof(T) == typeof(float) ? 1e-4 : 1e-10;
        result.Metrics["rmse_original"].Should().BeApproximately(rmse, tolerance * rmse);
        result.Metrics["mae_original"].Should().BeApproximately(mae, tolerance * mae);
        result.RootMeanSquaredError!.Value.Should().BeApproximately(rmse / scaler.TargetScales![0], tolerance * rmse, "the built-in RMSE stays in scaled units");
        history.Epochs[^1].Validation!.Metrics["rmse_original"].Should().Be(result.Metrics["rmse_original"]);
    }

    /// <summary>Two sequences of 2 features with one target each: steps (1, 10), (2, 10), (3, 10) → 100 and (4, 10) → 200.</summary>
    private static SequenceDataset<T> Training() => new(
    [
        Sequence<T>.WithValue(Rows([1, 10], [2, 10], [3, 10]), T.CreateTruncating(100)),
        Sequence<T>.WithValue(Rows([4, 10]), T.CreateTruncating(200)),
    ]);

    private static T[][] Rows(params double[][] rows) => [.. rows.Select(r => r.Select(T.CreateTruncating).ToArray())];

    private static double[] Values(ReadOnlySpan<T> values)
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            result[i] = double.CreateTruncating(values[i]);
        }

        return result;
    }

    private static bool Close(double actual, double expected) => Math.Abs(actual - expected) <= Epsilon * Math.Max(1, Math.Abs(expected));
}

public sealed class ScalerTestsDouble : ScalerTests<double>;

public sealed class ScalerTestsSingle : ScalerTests<float>;
