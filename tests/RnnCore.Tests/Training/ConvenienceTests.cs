using System.Numerics;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>
/// The conveniences around training: the predicted class (argmax for softmax, a threshold for a sigmoid) on networks
/// whose outputs are set by hand; the network summary's parameter counts against the formulas and the networks' own
/// parameter sets, and its table; fitting and evaluating from plain arrays against the same data as a dataset. For a
/// layer and a model, float and double.
/// </summary>
public abstract class ConvenienceTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Fact]
    public void The_class_of_a_softmax_layer_is_the_argmax_of_its_last_output()
    {
        // h_t = tanh(x_t) (W_h = 0), z = (h, −h): class 0 when the last input is positive, 1 when it is negative, and 0
        // when they tie, as the Trainer's accuracy counts the first of equal maxima. The tie is made by equal rows of W_y
        // (z = (h, h) for every h), not by x = 0: TensorPrimitives' vectorized float tanh gives tanh(0) = −2⁻²⁴, not 0.
        var layer = new RecurrentLayer<T>(1, 1, 2, seed: 1);
        layer.Wx[0, 0] = T.One;
        layer.Wh[0, 0] = T.Zero;
        layer.Bh[0] = T.Zero;
        layer.Wy[0, 0] = T.One;
        layer.Wy[1, 0] = -T.One;
        layer.By.Clear();

        layer.PredictClass(Series(-1, 2)).Should().Be(0);
        layer.PredictClass(Series(3, -0.5)).Should().Be(1);
        layer.Wy[1, 0] = T.One;
        layer.PredictClass(Series(5, -3)).Should().Be(0);
        layer.Wy[1, 0] = -T.One;
        layer.PredictClass([[T.CreateTruncating(-2)]]).Should().Be(1);
        layer.PredictClass([Steps(1, -1), Steps(-1, 1), Steps(-3)]).Should().Equal(1, 0, 1);
        layer.PredictClass(SequenceDataset<T>.FromSeries([Series(1, -1), Series(-1, 1)], [0, 0])).Should().Equal(1, 0);
        new Trainer<T>(layer, new SgdOptimizer<T>(0.1)).PredictClass([Steps(1, -1), Steps(-1, 1)]).Should().Equal(1, 0);
    }

    [Fact]
    public void The_class_of_a_sigmoid_output_is_one_at_or_above_the_threshold()
    {
        // z = b_y only (W_y = 0): b_y = 0 gives p = σ(0) = 0.5 exactly, which is class 1 at threshold 0.5 (p ≥ threshold)
        // and 0 at 0.6; b_y = ln(0.2 / 0.8) gives p = 0.2.
        var layer = new RecurrentLayer<T>(1, 2, 1, outputActivation: OutputActivation.Sigmoid, seed: 1);
        layer.Wy.Clear();
        layer.By[0] = T.Zero;
        layer.PredictClass(Series(0.3, 0.7)).Should().Be(1);
        layer.PredictClass(Series(0.3, 0.7), threshold: 0.6).Should().Be(0);
        layer.By[0] = T.CreateTruncating(Math.Log(0.2 / 0.8));
        layer.PredictClass(Series(0.3)).Should().Be(0);
        layer.PredictClass(Series(0.3), threshold: 0.15).Should().Be(1);
    }

    [Theory]
    [InlineData(RecurrentCellKind.Lstm)]
    [InlineData(RecurrentCellKind.Gru)]
    [InlineData(RecurrentCellKind.Vanilla)]
    public void The_class_of_a_model_is_the_argmax_of_its_head(RecurrentCellKind cell)
    {
        // Every recurrent weight and bias 0 keeps h = 0 for each cell (LSTM: g = tanh(0) = 0 so c = 0; GRU: n = 0 and
        // h = (1 − z)·0 + z·0), so the head's output is its bias: class 2, the largest of (0.1, −1, 0.7).
        var model = new RecurrentModel<T>(new RecurrentModelOptions(2, 3, 3) { Cell = cell, Layers = 2, Bidirectional = true, Seed = 4 });
        for (int p = 0; p < model.Parameters.Count; p++)
        {
            model.Parameters[p].Clear();
        }

        model.Parameter("head.bias")[0, 0] = T.CreateTruncating(0.1);
        model.Parameter("head.bias")[1, 0] = T.CreateTruncating(-1);
        model.Parameter("head.bias")[2, 0] = T.CreateTruncating(0.7);
        model.PredictClass([Row(0.5, 2), Row(-1, 3)]).Should().Be(2);
        model.PredictClass([[Row(0.5, 2)], [Row(1, 1), Row(2, 2)]]).Should().Equal(2, 2);
        new Trainer<T>(model, new SgdOptimizer<T>(0.1)).PredictClass([[Row(0.5, 2)]]).Should().Equal(2);
    }

    [Fact]
    public void A_trained_network_predicts_the_argmax_of_what_PredictLast_returns()
    {
        var random = new Random(5);
        SequenceDataset<T> data = TrainingData.Classes<T>(random, 2, 4, [.. Enumerable.Range(0, 24).Select(_ => random.Next(2, 9))], perStep: false);
        var trainer = new Trainer<T>(new RecurrentModel<T>(new RecurrentModelOptions(2, 6, 4) { Cell = RecurrentCellKind.Gru, Seed = 1 }), new AdamOptimizer<T>(0.05), new TrainerOptions { Epochs = 1 });
        trainer.Fit(data);
        Span<T> head = trainer.Model!.Parameters[trainer.Model.Parameters.Count - 2];
        for (int e = 0; e < head.Length; e++)
        {
            head[e] *= T.CreateTruncating(30); // outputs far apart, so that the inputs decide the class
        }

        int[] expected = [.. trainer.PredictLast(data).Select(y => Array.IndexOf(y, y.Max()))];
        trainer.PredictClass(data).Should().Equal(expected);
        trainer.Model!.PredictClass(data).Should().Equal(expected);
        expected.Distinct().Count().Should().BeGreaterThan(1, "the check is only worth something if the classes differ");
    }

    [Fact]
    public void Networks_without_one_class_to_predict_and_bad_thresholds_are_refused_before_any_work()
    {
        var regression = new RecurrentLayer<T>(1, 2, 1, outputActivation: OutputActivation.Identity);
        ((Action)(() => regression.PredictClass(Series(1)))).Should().Throw<InvalidOperationException>().WithMessage("*Identity*PredictLast*");
        var labels = new RecurrentModel<T>(new RecurrentModelOptions(1, 2, 3) { OutputActivation = OutputActivation.Sigmoid });
        ((Action)(() => labels.PredictClass(Series(1)))).Should().Throw<InvalidOperationException>().WithMessage("*3 independent labels*");
        var softmax = new RecurrentLayer<T>(1, 2, 3);
        ((Action)(() => softmax.PredictClass(Series(1), threshold: 1))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("threshold");
        ((Action)(() => regression.PredictClass([[T.NaN]]))).Should().Throw<InvalidOperationException>("the output is refused before the input is read");
    }

    [Fact]
    public void The_summary_of_a_layer_counts_its_five_tensors()
    {
        // Recurrence: W_x 16x1, W_h 16x16, b_h 16 = 288; output: W_y 2x16, b_y 2 = 34.
        var layer = new RecurrentLayer<T>(1, 16, 2, seed: 1);
        NetworkSummary summary = layer.Summary();
        summary.Rows.Select(r => (r.Name, r.Kind, r.Directions, r.InputFeatures, r.OutputFeatures, r.Parameters))
            .Should().Equal(("recurrent", "Elman RNN (tanh)", 1, 1, 16, 288L), ("output", "Linear + softmax", 1, 16, 2, 34L));
        summary.TotalParameters.Should().Be(322).And.Be(layer.Parameters.TotalLength);
        summary.ParameterBytes.Should().Be(322 * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        string type = typeof(T) == typeof(float) ? "float" : "double";
        summary.ToString().Split(Environment.NewLine).Should().Equal(
            $"RecurrentLayer<{type}>: tanh, hidden size 16",
            "Layer      Kind              Directions       Input      Output  Parameters",
            "recurrent  Elman RNN (tanh)           1   [B, T, 1]  [B, T, 16]         288",
            "output     Linear + softmax           1  [B, T, 16]   [B, T, 2]          34",
            $"Total: 322 parameters ({322 * System.Runtime.CompilerServices.Unsafe.SizeOf<T>():N0} bytes)");
    }

    [Theory]
    [InlineData(RecurrentCellKind.Lstm, 2, true, 3, 4, 2, new long[] { 288, 448, 18 })]   // per direction 4·4·3 + 4·4·4 + 2·4·4 = 144; above: 4·4·8 + 64 + 32 = 224; head 2·8 + 2
    [InlineData(RecurrentCellKind.Gru, 1, false, 5, 3, 4, new long[] { 90, 16 })]        // 3·3·5 + 3·3·3 + 2·3·3; head 4·3 + 4
    [InlineData(RecurrentCellKind.Vanilla, 3, false, 2, 3, 1, new long[] { 21, 24, 24, 4 })] // 3·2 + 3·3 + 2·3; then 3·3 + 9 + 6 twice; head 3 + 1
    public void The_summary_of_a_model_counts_each_layer_and_the_head(RecurrentCellKind cell, int layers, bool bidirectional, int i, int h, int o, long[] counts)
    {
        var model = new RecurrentModel<T>(new RecurrentModelOptions(i, h, o) { Cell = cell, Layers = layers, Bidirectional = bidirectional, Dropout = layers > 1 ? 0.25 : 0 });
        NetworkSummary summary = model.Summary();
        int d = bidirectional ? 2 : 1;
        summary.Rows.Select(r => r.Parameters).Should().Equal(counts);
        summary.TotalParameters.Should().Be(counts.Sum()).And.Be(model.Parameters.TotalLength);
        summary.Rows.Select(r => r.Name).Should().Equal(Enumerable.Range(0, layers).Select(l => $"rnn layer {l}").Append("head"));
        summary.Rows.Select(r => r.InputFeatures).Should().Equal(Enumerable.Repeat(d * h, layers).Prepend(i));
        summary.Rows.Select(r => r.OutputFeatures).Should().Equal(Enumerable.Repeat(d * h, layers).Append(o));
        summary.Rows.Select(r => r.Directions).Should().Equal(Enumerable.Repeat(d, layers).Append(1));
        summary.Network.Should().Contain(layers == 1 ? "1 layer" : $"{layers} layers").And.Contain($"hidden size {h}");
        summary.Network.Contains("bidirectional", StringComparison.Ordinal).Should().Be(bidirectional);
        summary.Network.Contains("dropout 0.25", StringComparison.Ordinal).Should().Be(layers > 1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fitting_from_arrays_is_fitting_on_the_dataset_they_make(bool model)
    {
        var random = new Random(6);
        T[][][] inputs = [.. Enumerable.Range(0, 10).Select(_ => Enumerable.Range(0, random.Next(2, 7)).Select(_ => Row(random.NextDouble(), random.NextDouble())).ToArray())];
        int[] classes = [.. Enumerable.Range(0, 10).Select(_ => random.Next(3))];
        SequenceDataset<T> data = SequenceDataset<T>.FromArrays(inputs, classes);

        (Trainer<T> fromArrays, Trainer<T> fromDataset) = (NewTrainer(model, 2, 3), NewTrainer(model, 2, 3));
        History a = fromArrays.Fit(inputs, classes, validationSplit: 0.2);
        History b = fromDataset.Fit(data.Take(8), data.Skip(8));
        Parameters(fromArrays).Should().BeEquivalentTo(Parameters(fromDataset), o => o.WithStrictOrdering());
        a.Epochs.Select(e => (e.TrainingLoss, e.ValidationLoss)).Should().Equal(b.Epochs.Select(e => (e.TrainingLoss, e.ValidationLoss)));
        b.Epochs[0].ValidationLoss.Should().NotBeNull("the last 2 of 10 validate");
        fromArrays.Placement.Should().Be(LossPlacement.LastStep);
        fromArrays.Evaluate(inputs, classes).Loss.Should().Be(fromDataset.Evaluate(data).Loss);
    }

    [Fact]
    public void Fitting_from_series_with_values_is_fitting_on_FromSeries()
    {
        var random = new Random(7);
        T[][] series = [.. Enumerable.Range(0, 12).Select(_ => Enumerable.Range(0, random.Next(2, 6)).Select(_ => T.CreateTruncating(random.NextDouble())).ToArray())];
        T[] targets = [.. series.Select(s => s.Aggregate(T.Zero, (x, y) => x + y))];
        var fromArrays = new Trainer<T>(new RecurrentLayer<T>(1, 4, 1, outputActivation: OutputActivation.Identity, seed: 3), new AdamOptimizer<T>(0.01), new TrainerOptions { Epochs = 2, Seed = 1 });
        var fromDataset = new Trainer<T>(new RecurrentLayer<T>(1, 4, 1, outputActivation: OutputActivation.Identity, seed: 3), new AdamOptimizer<T>(0.01), new TrainerOptions { Epochs = 2, Seed = 1 });
        fromArrays.Fit(series, targets);
        fromDataset.Fit(SequenceDataset<T>.FromSeries(series, targets));
        Parameters(fromArrays).Should().BeEquivalentTo(Parameters(fromDataset), o => o.WithStrictOrdering());
        fromArrays.Evaluate(series, targets).RootMeanSquaredError.Should().Be(fromDataset.Evaluate(SequenceDataset<T>.FromSeries(series, targets)).RootMeanSquaredError);

        ((Action)(() => fromArrays.Fit(series, targets[..5]))).Should().Throw<ArgumentException>().WithParameterName("targets");
        ((Action)(() => fromArrays.Fit(series, targets, validationSplit: 1))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("validationSplit");
        ((Action)(() => fromArrays.Fit(series, targets, validationSplit: 0.01))).Should().Throw<ArgumentOutOfRangeException>()
            .WithParameterName("validationSplit").WithMessage("*leaves 12 for training and 0 for validation*");
    }

    private static Trainer<T> NewTrainer(bool model, int inputs, int classes)
    {
        var options = new TrainerOptions { Epochs = 2, BatchSize = 4, Seed = 3 };
        return model
            ? new Trainer<T>(new RecurrentModel<T>(new RecurrentModelOptions(inputs, 4, classes) { Cell = RecurrentCellKind.Lstm, Seed = 2 }), new AdamOptimizer<T>(0.02), options)
            : new Trainer<T>(new RecurrentLayer<T>(inputs, 4, classes, seed: 2), new AdamOptimizer<T>(0.02), options);
    }

    private static T[][] Parameters(Trainer<T> trainer)
    {
        TensorSet<T> parameters = trainer.Model.Parameters;
        return [.. Enumerable.Range(0, parameters.Count).Select(i => parameters[i].ToArray())];
    }

    private static T[] Series(params double[] values) => [.. values.Select(T.CreateTruncating)];

    /// <summary>One step of several features.</summary>
    private static T[] Row(params double[] features) => [.. features.Select(T.CreateTruncating)];

    /// <summary>A sequence of one feature per step, as steps × features.</summary>
    private static T[][] Steps(params double[] values) => [.. values.Select(v => new[] { T.CreateTruncating(v) })];
}

public sealed class ConvenienceTestsDouble : ConvenienceTests<double>;

public sealed class ConvenienceTestsSingle : ConvenienceTests<float>;
