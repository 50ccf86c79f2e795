using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Models;

/// <summary>Variable-length batches, truncated BPTT and stateful training, and the steady state's allocations.</summary>
public sealed class ModelTrainingTests
{
    [Theory]
    [InlineData(RecurrentCellKind.Lstm, LossPlacement.EveryStep)]
    [InlineData(RecurrentCellKind.Lstm, LossPlacement.LastStep)]
    [InlineData(RecurrentCellKind.Gru, LossPlacement.EveryStep)]
    [InlineData(RecurrentCellKind.Vanilla, LossPlacement.LastStep)]
    [InlineData(RecurrentCellKind.Lstm, LossPlacement.EveryStep, 3)]
    [InlineData(RecurrentCellKind.Lstm, LossPlacement.LastStep, 2)]
    public void A_mixed_length_batch_equals_each_sequence_alone(RecurrentCellKind cell, LossPlacement placement, int projection = 0)
    {
        // 2 layers, bidirectional: the reverse direction must start at each sequence's own last step.
        const int Steps = 6;
        int[] lengths = [6, 2, 4];
        var model = new RecurrentModel<double>(
            ModelProblems.Options(cell, 2, true, OutputActivation.Softmax, hiddenSize: 4) with { ProjectionSize = projection == 0 ? null : projection });
        var random = new Random(12);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 3, Steps, 3);
        List<Matrix<double>> h0 = ModelProblems.States(random, model, 3);
        List<Matrix<double>>? c0 = cell == RecurrentCellKind.Lstm ? ModelProblems.States(random, model, 3, cell: true) : null;
        int[][] classes = Enumerable.Range(0, Steps).Select(_ => new[] { random.Next(3), random.Next(3), random.Next(3) }).ToArray();
        var bptt = new Bptt<double>(model, placement, LossReduction.Sum);
        ForwardCache<double> cache = model.CreateCache(Steps, 3);
        model.Forward(inputs, cache, h0, c0, lengths);
        RecurrentGradients<double> batch = bptt.Backward(cache, SequenceTargets<double>.FromClasses(classes));

        double[] summed = new double[batch.ParameterGradients.TotalLength];
        double loss = 0;
        int states = model.Layers * model.Directions;
        var normSquares = new double[states, Steps];
        for (int b = 0; b < 3; b++)
        {
            int length = lengths[b];
            List<Matrix<double>> alone = inputs.Take(length).Select(x => x.SubMatrix(0, 3, b, 1)).ToList();
            List<Matrix<double>> h0Alone = h0.Select(h => h.SubMatrix(0, h.RowCount, b, 1)).ToList();
            List<Matrix<double>>? c0Alone = c0?.Select(c => c.SubMatrix(0, model.HiddenSize, b, 1)).ToList();
            ForwardCache<double> single = model.Forward(alone, h0Alone, c0Alone);
            for (int t = 0; t < length; t++)
            {
                Close(cache.Output(t).Column(b).ToArray(), single.Output(t).Column(0).ToArray(), $"output {t} of sequence {b}");
                Close(cache.Hidden(t).Column(b).ToArray(), single.Hidden(t).Column(0).ToArray(), $"top hidden {t} of sequence {b}");
            }

            for (int ld = 0; ld < states; ld++)
            {
                Close(cache.FinalHidden(ld).Column(b).ToArray(), single.FinalHidden(ld).Column(0).ToArray(), $"h_n[{ld}] of sequence {b}");
                if (c0 is not null)
                {
                    Close(cache.FinalCell(ld).Column(b).ToArray(), single.FinalCell(ld).Column(0).ToArray(), $"c_n[{ld}] of sequence {b}");
                }
            }

            int[][] own = placement == LossPlacement.EveryStep ? classes.Take(length).Select(r => new[] { r[b] }).ToArray() : [[classes[length - 1][b]]];
            RecurrentGradients<double> gradients = new Bptt<double>(model, placement, LossReduction.Sum)
                .Backward(single, SequenceTargets<double>.FromClasses(own));
            loss += gradients.Loss;
            int offset = 0;
            for (int p = 0; p < gradients.ParameterGradients.Count; p++)
            {
                Span<double> g = gradients.ParameterGradients[p];
                for (int i = 0; i < g.Length; i++)
                {
                    summed[offset + i] += g[i];
                }

                offset += g.Length;
            }

            for (int ld = 0; ld < states; ld++)
            {
                Close(batch.InitialHidden(ld).Column(b).ToArray(), gradients.InitialHidden(ld).Column(0).ToArray(), $"dL/dh0[{ld}] of sequence {b}");
                IReadOnlyList<double> norms = gradients.DhNorms(ld / 2, ld % 2);
                for (int t = 0; t < length; t++)
                {
                    normSquares[ld, t] += norms[t] * norms[t];
                }
            }
        }

