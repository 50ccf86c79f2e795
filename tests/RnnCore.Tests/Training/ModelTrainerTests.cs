using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Generation;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.Models;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>
/// The Trainer with a <see cref="RecurrentModel{T}"/>, for float and double: equivalence with the hand-written model
/// loop (dropout included), padding to the buffers' capacity, evaluation and prediction without dropout, early
/// stopping, schedules, stateful mode with every layer's h and c, truncated BPTT, callbacks, cancellation, divergence,
/// gradient health per layer and direction, and sampling.
/// </summary>
public abstract class ModelTrainerTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(RecurrentCellKind.Lstm, 2, true, 0.3)]
    [InlineData(RecurrentCellKind.Gru, 1, false, 0.0)]
    [InlineData(RecurrentCellKind.Vanilla, 2, false, 0.2)]
    [InlineData(RecurrentCellKind.Lstm, 2, true, 0.3, 3)]
    public void Equal_length_batches_in_order_are_bit_identical_to_the_hand_written_loop(
        RecurrentCellKind cell, int layers, bool bidirectional, double dropout, int projection = 0)
    {
        var random = new Random(1);
        SequenceDataset<T> data = TrainingData.Classes<T>(random, 3, 4, Enumerable.Repeat(6, 8).ToList());
        RecurrentModelOptions shape = ModelProblems.Options(cell, layers, bidirectional, OutputActivation.Softmax, 3, 5, 4, dropout, seed: 2)
            with { ProjectionSize = projection == 0 ? null : projection };
        var model = new RecurrentModel<T>(shape);
        var twin = new RecurrentModel<T>(shape);
        var options = new TrainerOptions { Epochs = 2, BatchSize = 4, Shuffle = false, Clipping = Clipping.ByGlobalNorm(0.5) };
        new Trainer<T>(model, new SgdOptimizer<T>(0.3, momentum: 0.9), options).Fit(data);

        var optimizer = new SgdOptimizer<T>(0.3, momentum: 0.9);
        var bptt = new Bptt<T>(twin, LossPlacement.EveryStep, LossReduction.Mean);
        ForwardCache<T> cache = twin.CreateCache(6, 4);
        RecurrentGradients<T> gradients = twin.CreateGradients(6, 4);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            for (int start = 0; start < 8; start += 4)
            {
                Sequence<T>[] batch = data.Skip(start).Take(4).ToArray();
                twin.Forward(Inputs(batch, 6), cache, training: true);
                bptt.Backward(cache, Targets(batch, 6), gradients);
                Clipping.ByGlobalNorm(0.5).Apply(gradients.ParameterGradients);
                optimizer.Step(twin.Parameters, gradients.ParameterGradients);
            }
        }

        ShouldEqual(model, ModelProblems.Snapshot(twin));
    }

    [Fact]
    public void A_mixed_length_batch_after_a_longer_one_equals_the_hand_loop_over_its_own_length()
    {
        // Batch 1 (lengths 7, 7) sizes the buffers to 7 steps; batch 2 (lengths 3, 4) runs over its own 4 steps, padded
        // only to its longest sequence, so its result and its dropout masks do not depend on batch 1's length.
        var random = new Random(2);
        SequenceDataset<T> data = TrainingData.Classes<T>(random, 3, 4, [7, 7, 3, 4]);
        RecurrentModelOptions shape = ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, 3, 4, 4, 0.25, seed: 3);
        var model = new RecurrentModel<T>(shape);
        var twin = new RecurrentModel<T>(shape);
        new Trainer<T>(model, new SgdOptimizer<T>(0.2), new TrainerOptions { Epochs = 1, BatchSize = 2, Shuffle = false }).Fit(data);

        var optimizer = new SgdOptimizer<T>(0.2);
        var bptt = new Bptt<T>(twin, LossPlacement.EveryStep, LossReduction.Mean);
        ForwardCache<T> cache = twin.CreateCache(7, 2);
        RecurrentGradients<T> gradients = twin.CreateGradients(7, 2);
        twin.Forward(Inputs(data.Take(2).ToArray(), 7), cache, training: true);
        bptt.Backward(cache, Targets(data.Take(2).ToArray(), 7), gradients);
        optimizer.Step(twin.Parameters, gradients.ParameterGradients);
        Sequence<T>[] second = data.Skip(2).ToArray();
        cache = twin.CreateCache(4, 2);
        gradients = twin.CreateGradients(4, 2);
        twin.Forward(Inputs(second, 4), cache, lengths: [3, 4], training: true);
        bptt.Backward(cache, Targets(second, 4), gradients);
        optimizer.Step(twin.Parameters, gradients.ParameterGradients);

        ShouldEqual(model, ModelProblems.Snapshot(twin));
    }

    [Fact]
    public void Evaluation_validation_and_prediction_run_without_dropout_and_training_with_it()
    {
        var random = new Random(3);
        SequenceDataset<T> data = TrainingData.Classes<T>(random, 3, 4, [5, 5, 3, 5]);
        RecurrentModelOptions shape = ModelProblems.Options(RecurrentCellKind.Gru, 3, false, OutputActivation.Softmax, 3, 6, 4, 0.5, seed: 4);
        var model = new RecurrentModel<T>(shape);
        var trainer = new Trainer<T>(model, new SgdOptimizer<T>(0.1), new TrainerOptions { Epochs = 2, BatchSize = 4, Shuffle = false });

        // Evaluate equals the inference loss of the model's own forward pass, and repeats exactly (no masks drawn).
        var bptt = new Bptt<T>(model, LossPlacement.EveryStep, LossReduction.Mean);
        ForwardCache<T> cache = model.CreateCache(5, 4);
        model.Forward(Inputs(data.ToArray(), 5), cache, lengths: [5, 5, 3, 5]);
        double inference = double.CreateTruncating(bptt.Loss(cache, Targets(data.ToArray(), 5)));
        double evaluated = trainer.Evaluate(data).Loss;
        evaluated.Should().BeApproximately(inference, 1e-12 * inference, "the same loss, averaged over the batch by the trainer");
        trainer.Evaluate(data).Loss.Should().Be(evaluated);
        model.Forward(Inputs(data.ToArray(), 5), cache, lengths: [5, 5, 3, 5], training: true);
        double.CreateTruncating(bptt.Loss(cache, Targets(data.ToArray(), 5))).Should().NotBe(inference, "with p = 0.5 a training pass differs, so the equality above is not vacuous");

        // Validation after the last epoch equals a later Evaluate; predictions equal the inference forward pass.
        History history = trainer.Fit(data, data);
        trainer.Evaluate(data).Loss.Should().Be(history.Epochs[^1].ValidationLoss!.Value);
        model.Forward(Inputs(data.ToArray(), 5), cache, lengths: [5, 5, 3, 5]);
        T[][] last = trainer.PredictLast(data);
        T[][][] every = trainer.PredictEveryStep(data);
        for (int j = 0; j < 4; j++)
        {
            int length = data[j].Length;
            last[j].Should().Equal(cache.Output(length - 1).Column(j).ToArray());
            every[j].Should().HaveCount(length);
            for (int t = 0; t < length; t++)
            {
                every[j][t].Should().Equal(cache.Output(t).Column(j).ToArray());
            }
        }

        // Dropout is active in training: the same run without dropout ends elsewhere.
        var plain = new RecurrentModel<T>(shape with { Dropout = 0 });
        var dropped = new RecurrentModel<T>(shape);
        var options = new TrainerOptions { Epochs = 1, BatchSize = 4, Shuffle = false };
        new Trainer<T>(plain, new SgdOptimizer<T>(0.1), options).Fit(data);
        new Trainer<T>(dropped, new SgdOptimizer<T>(0.1), options).Fit(data);
        plain.Parameters[0].ToArray().Should().NotEqual(dropped.Parameters[0].ToArray());
    }

    [Fact]
    public void Early_stopping_restores_the_parameters_of_the_best_epoch()
    {
        // The validation targets are the opposite of the training targets: as training improves, validation worsens.
        var random = new Random(5);
        List<MathNet.Numerics.LinearAlgebra.Vector<T>>[] inputs = Enumerable.Range(0, 16).Select(_ => Enumerable.Range(0, 4).Select(_ => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(2, _ => T.CreateTruncating(random.NextDouble()))).ToList()).ToArray();
        var training = new SequenceDataset<T>(inputs.Select(x => Sequence<T>.WithClasses(x, [0])));
        var validation = new SequenceDataset<T>(inputs.Select(x => Sequence<T>.WithClasses(x, [1])));
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, false, OutputActivation.Softmax, 2, 4, 2, 0.1, seed: 3));
        var snapshots = new Dictionary<int, T[][]>();
        var trainer = new Trainer<T>(model, new SgdOptimizer<T>(0.5), new TrainerOptions
        {
            Epochs = 20, BatchSize = 4, Seed = 1, Placement = LossPlacement.LastStep, EarlyStoppingPatience = 2,
            Callbacks = [new DelegateCallback(onEpoch: r => { snapshots[r.Epoch] = ModelProblems.Snapshot(model); return TrainingDecision.Continue; })],
        });

        History history = trainer.Fit(training, validation);

        int best = history.Epochs.MinBy(e => e.ValidationLoss!.Value)!.Epoch;
        history.BestEpoch.Should().Be(best);
        history.StoppedEarly.Should().BeTrue();
        history.Epochs.Should().HaveCount(best + 2);
        history.RestoredBestParameters.Should().BeTrue();
        ShouldEqual(model, snapshots[best]);
        trainer.Evaluate(validation).Loss.Should().Be(history.Epochs[best - 1].ValidationLoss!.Value);
    }

    [Fact]
    public void Schedules_set_the_rate_of_each_epoch_and_a_callback_can_stop()
    {
        var random = new Random(6);
        SequenceDataset<T> data = TrainingData.Classes<T>(random, 3, 4, Enumerable.Repeat(4, 6).ToList());
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Gru, 1, true, OutputActivation.Softmax, 3, 4, 4));
        var optimizer = new SgdOptimizer<T>(0.4);
        History history = new Trainer<T>(model, optimizer, new TrainerOptions
        {
            Epochs = 6, BatchSize = 3, LearningRateSchedule = LearningRateSchedule.Step(2, 0.5),
            Callbacks = [new DelegateCallback(onEpoch: r => r.Epoch == 5 ? TrainingDecision.Stop : TrainingDecision.Continue)],
        }).Fit(data);

        history.Epochs.Select(e => e.LearningRate).Should().Equal(0.4, 0.4, 0.2, 0.2, 0.1);
        history.StoppedByCallback.Should().BeTrue();
    }

    [Fact]
    public void A_cancelled_run_stops_within_one_batch_with_the_finished_batches_applied()
    {
        var random = new Random(7);
        SequenceDataset<T> data = TrainingData.Classes<T>(random, 3, 4, Enumerable.Repeat(5, 8).ToList());
        RecurrentModelOptions shape = ModelProblems.Options(RecurrentCellKind.Lstm, 2, false, OutputActivation.Softmax, 3, 4, 4, 0.2, seed: 5);
        var model = new RecurrentModel<T>(shape);
        var twin = new RecurrentModel<T>(shape);
        using var cancellation = new CancellationTokenSource();
        int batches = 0;
        var trainer = new Trainer<T>(model, new SgdOptimizer<T>(0.1), new TrainerOptions { Epochs = 3, BatchSize = 2, Shuffle = false });
        Action fit = () => trainer.Fit(data, progress: new SyncProgress<TrainingProgress>(p =>
        {
            if (!p.IsEpochEnd && ++batches == 3)
            {
                cancellation.Cancel();
            }
        }), cancellationToken: cancellation.Token);

        fit.Should().Throw<OperationCanceledException>();
        batches.Should().Be(3);

        // Exactly three batches applied: the hand loop over the first three batches gives the same parameters.
        var optimizer = new SgdOptimizer<T>(0.1);
        var bptt = new Bptt<T>(twin, LossPlacement.EveryStep, LossReduction.Mean);
        ForwardCache<T> cache = twin.CreateCache(5, 2);
        RecurrentGradients<T> gradients = twin.CreateGradients(5, 2);
        for (int start = 0; start < 6; start += 2)
        {
            Sequence<T>[] batch = data.Skip(start).Take(2).ToArray();
            twin.Forward(Inputs(batch, 5), cache, training: true);
            bptt.Backward(cache, Targets(batch, 5), gradients);
            optimizer.Step(twin.Parameters, gradients.ParameterGradients);
        }

        ShouldEqual(model, ModelProblems.Snapshot(twin));
    }

    [Theory]
    [InlineData(RecurrentCellKind.Lstm)]
    [InlineData(RecurrentCellKind.Gru)]
    [InlineData(RecurrentCellKind.Lstm, 2)]
    public void Stateful_mode_carries_every_layers_h_and_c_into_the_next_batch(RecurrentCellKind cell, int projection = 0)
    {
        var random = new Random(8);
        SequenceDataset<T> data = TrainingData.Classes<T>(random, 3, 4, Enumerable.Repeat(4, 6).ToList());
        RecurrentModelOptions shape = ModelProblems.Options(cell, 2, true, OutputActivation.Softmax, 3, 4, 4, 0.2, seed: 6)
            with { ProjectionSize = projection == 0 ? null : projection };
        var model = new RecurrentModel<T>(shape);
        var twin = new RecurrentModel<T>(shape);
        new Trainer<T>(model, new SgdOptimizer<T>(0.2), new TrainerOptions { Epochs = 2, BatchSize = 2, Shuffle = false, Stateful = true }).Fit(data);

        var optimizer = new SgdOptimizer<T>(0.2);
        var bptt = new Bptt<T>(twin, LossPlacement.EveryStep, LossReduction.Mean);
        ForwardCache<T> cache = twin.CreateCache(4, 2);
        RecurrentGradients<T> gradients = twin.CreateGradients(4, 2);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            IReadOnlyList<Matrix<T>>? h = null, c = null; // each epoch starts from zeros
            for (int start = 0; start < 6; start += 2)
            {
                Sequence<T>[] batch = data.Skip(start).Take(2).ToArray();
                twin.Forward(Inputs(batch, 4), cache, h, c, training: true);
                bptt.Backward(cache, Targets(batch, 4), gradients);
                optimizer.Step(twin.Parameters, gradients.ParameterGradients);
                h = cache.FinalHiddens();
                c = cell == RecurrentCellKind.Lstm ? cache.FinalCells() : null;
            }
        }

        ShouldEqual(model, ModelProblems.Snapshot(twin));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void Truncated_training_equals_TruncatedBptt_bit_for_bit(int projection)
    {
        var random = new Random(9);
        SequenceDataset<T> data = TrainingData.Classes<T>(random, 3, 4, Enumerable.Repeat(10, 3).ToList());
        RecurrentModelOptions shape = ModelProblems.Options(RecurrentCellKind.Lstm, 2, false, OutputActivation.Softmax, 3, 4, 4, 0.3, seed: 7)
            with { ProjectionSize = projection == 0 ? null : projection };
        var model = new RecurrentModel<T>(shape);
        var twin = new RecurrentModel<T>(shape);
        new Trainer<T>(model, new SgdOptimizer<T>(0.2), new TrainerOptions
        {
            Epochs = 2, BatchSize = 3, TruncationLength = 4, Shuffle = false, Clipping = Clipping.ByGlobalNorm(1),
        }).Fit(data);

        var truncated = new TruncatedBptt<T>(twin, new SgdOptimizer<T>(0.2), 4, LossPlacement.EveryStep, LossReduction.Mean, Clipping.ByGlobalNorm(1));
        for (int epoch = 0; epoch < 2; epoch++)
        {
            truncated.Train(Inputs(data.ToArray(), 10), Targets(data.ToArray(), 10));
        }

        ShouldEqual(model, ModelProblems.Snapshot(twin));
        ((Action)(() => new Trainer<T>(new RecurrentModel<T>(shape with { Bidirectional = true }), new SgdOptimizer<T>(0.1), new TrainerOptions { TruncationLength = 4 })))
            .Should().Throw<ArgumentException>().WithMessage("*bidirectional*");
    }

    [Fact]
    public void Divergence_restores_the_last_good_parameters()
    {
        var random = new Random(10);
        SequenceDataset<T> data = TrainingData.Values<T>(random, 2, 2, Enumerable.Repeat(5, 16).ToList());
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Vanilla, 2, false, OutputActivation.Identity, 2, 6, 2, seed: 8)
            with { HiddenActivation = HiddenActivation.Relu });
        var snapshots = new List<T[][]> { ModelProblems.Snapshot(model) };
        var trainer = new Trainer<T>(model, new SgdOptimizer<T>(1e6), new TrainerOptions
        {
            Epochs = 50, BatchSize = 4, Callbacks = [new DelegateCallback(onBatch: _ => snapshots.Add(ModelProblems.Snapshot(model)))],
        });

        TrainingDivergedException diverged = ((Action)(() => trainer.Fit(data))).Should().Throw<TrainingDivergedException>().Which;

        int n = ((diverged.Epoch - 1) * 4) + diverged.Batch;
        int good = diverged.Quantity.StartsWith("parameter", StringComparison.Ordinal) ? n - 1 : Math.Max(n - 2, 0);
        ShouldEqual(model, snapshots[good]);
        for (int p = 0; p < model.Parameters.Count; p++)
        {
            model.Parameters[p].ToArray().Select(double.CreateTruncating).Should().OnlyContain(v => double.IsFinite(v));
        }
    }

    [Theory]
    [InlineData(RecurrentCellKind.Lstm)]
    [InlineData(RecurrentCellKind.Vanilla)]
    public void Gradient_health_reports_each_layer_and_direction(RecurrentCellKind cell)
    {
        var random = new Random(11);
        SequenceDataset<T> data = TrainingData.Classes<T>(random, 3, 4, Enumerable.Repeat(6, 4).ToList(), perStep: false);
        RecurrentModelOptions shape = ModelProblems.Options(cell, 2, true, OutputActivation.Softmax, 3, 4, 4, seed: 9);
        var model = new RecurrentModel<T>(shape);
        var twin = new RecurrentModel<T>(shape);
        History history = new Trainer<T>(model, new SgdOptimizer<T>(0.1), new TrainerOptions
        {
            Epochs = 1, BatchSize = 4, Shuffle = false, Placement = LossPlacement.LastStep,
        }).Fit(data);

        // The same single step by hand: its dh norms are the report's.
        var bptt = new Bptt<T>(twin, LossPlacement.LastStep, LossReduction.Mean);
        ForwardCache<T> cache = twin.CreateCache(6, 4);
        twin.Forward(Inputs(data.ToArray(), 6), cache, training: true);
        RecurrentGradients<T> gradients = twin.CreateGradients(6, 4);
        bptt.Backward(cache, SequenceTargets<T>.FromClasses([data.Select(s => s.Classes![0]).ToArray()]), gradients);

        GradientHealth health = history.Epochs[0].Health;
        health.Layers.Should().HaveCount(4);
        for (int ld = 0; ld < 4; ld++)
        {
            LayerGradientHealth entry = health.Layers[ld];
            (entry.Layer, entry.Direction).Should().Be((ld / 2, ld % 2));
            entry.DhNorms.Should().Equal(gradients.DhNorms(ld / 2, ld % 2));
            IReadOnlyList<double> norms = entry.DhNorms;
            double first = ld % 2 == 0 ? norms[0] : norms[^1], last = ld % 2 == 0 ? norms[^1] : norms[0];
            if (first > 0 && last > 0)
            {
                entry.DhNormRatio.Should().BeApproximately(first / last, 1e-12 * (first / last));
            }

            if (cell == RecurrentCellKind.Lstm)
            {
                entry.SpectralRadius.Should().Be(double.NaN);
            }
            else
            {
                entry.SpectralRadius.Should().BeGreaterThan(0);
            }
        }

        health.Layers.Should().Contain(l => l.DhNormRatio.Equals(health.DhNormRatio) || (double.IsNaN(l.DhNormRatio) && double.IsNaN(health.DhNormRatio)));
        if (health.Layers.Select(l => l.DhNormRatio).Any(r => !double.IsNaN(r)))
        {
            health.DhNormRatio.Should().Be(health.Layers.Select(l => l.DhNormRatio).Where(r => !double.IsNaN(r)).Min(), "no layer explodes here, so the report is the most vanishing one");
        }
    }

    [Fact]
    public void The_sampler_generates_from_a_stacked_model_as_its_step_by_step_forward_pass_does()
    {
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, false, OutputActivation.Softmax, 5, 6, 5, 0.5, seed: 10));
        var sampler = new Sampler<T>(model);
        int[] tokens = sampler.Generate([1, 3], 6, topK: 1); // greedy: each token is the arg max of the model's output
        sampler.Generate([1, 3], 6, topK: 1).Should().Equal(tokens);

        int[] sequence = [1, 3, .. tokens[..^1]];
        ForwardCache<T> cache = model.Forward(sequence.Select(k => Matrix<T>.Build.Dense(5, 1, (i, _) => i == k ? T.One : T.Zero)).ToList());
        for (int n = 0; n < tokens.Length; n++)
        {
            T[] y = cache.Output(n + 1).Column(0).ToArray();
            tokens[n].Should().Be(Array.IndexOf(y, y.Max()), $"token {n} is the greedy choice after the prefix and the tokens before it");
        }

        ((Action)(() => new Sampler<T>(new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Gru, 1, true, OutputActivation.Softmax, 5, 6, 5)))))
            .Should().Throw<ArgumentException>().WithMessage("*bidirectional*");
    }

    [Fact]
    public void The_layer_accessor_of_a_model_trainer_says_to_use_Model()
    {
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Gru, 1, false, OutputActivation.Softmax));
        var trainer = new Trainer<T>(model, new SgdOptimizer<T>(0.1));
        trainer.Model.Should().BeSameAs(model);
        ((Action)(() => trainer.Fit(TrainingData.Classes<T>(new Random(1), 2, 3, [3])))).Should().Throw<ArgumentException>().WithMessage("*input size 2*inputSize is 3*");
    }

    /// <summary>The batch's inputs as <paramref name="steps"/> I x B matrices, zero past each sequence's end.</summary>
    internal static List<Matrix<T>> Inputs(IReadOnlyList<Sequence<T>> batch, int steps)
    {
        int i = batch[0].InputSize;
        return Enumerable.Range(0, steps)
            .Select(t => Matrix<T>.Build.Dense(i, batch.Count, (r, j) => t < batch[j].Length ? batch[j].Inputs[(t * i) + r] : T.Zero))
            .ToList();
    }

    /// <summary>The batch's class targets at every step, 0 past each sequence's end (never scored).</summary>
    internal static SequenceTargets<T> Targets(IReadOnlyList<Sequence<T>> batch, int steps) =>
        SequenceTargets<T>.FromClasses(Enumerable.Range(0, steps).Select(t => batch.Select(s => t < s.Length ? s.Classes![t] : 0).ToArray()).ToArray());

    internal static void ShouldEqual(RecurrentModel<T> model, T[][] expected)
    {
        for (int p = 0; p < model.Parameters.Count; p++)
        {
            model.Parameters[p].ToArray().Should().Equal(expected[p], $"parameter {model.Parameters.GetName(p)}");
        }
    }
}

public sealed class ModelTrainerTestsDouble : ModelTrainerTests<double>;

public sealed class ModelTrainerTestsSingle : ModelTrainerTests<float>;
