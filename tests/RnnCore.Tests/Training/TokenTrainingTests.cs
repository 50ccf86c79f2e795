using System.Numerics;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>Token sequences of any length through the trainer: padding inside Fit, evaluation, metrics and prediction.</summary>
public sealed class TokenTrainingTests
{
    private const int V = 6;

    [Theory]
    [InlineData(null)]
    [InlineData(3)]
    public void Ids_without_an_embedding_train_as_their_one_hot_vectors(int? truncation)
    {
        Same<double>(truncation, 1e-12);
        Same<float>(truncation, 1e-5);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Ids_with_value_targets_train_as_their_one_hot_vectors(bool everyStep)
    {
        // Regression on tokens (identity outputs, squared error): a target per step, or one per sequence.
        var random = new Random(11);
        int[][] ids = Enumerable.Range(0, 18).Select(_ => Enumerable.Range(0, random.Next(1, 8)).Select(_ => random.Next(V)).ToArray()).ToArray();
        double[][][] targets = ids.Select(s => Enumerable.Range(0, everyStep ? s.Length : 1).Select(_ => new[] { random.NextDouble() - 0.5, random.NextDouble() }).ToArray()).ToArray();
        var tokens = new SequenceDataset<double>(ids.Select((s, n) => everyStep
            ? Sequence<double>.FromTokensWithValues(s, targets[n])
            : Sequence<double>.FromTokensWithValue(s, targets[n][0])));
        var vectors = new SequenceDataset<double>(ids.Select((s, n) =>
        {
            double[][] steps = s.Select(id => Enumerable.Range(0, V).Select(i => i == id ? 1.0 : 0.0).ToArray()).ToArray();
            return everyStep ? Sequence<double>.WithValues(steps, targets[n]) : Sequence<double>.WithValue(steps, targets[n][0]);
        }));
        tokens.IsTokens.Should().BeTrue();
        var options = new RecurrentModelOptions(V, 5, 2) { Cell = RecurrentCellKind.Gru, OutputActivation = OutputActivation.Identity, Seed = 6 };
        var trainerOptions = new TrainerOptions { Epochs = 4, BatchSize = 5, Seed = 3 };
        var onIds = new RecurrentModel<double>(options);
        var onVectors = new RecurrentModel<double>(options);
        History a = new Trainer<double>(onIds, new AdamOptimizer<double>(0.01), trainerOptions).Fit(tokens, tokens);
        History b = new Trainer<double>(onVectors, new AdamOptimizer<double>(0.01), trainerOptions).Fit(vectors, vectors);
        a.Epochs[^1].TrainingLoss.Should().BeLessThan(a.Epochs[0].TrainingLoss, "the network learns from its value targets");
        for (int e = 0; e < a.Epochs.Count; e++)
        {
            a.Epochs[e].TrainingLoss.Should().BeApproximately(b.Epochs[e].TrainingLoss, 1e-12 * Math.Abs(b.Epochs[e].TrainingLoss));
            a.Epochs[e].ValidationLoss!.Value.Should().BeApproximately(b.Epochs[e].ValidationLoss!.Value, 1e-12 * Math.Abs(b.Epochs[e].ValidationLoss!.Value));
        }

        for (int p = 0; p < onIds.Parameters.Count; p++)
        {
            onIds.Parameters[p].ToArray().Zip(onVectors.Parameters[p].ToArray()).Should().OnlyContain(pair => Math.Abs(pair.First - pair.Second) <= 1e-12);
        }
    }

    [Fact]
    public void Value_targets_of_token_sequences_are_checked()
    {
        ((Action)(() => Sequence<double>.FromTokensWithValue([1, 2]))).Should().Throw<ArgumentException>().WithParameterName("target");
        ((Action)(() => Sequence<double>.FromTokensWithValue([1, 2], double.NaN))).Should().Throw<ArgumentException>().WithParameterName("target");
        ((Action)(() => Sequence<double>.FromTokensWithValue([1, -2], 0.5))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*ids[1] is -2*");
        ((Action)(() => Sequence<double>.FromTokensWithValues([1, 2, 3], [[0.5], [0.5]]))).Should().Throw<ArgumentException>().WithParameterName("values");
        ((Action)(() => Sequence<double>.FromTokensWithValues([1, 2], [[0.5], [0.5, 1]]))).Should().Throw<ArgumentException>().WithParameterName("values");
        Sequence<float> one = Sequence<float>.FromTokensWithValue([4, 0, 2], 1f, 2f);
        (one.IsTokens, one.Length, one.TargetSteps, one.TargetSize).Should().Be((true, 3, 1, 2));
        Sequence<float> each = Sequence<float>.FromTokensWithValues([4, 0], [[1f], [2f]]);
        (each.IsTokens, each.Length, each.TargetSteps, each.TargetSize).Should().Be((true, 2, 2, 1));
    }

    [Fact]
    public void An_embedding_and_a_gru_learn_a_token_task_and_predict_it()
    {
        // Class 1 when token 3 occurs in the sequence: the network must carry the fact to the end, over any length.
        var random = new Random(2);
        SequenceDataset<float> training = Task<float>(random, 160), validation = Task<float>(random, 60);
        var model = new RecurrentModel<float>(new RecurrentModelOptions(8, 16, 2) { Cell = RecurrentCellKind.Gru, VocabularySize = V, PaddingId = 0, Seed = 3 });
        var trainer = new Trainer<float>(model, new AdamOptimizer<float>(0.02), new TrainerOptions { Epochs = 25, BatchSize = 16, Seed = 1, Metrics = [Metric.Accuracy()] });
        History history = trainer.Fit(training, validation);
        history.Epochs[^1].TrainingLoss.Should().BeLessThan(history.Epochs[0].TrainingLoss);
        EvaluationResult result = trainer.Evaluate(validation);
        result.Accuracy.Should().BeGreaterThan(0.9);

        int[] predicted = trainer.PredictClass(validation.ToList());
        float[][] last = model.PredictLast(validation.ToList());
        for (int n = 0; n < validation.Count; n++)
        {
            Sequence<float> sequence = validation[n];
            int[][] ids = Enumerable.Range(0, sequence.Length).Select(t => new[] { sequence.Ids![t] }).ToArray();
            ForwardCache<float> cache = model.Forward(ids);
            cache.Output(sequence.Length - 1).Column(0).ToArray().Should().Equal(last[n], "batched prediction pads as the trainer does");
            predicted[n].Should().Be(last[n][1] > last[n][0] ? 1 : 0);
        }

        model.Parameter("embedding.weight").Row(0).All(x => x == 0).Should().BeTrue("the padding row stays zero");
    }

    [Fact]
    public void Datasets_that_do_not_suit_the_network_are_refused_before_training()
    {
        var model = new RecurrentModel<double>(new RecurrentModelOptions(3, 4, 2) { Cell = RecurrentCellKind.Lstm, VocabularySize = V, Seed = 1 });
        double[] before = model.Parameters[0].ToArray();
        var trainer = new Trainer<double>(model, new SgdOptimizer<double>(0.1), new TrainerOptions { Epochs = 1 });
        var tooLarge = new SequenceDataset<double>([Sequence<double>.FromTokens([1, 2], [0]), Sequence<double>.FromTokens([5, V, 1], [1])]);
        ((Action)(() => trainer.Fit(tooLarge))).Should().Throw<ArgumentException>().WithMessage($"*token id {V}*[0, {V})*");
        var dense = new SequenceDataset<double>([Sequence<double>.WithClasses([MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(3)], [0])]);
        ((Action)(() => trainer.Fit(dense))).Should().Throw<ArgumentException>().WithMessage("*embedding*FromTokens*");
        ((Action)(() => model.PredictLast([Sequence<double>.FromTokens([0, V + 2], [0])]))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*step 1*");
        ((Action)(() => Sequence<double>.FromTokens([0, -1], [0]))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*ids[1] is -1*");
        ((Action)(() => new SequenceDataset<double>([Sequence<double>.FromTokens([1], [0]), Sequence<double>.WithClasses([MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(3)], [0])])))
            .Should().Throw<ArgumentException>().WithMessage("*one kind*");
        model.Parameters[0].ToArray().Should().Equal(before);
    }

    private static void Same<T>(int? truncation, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(7);
        int[][] ids = Enumerable.Range(0, 20).Select(_ => Enumerable.Range(0, random.Next(1, 8)).Select(_ => random.Next(V)).ToArray()).ToArray();
        int[][] classes = ids.Select(s => s.Select(id => id % 3).ToArray()).ToArray();
        var tokens = new SequenceDataset<T>(ids.Select((s, n) => Sequence<T>.FromTokens(s, classes[n])));
        var vectors = new SequenceDataset<T>(ids.Select((s, n) => Sequence<T>.WithClasses(
            s.Select(id => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(V, i => i == id ? T.One : T.Zero)).ToList(), classes[n])));
        var options = new RecurrentModelOptions(V, 5, 3) { Cell = RecurrentCellKind.Lstm, Layers = 2, Seed = 4 };
        var trainerOptions = new TrainerOptions { Epochs = 3, BatchSize = 6, Seed = 2, TruncationLength = truncation, Metrics = [Metric.Accuracy()] };
        var onIds = new RecurrentModel<T>(options);
        var onVectors = new RecurrentModel<T>(options);
        History a = new Trainer<T>(onIds, new AdamOptimizer<T>(0.01), trainerOptions).Fit(tokens, tokens);
        History b = new Trainer<T>(onVectors, new AdamOptimizer<T>(0.01), trainerOptions).Fit(vectors, vectors);
        for (int e = 0; e < a.Epochs.Count; e++)
        {
            a.Epochs[e].TrainingLoss.Should().BeApproximately(b.Epochs[e].TrainingLoss, tolerance * Math.Abs(b.Epochs[e].TrainingLoss));
            a.Epochs[e].ValidationLoss!.Value.Should().BeApproximately(b.Epochs[e].ValidationLoss!.Value, tolerance * Math.Abs(b.Epochs[e].ValidationLoss!.Value));
        }

        T[][] fromIds = onIds.PredictLast(tokens.ToList());
        T[][] fromVectors = onVectors.PredictLast(vectors.ToList());
        for (int n = 0; n < fromIds.Length; n++)
        {
            for (int k = 0; k < fromIds[n].Length; k++)
            {
                double.CreateTruncating(fromIds[n][k]).Should().BeApproximately(double.CreateTruncating(fromVectors[n][k]), 10 * tolerance);
            }
        }
    }

    private static SequenceDataset<T> Task<T>(Random random, int count)
        where T : unmanaged, IFloatingPointIeee754<T>
        => new(Enumerable.Range(0, count).Select(_ =>
        {
            int[] ids = Enumerable.Range(0, random.Next(2, 10)).Select(_ => random.Next(1, V)).ToArray();
            return Sequence<T>.FromTokens(ids, [ids.Contains(3) ? 1 : 0]);
        }));
}