        Math.Abs(batch.Loss - loss).Should().BeLessThan(1e-12 * Math.Abs(loss));
        Close(Enumerable.Range(0, batch.ParameterGradients.Count).SelectMany(p => batch.ParameterGradients[p].ToArray()).ToArray(), summed, "parameter gradients");
        for (int ld = 0; ld < states; ld++)
        {
            Close(batch.DhNorms(ld / 2, ld % 2).ToArray(), Enumerable.Range(0, Steps).Select(t => Math.Sqrt(normSquares[ld, t])).ToArray(), $"dh norms [{ld}]");
        }
    }

    [Theory]
    [InlineData(RecurrentCellKind.Lstm)]
    [InlineData(RecurrentCellKind.Gru)]
    [InlineData(RecurrentCellKind.Lstm, 3)]
    public void Stateful_training_carries_every_layers_state_across_calls(RecurrentCellKind cell, int projection = 0)
    {
        // Two calls of 4 steps, the second from the first's final h and c of every layer, train exactly like one call
        // of 8 steps in chunks of 4: same bits.
        RecurrentModelOptions options = ModelProblems.Options(cell, 2, false, OutputActivation.Softmax, hiddenSize: 5, dropout: 0.25)
            with { ProjectionSize = projection == 0 ? null : projection };
        var random = new Random(21);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 3, 8, 2);
        int[][] classes = Enumerable.Range(0, 8).Select(_ => new[] { random.Next(3), random.Next(3) }).ToArray();

        var whole = new RecurrentModel<double>(options);
        TruncatedBpttResult<double> once = new TruncatedBptt<double>(whole, new AdamOptimizer<double>(0.01), 4)
            .Train(inputs, SequenceTargets<double>.FromClasses(classes));

        var split = new RecurrentModel<double>(options);
        var tbptt = new TruncatedBptt<double>(split, new AdamOptimizer<double>(0.01), 4);
        TruncatedBpttResult<double> first = tbptt.Train(inputs.Take(4).ToList(), SequenceTargets<double>.FromClasses(classes.Take(4).ToArray()));
        first.FinalHidden.Should().HaveCount(2);
        (first.FinalCell is not null).Should().Be(cell == RecurrentCellKind.Lstm);
        TruncatedBpttResult<double> second = tbptt.Train(
            inputs.Skip(4).ToList(), SequenceTargets<double>.FromClasses(classes.Skip(4).ToArray()), first.FinalHidden, first.FinalCell);

        second.ChunkLosses[0].Should().Be(once.ChunkLosses[1]);
        ModelProblems.Snapshot(split).Should().BeEquivalentTo(ModelProblems.Snapshot(whole), o => o.WithStrictOrdering());
        for (int k = 0; k < 2; k++)
        {
            second.FinalHidden[k].ToColumnMajorArray().Should().Equal(once.FinalHidden[k].ToColumnMajorArray());
        }

        // Without the carried state the second call trains differently.
        var reset = new RecurrentModel<double>(options);
        var again = new TruncatedBptt<double>(reset, new AdamOptimizer<double>(0.01), 4);
        again.Train(inputs.Take(4).ToList(), SequenceTargets<double>.FromClasses(classes.Take(4).ToArray()));
        again.Train(inputs.Skip(4).ToList(), SequenceTargets<double>.FromClasses(classes.Skip(4).ToArray())).ChunkLosses[0].Should().NotBe(once.ChunkLosses[1]);
    }

    [Fact]
    public void One_chunk_as_long_as_the_sequence_is_plain_bptt_and_a_step()
    {
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Lstm, 2, false, OutputActivation.Identity, hiddenSize: 4);
        var random = new Random(22);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 3, 5, 2);
        var a = new RecurrentModel<double>(options);
        SequenceTargets<double> targets = ModelProblems.Targets(random, a, 5, 2, LossPlacement.EveryStep);
        List<Matrix<double>> h0 = ModelProblems.States(random, a, 2), c0 = ModelProblems.States(random, a, 2);
        new TruncatedBptt<double>(a, new SgdOptimizer<double>(0.1, momentum: 0.9), 5, clipping: Clipping.ByGlobalNorm(0.5)).Train(inputs, targets, h0, c0);

        var b = new RecurrentModel<double>(options);
        ForwardCache<double> cache = b.Forward(inputs, h0, c0);
        RecurrentGradients<double> gradients = new Bptt<double>(b).Backward(cache, targets);
        Clipping.ByGlobalNorm(0.5).Apply(gradients.ParameterGradients);
        new SgdOptimizer<double>(0.1, momentum: 0.9).Step(b.Parameters, gradients.ParameterGradients);
        ModelProblems.Snapshot(a).Should().BeEquivalentTo(ModelProblems.Snapshot(b), o => o.WithStrictOrdering());
    }

    private static void Close(double[] expected, double[] actual, string label)
    {
        Tolerance.AssertClose(label, expected, actual, 1e-12);
    }
}

