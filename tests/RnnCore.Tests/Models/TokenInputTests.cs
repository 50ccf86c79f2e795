using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Models;

/// <summary>
/// Token ids as input: without an embedding (a gather of W_ih's columns, against the one-hot vectors fed densely) and with
/// one (against the embedding rows fed densely to the same network without the table, and finite differences).
/// </summary>
public sealed class TokenInputTests
{
    private const int Steps = 6;
    private const int Batch = 4;
    private static readonly int[] Lengths = [6, 3, 5, 1];

    public static TheoryData<RecurrentCellKind, int, bool> Shapes() => new()
    {
        { RecurrentCellKind.Vanilla, 1, false },
        { RecurrentCellKind.Lstm, 2, true },
        { RecurrentCellKind.Gru, 2, true },
        { RecurrentCellKind.Gru, 1, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Ids_without_an_embedding_give_the_one_hot_inputs_bits(RecurrentCellKind cell, int layers, bool bidirectional)
    {
        OneHotMatches<double>(cell, layers, bidirectional, 1e-13);
        OneHotMatches<float>(cell, layers, bidirectional, 1e-5);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void An_embedding_gives_the_bits_of_its_rows_fed_densely(RecurrentCellKind cell, int layers, bool bidirectional)
    {
        EmbeddingMatches<double>(cell, layers, bidirectional);
        EmbeddingMatches<float>(cell, layers, bidirectional);
    }

    [Theory]
    [InlineData(RecurrentCellKind.Gru)]
    [InlineData(RecurrentCellKind.Lstm)]
    [InlineData(RecurrentCellKind.Vanilla)]
    public void The_embedding_gradient_matches_finite_differences_in_double(RecurrentCellKind cell)
    {
        var random = new Random(5);
        const int v = 7;
        var model = new RecurrentModel<double>(EmbeddingOptions(cell, 2, true, v, padding: 0));
        int[][] ids = RandomIds(random, v);
        SequenceTargets<double> targets = ModelProblems.Targets(random, model, Steps, Batch, LossPlacement.EveryStep);
        ForwardCache<double> cache = model.CreateCache(Steps, Batch);
        var bptt = new Bptt<double>(model);
        model.Forward(ids, cache, lengths: Lengths);
        RecurrentGradients<double> gradients = model.CreateGradients(Steps, Batch);
        bptt.Backward(cache, targets, gradients);

        Span<double> table = model.Parameters[0];
        ReadOnlySpan<double> analytic = gradients.ParameterGradients[0];
        double worst = 0;
        const double step = 1e-5;
        for (int i = 0; i < table.Length; i++)
        {
            double saved = table[i];
            table[i] = saved + step;
            model.Forward(ids, cache, lengths: Lengths);
            double plus = bptt.Loss(cache, targets);
            table[i] = saved - step;
            model.Forward(ids, cache, lengths: Lengths);
            double minus = bptt.Loss(cache, targets);
            table[i] = saved;
            double numeric = (plus - minus) / (2 * step);
            if (i % v == 0)
            {
                // The padding row: no gradient, whatever the loss does (PyTorch's padding_idx).
                analytic[i].Should().Be(0, "the padding row gets no gradient");
                continue;
            }

            worst = Math.Max(worst, Math.Abs(numeric - analytic[i]) / Math.Max(1e-3, Math.Abs(numeric) + Math.Abs(analytic[i])));
        }

        worst.Should().BeLessThan(1e-6);
        analytic.ToArray().Count(g => g != 0).Should().BeGreaterThan(v, "the ids touch several rows");
    }

    [Fact]
    public void The_table_is_drawn_from_a_standard_normal_with_the_padding_row_zero_and_named_first()
    {
        var model = new RecurrentModel<double>(EmbeddingOptions(RecurrentCellKind.Gru, 1, false, 400, padding: 3, embedding: 25));
        model.Parameters.GetName(0).Should().Be("embedding.weight");
        Matrix<double> table = model.Parameter("embedding.weight");
        table.RowCount.Should().Be(400);
        table.ColumnCount.Should().Be(25);
        table.Row(3).All(x => x == 0).Should().BeTrue();
        double[] values = Enumerable.Range(0, 400).Where(r => r != 3).SelectMany(r => table.Row(r)).ToArray();
        double mean = values.Average();
        double variance = values.Select(x => (x - mean) * (x - mean)).Average();
        mean.Should().BeApproximately(0, 0.05);
        variance.Should().BeApproximately(1, 0.06);
        values.Count(x => Math.Abs(x) > 1.96).Should().BeInRange((int)(0.035 * values.Length), (int)(0.065 * values.Length), "about 5% of N(0, 1) lies beyond ±1.96");
        new RecurrentModel<double>(EmbeddingOptions(RecurrentCellKind.Gru, 1, false, 400, padding: 3, embedding: 25))
            .Parameters[0].ToArray().Should().Equal(model.Parameters[0].ToArray(), "the seed decides the table");
    }

    [Fact]
    public void The_padding_row_stays_zero_under_every_optimizer_and_clipping()
    {
        var random = new Random(8);
        IOptimizer<float>[] optimizers = [new SgdOptimizer<float>(0.1, momentum: 0.9), new AdamOptimizer<float>(0.01), new RmsPropOptimizer<float>(0.01), new AdagradOptimizer<float>(0.1)];
        foreach (IOptimizer<float> optimizer in optimizers)
        {
            var model = new RecurrentModel<float>(EmbeddingOptions(RecurrentCellKind.Lstm, 2, true, 9, padding: 2));
            int[][] ids = RandomIds(random, 9);
            ids[0][0] = 2;
            SequenceTargets<float> targets = ModelProblems.Targets(random, model, Steps, Batch, LossPlacement.EveryStep);
            ForwardCache<float> cache = model.CreateCache(Steps, Batch);
            RecurrentGradients<float> gradients = model.CreateGradients(Steps, Batch);
            var bptt = new Bptt<float>(model);
            float[] before = model.Parameters[0].ToArray();
            for (int i = 0; i < 3; i++)
            {
                model.Forward(ids, cache, lengths: Lengths, training: true);
                bptt.Backward(cache, targets, gradients);
                Clipping.ByGlobalNorm(0.5).Apply(gradients.ParameterGradients);
                optimizer.Step(model.Parameters, gradients.ParameterGradients);
            }

            model.Parameter("embedding.weight").Row(2).All(x => x == 0).Should().BeTrue(optimizer.GetType().Name);
            model.Parameters[0].ToArray().Should().NotEqual(before, "the other rows train");
        }
    }

    [Fact]
    public void Bad_ids_are_refused_with_their_position_and_the_model_unchanged()
    {
        var model = new RecurrentModel<float>(EmbeddingOptions(RecurrentCellKind.Gru, 2, false, 5, padding: null) with { Dropout = 0.3 });
        ForwardCache<float> cache = model.CreateCache(Steps, Batch);
        float[][] snapshot = ModelProblems.Snapshot(model);
        ulong[] state = model.RandomState;
        foreach (int bad in new[] { -1, 5, int.MinValue })
        {
            int[][] ids = RandomIds(new Random(1), 5);
            ids[4][2] = bad;
            Action forward = () => model.Forward(ids, cache, lengths: [6, 6, 5, 6], training: true);
            forward.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*step 4, sequence 2*").And.ParamName.Should().Be("ids");
        }

        // A padded position is not read: any value there is accepted.
        int[][] padded = RandomIds(new Random(1), 5);
        padded[5][2] = -7;
        model.Forward(padded, cache, lengths: [6, 6, 5, 6]);

        var plain = new RecurrentModel<float>(ModelProblems.Options(RecurrentCellKind.Gru, 1, false, OutputActivation.Softmax, inputSize: 4));
        Action oneHot = () => plain.Forward([[0, 4]]);
        oneHot.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*step 0, sequence 1 is 4*[0, 4)*");
        model.RandomState.Should().Equal(state);
        for (int p = 0; p < snapshot.Length; p++)
        {
            model.Parameters[p].ToArray().Should().Equal(snapshot[p]);
        }
    }

    [Fact]
    public void A_network_with_an_embedding_refuses_dense_inputs_and_a_padding_id_outside_the_table()
    {
        var model = new RecurrentModel<double>(EmbeddingOptions(RecurrentCellKind.Gru, 1, false, 5, padding: 0));
        Action dense = () => model.Forward(RandomProblems.Inputs<double>(new Random(1), 3, 2, 1));
        dense.Should().Throw<ArgumentException>().WithMessage("*embedding*token ids*");

        Action badPadding = () => _ = new RecurrentModel<double>(EmbeddingOptions(RecurrentCellKind.Gru, 1, false, 5, padding: 5));
        badPadding.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*PaddingId is 5*");
        Action paddingWithoutTable = () => _ = new RecurrentModel<double>(new RecurrentModelOptions(3, 3, 3) { PaddingId = 0 });
        paddingWithoutTable.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Truncated_bptt_on_ids_trains_as_on_one_hot_vectors()
    {
        var random = new Random(4);
        var options = ModelProblems.Options(RecurrentCellKind.Lstm, 2, false, OutputActivation.Softmax, inputSize: 5, hiddenSize: 4);
        var onIds = new RecurrentModel<double>(options);
        var onVectors = new RecurrentModel<double>(options);
        int[][] ids = RandomIds(random, 5);
        SequenceTargets<double> targets = ModelProblems.Targets(random, onIds, Steps, Batch, LossPlacement.EveryStep);
        TruncatedBpttResult<double> a = new TruncatedBptt<double>(onIds, new SgdOptimizer<double>(0.1), 4).Train(ids, targets);
        TruncatedBpttResult<double> b = new TruncatedBptt<double>(onVectors, new SgdOptimizer<double>(0.1), 4).Train(OneHot<double>(ids, 5), targets);
        a.ChunkLosses.Should().Equal(b.ChunkLosses);
        for (int p = 0; p < onIds.Parameters.Count; p++)
        {
            Tolerance.AssertClose(onIds.Parameters.GetName(p), Doubles(onVectors.Parameters[p]), Doubles(onIds.Parameters[p]), 1e-13);
        }
    }

    internal static RecurrentModelOptions EmbeddingOptions(RecurrentCellKind cell, int layers, bool bidirectional, int vocabulary, int? padding, int embedding = 3)
        => ModelProblems.Options(cell, layers, bidirectional, OutputActivation.Softmax, inputSize: embedding, hiddenSize: 4, outputSize: 3, seed: 2)
            with { VocabularySize = vocabulary, PaddingId = padding };

    internal static int[][] RandomIds(Random random, int count) =>
        Enumerable.Range(0, Steps).Select(_ => Enumerable.Range(0, Batch).Select(_ => random.Next(count)).ToArray()).ToArray();

    internal static List<Matrix<T>> OneHot<T>(int[][] ids, int size)
        where T : unmanaged, IFloatingPointIeee754<T>
        => ids.Select(step => Matrix<T>.Build.Dense(size, step.Length, (i, j) => i == step[j] ? T.One : T.Zero)).ToList();

    private static void OneHotMatches<T>(RecurrentCellKind cell, int layers, bool bidirectional, double gradientTolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(3);
        const int v = 6;
        var model = new RecurrentModel<T>(ModelProblems.Options(cell, layers, bidirectional, OutputActivation.Softmax, inputSize: v, hiddenSize: 5, outputSize: 3));
        int[][] ids = RandomIds(random, v);
        List<Matrix<T>> oneHot = OneHot<T>(ids, v);
        for (int b = 0; b < Batch; b++)
        {
            for (int t = Lengths[b]; t < Steps; t++)
            {
                oneHot[t].ClearColumn(b); // padding: zeros, as a trainer pads
            }
        }

        SequenceTargets<T> targets = ModelProblems.Targets(random, model, Steps, Batch, LossPlacement.EveryStep);
        var bptt = new Bptt<T>(model);
        ForwardCache<T> dense = model.CreateCache(Steps, Batch), gathered = model.CreateCache(Steps, Batch);
        model.Forward(oneHot, dense, lengths: Lengths);
        model.Forward(ids, gathered, lengths: Lengths);
        for (int t = 0; t < Steps; t++)
        {
            gathered.Logit(t).ToColumnMajorArray().Should().Equal(dense.Logit(t).ToColumnMajorArray(), $"the logits at step {t}");
        }

        for (int ld = 0; ld < layers * model.Directions; ld++)
        {
            gathered.FinalHidden(ld).ToColumnMajorArray().Should().Equal(dense.FinalHidden(ld).ToColumnMajorArray());
        }

        RecurrentGradients<T> expected = bptt.Backward(dense, targets);
        RecurrentGradients<T> actual = bptt.Backward(gathered, targets);
        actual.Loss.Should().Be(expected.Loss);
        for (int p = 0; p < model.Parameters.Count; p++)
        {
            string name = model.Parameters.GetName(p);
            if (name.StartsWith("rnn.weight_ih_l0", StringComparison.Ordinal))
            {
                // δu xᵀ as a sum of columns instead of a GEMM over them: the same terms, maybe in another order.
                Tolerance.AssertClose(name, Doubles(expected.ParameterGradients[p]), Doubles(actual.ParameterGradients[p]), gradientTolerance);
            }
            else
            {
                actual.ParameterGradients[p].ToArray().Should().Equal(expected.ParameterGradients[p].ToArray(), name);
            }
        }
    }

    private static void EmbeddingMatches<T>(RecurrentCellKind cell, int layers, bool bidirectional)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(6);
        const int v = 8;
        var model = new RecurrentModel<T>(EmbeddingOptions(cell, layers, bidirectional, v, padding: 1) with { Dropout = 0.25 });
        var plain = new RecurrentModel<T>(model.Options with { VocabularySize = 0, PaddingId = null });
        for (int p = 1; p < model.Parameters.Count; p++)
        {
            model.Parameters[p].CopyTo(plain.Parameters[p - 1]);
        }

        plain.RandomState = model.RandomState;
        int[][] ids = RandomIds(random, v);
        Matrix<T> table = model.Parameter("embedding.weight");
        List<Matrix<T>> rows = ids.Select((step, t) => Matrix<T>.Build.Dense(
            model.InputSize, Batch, (i, j) => t < Lengths[j] ? table[step[j], i] : T.Zero)).ToList();
        SequenceTargets<T> targets = ModelProblems.Targets(random, model, Steps, Batch, LossPlacement.EveryStep);
        ForwardCache<T> onIds = model.CreateCache(Steps, Batch), onRows = plain.CreateCache(Steps, Batch);
        model.Forward(ids, onIds, lengths: Lengths, training: true);
        plain.Forward(rows, onRows, lengths: Lengths, training: true);
        for (int t = 0; t < Steps; t++)
        {
            onIds.Logit(t).ToColumnMajorArray().Should().Equal(onRows.Logit(t).ToColumnMajorArray(), $"the logits at step {t}");
        }

        RecurrentGradients<T> expected = new Bptt<T>(plain).Backward(onRows, targets);
        RecurrentGradients<T> actual = new Bptt<T>(model).Backward(onIds, targets);
        actual.Loss.Should().Be(expected.Loss);
        for (int p = 1; p < model.Parameters.Count; p++)
        {
            actual.ParameterGradients[p].ToArray().Should().Equal(expected.ParameterGradients[p - 1].ToArray(), model.Parameters.GetName(p));
        }
    }

    private static double[] Doubles<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[] result = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            result[i] = double.CreateTruncating(values[i]);
        }

        return result;
    }
}