/// <summary>
/// Allocation of a steady-state model step. Runs in the collection that runs alone: concurrent tests renting the GEMM's
/// pooled pack buffers for other shapes could make this thread grow a set, which is the pool at work, not the step.
/// </summary>
[Collection(RnnCore.Tests.Kernels.ProcessSettingsCollection.Name)]
public sealed class ModelAllocationTests
{
    [Fact]
    public void A_steady_state_training_step_allocates_nothing_in_float_and_double()
    {
        SteadyStateAllocations<double>().Should().Be(0);
        SteadyStateAllocations<float>().Should().Be(0);
    }

    [Fact]
    public void A_steady_state_training_step_on_token_ids_allocates_nothing_with_and_without_an_embedding()
    {
        TokenStepAllocations<double>().Should().Be(0);
        TokenStepAllocations<float>().Should().Be(0);
    }

    [Fact]
    public void A_steady_state_step_whose_bptt_steps_are_split_between_threads_allocates_nothing()
    {
        // B = 128, H = 64: each BPTT step's element-wise half (LSTM: 320 elements per column) is cut into ranges that the
        // kernel workers share (ColumnParts), in one direction and in two.
        using (RnnCoreSettings.UseDegreeOfParallelism(2))
        {
            SplitStepAllocations<double>().Should().Be(0);
            SplitStepAllocations<float>().Should().Be(0);
        }
    }

    private static long SplitStepAllocations<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int Steps = 5, Batch = 128;
        var random = new Random(11);
        var one = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, false, OutputActivation.Softmax, inputSize: 8, hiddenSize: 64, outputSize: 8));
        var two = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Gru, 1, true, OutputActivation.Softmax, inputSize: 8, hiddenSize: 64, outputSize: 8));
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 8, Steps, Batch);
        int[] lengths = Enumerable.Range(0, Batch).Select(j => 1 + (j % Steps)).ToArray();
        SequenceTargets<T> targets = ModelProblems.Targets(random, one, Steps, Batch, LossPlacement.EveryStep);
        (Bptt<T> Bptt, ForwardCache<T> Cache, RecurrentGradients<T> Gradients) a = (new Bptt<T>(one), one.CreateCache(Steps, Batch), one.CreateGradients(Steps, Batch));
        (Bptt<T> Bptt, ForwardCache<T> Cache, RecurrentGradients<T> Gradients) b = (new Bptt<T>(two), two.CreateCache(Steps, Batch), two.CreateGradients(Steps, Batch));
        var optimizer = new AdamOptimizer<T>(0.001);

        void Step()
        {
            one.Forward(inputs, a.Cache, training: true);
            a.Bptt.Backward(a.Cache, targets, a.Gradients);
            optimizer.Step(one.Parameters, a.Gradients.ParameterGradients);
            two.Forward(inputs, b.Cache, lengths: lengths, training: true);
            b.Bptt.Backward(b.Cache, targets, b.Gradients);
        }

        return Allocations.OfSteadyState(Step, countPools: true);
    }

    private static long TokenStepAllocations<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(10);
        var embedded = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Gru, 2, true, OutputActivation.Softmax, inputSize: 8, hiddenSize: 16, outputSize: 8, dropout: 0.2)
            with { VocabularySize = 50, PaddingId = 0 });
        var oneHot = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 1, true, OutputActivation.Softmax, inputSize: 50, hiddenSize: 16, outputSize: 8));
        int[][] ids = Enumerable.Range(0, 10).Select(_ => Enumerable.Range(0, 4).Select(_ => random.Next(50)).ToArray()).ToArray();
        int[] lengths = [10, 7, 3, 10];
        SequenceTargets<T> targets = ModelProblems.Targets(random, embedded, 10, 4, LossPlacement.EveryStep);
        var optimizer = new AdamOptimizer<T>(0.001);
        var optimizer2 = new AdamOptimizer<T>(0.001);
        Clipping clipping = Clipping.ByGlobalNorm(1);
        (Bptt<T> Bptt, ForwardCache<T> Cache, RecurrentGradients<T> Gradients) a = (new Bptt<T>(embedded), embedded.CreateCache(10, 4), embedded.CreateGradients(10, 4));
        (Bptt<T> Bptt, ForwardCache<T> Cache, RecurrentGradients<T> Gradients) b = (new Bptt<T>(oneHot), oneHot.CreateCache(10, 4), oneHot.CreateGradients(10, 4));

        void Step()
        {
            embedded.Forward(ids, a.Cache, lengths: lengths, training: true);
            a.Bptt.Backward(a.Cache, targets, a.Gradients);
            clipping.Apply(a.Gradients.ParameterGradients);
            optimizer.Step(embedded.Parameters, a.Gradients.ParameterGradients);
            oneHot.Forward(ids, b.Cache, lengths: lengths, training: true);
            b.Bptt.Backward(b.Cache, targets, b.Gradients);
            optimizer2.Step(oneHot.Parameters, b.Gradients.ParameterGradients);
        }

        return Allocations.OfSteadyState(Step, countPools: true);
    }

    private static long SteadyStateAllocations<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(9);
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, inputSize: 8, hiddenSize: 16, outputSize: 8, dropout: 0.2));
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 8, 10, 4);
        List<Matrix<T>> h0 = ModelProblems.States(random, model, 4), c0 = ModelProblems.States(random, model, 4);
        int[] lengths = [10, 7, 3, 10];
        SequenceTargets<T> targets = ModelProblems.Targets(random, model, 10, 4, LossPlacement.EveryStep);
        var bptt = new Bptt<T>(model, LossPlacement.EveryStep, LossReduction.Mean);
        var optimizer = new AdamOptimizer<T>(0.001);
        Clipping clipping = Clipping.ByGlobalNorm(1);
        ForwardCache<T> cache = model.CreateCache(10, 4);
        RecurrentGradients<T> gradients = model.CreateGradients(10, 4);
        var gru = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Gru, 2, false, OutputActivation.Softmax, inputSize: 8, hiddenSize: 16, outputSize: 8));
        var gruBptt = new Bptt<T>(gru);
        ForwardCache<T> gruCache = gru.CreateCache(10, 4);
        RecurrentGradients<T> gruGradients = gru.CreateGradients(10, 4);

        // The LSTM with projections: its W_hr product and backward scratch must not allocate either.
        var projected = new RecurrentModel<T>(
            ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, inputSize: 8, hiddenSize: 16, outputSize: 8, dropout: 0.2) with { ProjectionSize = 6 });
        var projectedBptt = new Bptt<T>(projected, LossPlacement.EveryStep, LossReduction.Mean);
        ForwardCache<T> projectedCache = projected.CreateCache(10, 4);
        RecurrentGradients<T> projectedGradients = projected.CreateGradients(10, 4);
        var projectedOptimizer = new AdamOptimizer<T>(0.001);

        void Step()
        {
            model.Forward(inputs, cache, h0, c0, lengths, training: true);
            bptt.Backward(cache, targets, gradients);
            clipping.Apply(gradients.ParameterGradients);
            optimizer.Step(model.Parameters, gradients.ParameterGradients);
            gru.Forward(inputs, gruCache, training: true);
            gruBptt.Backward(gruCache, targets, gruGradients);
            projected.Forward(inputs, projectedCache, lengths: lengths, training: true);
            projectedBptt.Backward(projectedCache, targets, projectedGradients);
            projectedOptimizer.Step(projected.Parameters, projectedGradients.ParameterGradients);
        }

        return Allocations.OfSteadyState(Step, countPools: true);
    }
}

/// <summary>The usage example of docs/models.md, at small sizes: it compiles and trains.</summary>
public sealed class ModelDocsExampleTests
{
    [Fact]
    public void The_docs_example_trains_and_carries_state()
    {
        var random = new Random(30);
        var model = new RecurrentModel<float>(new RecurrentModelOptions(InputSize: 6, HiddenSize: 8, OutputSize: 3)
        {
            Cell = RecurrentCellKind.Lstm,
            Layers = 2,
            Bidirectional = true,
            Dropout = 0.2,
            OutputActivation = OutputActivation.Softmax,
            Seed = 1,
        });
        var bptt = new Bptt<float>(model, LossPlacement.LastStep, LossReduction.Mean);
        var optimizer = new AdamOptimizer<float>(0.01);
        var clipping = Clipping.ByGlobalNorm(5);
        ForwardCache<float> cache = model.CreateCache(steps: 7, batch: 4);
        RecurrentGradients<float> gradients = model.CreateGradients(steps: 7, batch: 4);
        List<Matrix<float>> inputs = RandomProblems.Inputs<float>(random, 6, 7, 4);
        int[] lengths = [7, 3, 5, 1];
        SequenceTargets<float> targets = SequenceTargets<float>.FromClasses([[0, 1, 2, 1]]);
        float first = 0, loss = 0;
        for (int epoch = 0; epoch < 60; epoch++)
        {
            model.Forward(inputs, cache, lengths: lengths, training: true);
            loss = bptt.Backward(cache, targets, gradients);
            first = epoch == 0 ? loss : first;
            clipping.Apply(gradients.ParameterGradients);
            optimizer.Step(model.Parameters, gradients.ParameterGradients);
        }

        loss.Should().BeLessThan(first / 2, "the model learns the four labels");
        gradients.DhNorms(layer: 0, direction: 1).Should().HaveCount(7);

        var unidirectional = new RecurrentModel<float>(model.Options with { Bidirectional = false });
        var tbptt = new TruncatedBptt<float>(unidirectional, optimizer: new AdamOptimizer<float>(0.01), chunkLength: 3, clipping: clipping);
        SequenceTargets<float> perStep = SequenceTargets<float>.FromClasses(Enumerable.Range(0, 7).Select(_ => new[] { 0, 1, 2, 1 }).ToArray());
        TruncatedBpttResult<float> part = tbptt.Train(inputs, perStep);
        part = tbptt.Train(inputs, perStep, part.FinalHidden, part.FinalCell);
        part.ChunkLosses.Should().HaveCount(3);
    }
}
