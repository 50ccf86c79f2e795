using System.Numerics;
using System.Runtime.InteropServices;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Tests.Kernels;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Models;

/// <summary>
/// Online inference (<see cref="RecurrentStreams{T}"/>): every stream's output and every layer's state after every step
/// equal, bit for bit, what whole-sequence <c>Forward</c> over a batch of the same sequences leaves in its cache, whichever
/// streams step together and in whatever order; snapshots restore exactly; bad calls change nothing.
/// </summary>
public abstract class StreamTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static TheoryData<RecurrentCellKind, HiddenActivation, OutputActivation, int, int> Networks()
    {
        var data = new TheoryData<RecurrentCellKind, HiddenActivation, OutputActivation, int, int>();
        foreach (int threads in new[] { 1, 2 })
        {
            foreach (int layers in new[] { 1, 2, 3 })
            {
                data.Add(RecurrentCellKind.Vanilla, HiddenActivation.Tanh, OutputActivation.Softmax, layers, threads);
                data.Add(RecurrentCellKind.Vanilla, HiddenActivation.Relu, OutputActivation.Identity, layers, threads);
                data.Add(RecurrentCellKind.Lstm, HiddenActivation.Tanh, OutputActivation.Sigmoid, layers, threads);
                data.Add(RecurrentCellKind.Gru, HiddenActivation.Tanh, OutputActivation.Softmax, layers, threads);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Streams_stepped_alone_and_in_batches_equal_whole_sequence_Forward_at_every_step(
        RecurrentCellKind cell, HiddenActivation hidden, OutputActivation output, int layers, int threads)
    {
        var model = new RecurrentModel<T>(new RecurrentModelOptions(InputSize: 7, HiddenSize: 13, OutputSize: 5)
        {
            Cell = cell, Layers = layers, HiddenActivation = hidden, OutputActivation = output, Seed = 11,
        });
        CheckAgainstForward(model, streams: 6, steps: 9, maxBatch: 4, threads, seed: 3);
    }

    /// <summary>
    /// The LSTM with projections streams too: h of P values (the layer above and the head read P), c of H, and its own
    /// W_hr read by the cell step; a stream's state is L·(P + H) values.
    /// </summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    public void The_LSTM_with_projections_streams_like_its_Forward(int layers, int threads)
    {
        var model = new RecurrentModel<T>(new RecurrentModelOptions(InputSize: 7, HiddenSize: 13, OutputSize: 5)
        {
            Cell = RecurrentCellKind.Lstm, ProjectionSize = 5, Layers = layers, OutputActivation = OutputActivation.Softmax, Seed = 12,
        });
        model.OpenStreams(2).StateSize.Should().Be(layers * (5 + 13));
        CheckAgainstForward(model, streams: 6, steps: 9, maxBatch: 4, threads, seed: 3);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_recurrent_layer_streams_like_its_Forward(int threads)
    {
        var layer = new RecurrentLayer<T>(5, 11, 4, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 5);
        CheckAgainstForward(layer, streams: 5, steps: 8, maxBatch: 5, threads, seed: 4);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(3, 1)]
    [InlineData(4, 4)]
    public void Tiny_states_equal_Forward_too(int hiddenSize, int outputSize)
    {
        // H·B and O·B below one vector: the activations' short-span paths.
        foreach (RecurrentCellKind cell in new[] { RecurrentCellKind.Vanilla, RecurrentCellKind.Lstm, RecurrentCellKind.Gru })
        {
            var model = new RecurrentModel<T>(new RecurrentModelOptions(InputSize: 2, HiddenSize: hiddenSize, OutputSize: outputSize)
            {
                Cell = cell, Layers = 2, OutputActivation = outputSize == 1 ? OutputActivation.Sigmoid : OutputActivation.Softmax, Seed = 2,
            });
            CheckAgainstForward(model, streams: 5, steps: 6, maxBatch: 5, threads: 1, seed: 5);
        }
    }

    /// <summary>
    /// Products large enough to be split between two threads: the recurrent product of one step of 3 streams
    /// (2·4·512·512·3 ≈ 12.6 MFLOP) and Forward's hoisted input product over all T·B columns.
    /// </summary>
    [Theory]
    [InlineData(RecurrentCellKind.Lstm)]
    [InlineData(RecurrentCellKind.Gru)]
    [InlineData(RecurrentCellKind.Vanilla)]
    public void Split_products_give_the_same_bits(RecurrentCellKind cell)
    {
        var model = new RecurrentModel<T>(new RecurrentModelOptions(InputSize: 40, HiddenSize: cell == RecurrentCellKind.Vanilla ? 1024 : 512, OutputSize: 6)
        {
            Cell = cell, Layers = 2, Seed = 7,
        });
        CheckAgainstForward(model, streams: 3, steps: 4, maxBatch: 3, threads: 2, seed: 6);
    }

    [Fact]
    public void A_snapshot_restores_the_state_exactly_and_reset_is_the_zero_state()
    {
        var model = new RecurrentModel<T>(new RecurrentModelOptions(InputSize: 3, HiddenSize: 9, OutputSize: 4) { Cell = RecurrentCellKind.Lstm, Layers = 2, Seed = 3 });
        var random = new Random(8);
        T[][] inputs = Enumerable.Range(0, 10).Select(_ => Vector(random, 3)).ToArray();
        RecurrentStreams<T> pool = model.OpenStreams(3);
        pool.StateSize.Should().Be(2 * 2 * 9);
        for (int t = 0; t < 4; t++)
        {
            pool.Step(0, inputs[t]);
        }

        T[] snapshot = pool.SaveState(0);
        T[][] after = Enumerable.Range(4, 6).Select(t => pool.Step(0, inputs[t])).ToArray();
        T[] finalState = pool.SaveState(0);

        // Restored into another stream of another pool of the same model: the same outputs and state, bit for bit.
        RecurrentStreams<T> other = model.OpenStreams(2);
        other.LoadState(1, snapshot);
        other.StepCount(1).Should().Be(0);
        for (int t = 4; t < 10; t++)
        {
            Bits(other.Step(1, inputs[t])).Should().Equal(Bits(after[t - 4]), $"step {t} after the restore");
        }

        Bits(other.SaveState(1)).Should().Equal(Bits(finalState));

        // Reset: the zero state, from which the stream runs as a fresh one.
        pool.Reset(0);
        pool.StepCount(0).Should().Be(0);
        Bits(pool.SaveState(0)).Should().Equal(Bits(new T[pool.StateSize]));
        T[] fresh = model.OpenStreams(1).Step(0, inputs[0]);
        Bits(pool.Step(0, inputs[0])).Should().Equal(Bits(fresh));

        // With an explicit buffer.
        var buffer = new T[pool.StateSize];
        pool.SaveState(0, buffer);
        pool.Reset(2);
        pool.LoadState(2, buffer);
        Bits(pool.SaveState(2)).Should().Equal(Bits(buffer));
    }

    [Fact]
    public void A_bidirectional_model_is_refused()
    {
        var model = new RecurrentModel<T>(new RecurrentModelOptions(3, 4, 2) { Bidirectional = true });
        Action open = () => model.OpenStreams(2);
        open.Should().Throw<NotSupportedException>().WithMessage("*bidirectional*Bidirectional = false*");
    }

    [Fact]
    public void Bad_calls_name_the_argument_and_change_nothing()
    {
        var model = new RecurrentModel<T>(new RecurrentModelOptions(3, 5, 2) { Cell = RecurrentCellKind.Gru, Layers = 2, Seed = 1 });
        RecurrentStreams<T> pool = model.OpenStreams(4, maxBatch: 2);
        pool.MaxBatch.Should().Be(2);
        var random = new Random(2);
        pool.Step(1, Vector(random, 3));
        T[] before = pool.SaveState(1);
        T[][] parameters = ModelProblems.Snapshot(model);
        var output = new T[2];

        Invoking(() => pool.Step(1, new T[4], output)).Should().Throw<ArgumentException>().Where(e => e.ParamName == "input")
            .WithMessage("input has length 4; expected 3*");
        Invoking(() => pool.Step(1, new T[3], new T[3])).Should().Throw<ArgumentException>().Where(e => e.ParamName == "output")
            .WithMessage("output has length 3; expected 2*");
        Invoking(() => pool.Step(4, new T[3], output)).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "stream")
            .WithMessage("stream is 4; expected a stream in [0, 3]*");
        Invoking(() => pool.Step(1, [T.One, T.NaN, T.One], output)).Should().Throw<ArgumentException>().Where(e => e.ParamName == "input")
            .WithMessage("input[1] is NaN*finite*");
        Invoking(() => pool.Step([1, 1], new T[6], new T[4])).Should().Throw<ArgumentException>().Where(e => e.ParamName == "streams")
            .WithMessage("streams[1] is 1, which this call already names*");
        Invoking(() => pool.Step([0, 1, 2], new T[9], new T[6])).Should().Throw<ArgumentException>().Where(e => e.ParamName == "streams")
            .WithMessage("streams has 3 entries; expected 1 to 2*");
        Invoking(() => pool.Step([0, 1], new T[5], new T[4])).Should().Throw<ArgumentException>().Where(e => e.ParamName == "inputs")
            .WithMessage("inputs has length 5; expected 6 (input size 3 x 2 streams)*");
        Invoking(() => pool.Step([0, -1], new T[6], new T[4])).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "streams")
            .WithMessage("streams[1] is -1*");
        Invoking(() => pool.Step([0, 1], [T.One, T.One, T.One, T.One, T.PositiveInfinity, T.One], new T[4])).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "inputs").WithMessage("inputs holds * at row 1, column 1 (streams[1])*");
        Invoking(() => pool.LoadState(1, new T[pool.StateSize + 1])).Should().Throw<ArgumentException>().Where(e => e.ParamName == "source")
            .WithMessage($"source has length {pool.StateSize + 1}; expected {pool.StateSize}*");
        T[] nan = new T[pool.StateSize];
        nan[3] = T.NaN;
        Invoking(() => pool.LoadState(1, nan)).Should().Throw<ArgumentException>().Where(e => e.ParamName == "source").WithMessage("source[3] is NaN*");
        Invoking(() => pool.SaveState(1, new T[2])).Should().Throw<ArgumentException>().Where(e => e.ParamName == "destination");
        Invoking(() => model.OpenStreams(0)).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "streams");
        Invoking(() => model.OpenStreams(2, maxBatch: 0)).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "maxBatch");

        Bits(pool.SaveState(1)).Should().Equal(Bits(before));
        pool.StepCount(1).Should().Be(1);
        pool.StepCount(0).Should().Be(0);
        ModelProblems.Snapshot(model).Should().BeEquivalentTo(parameters, o => o.WithStrictOrdering());
    }

    [Fact]
    public void A_non_finite_value_is_reported_and_leaves_every_state_unchanged()
    {
        var model = new RecurrentModel<T>(new RecurrentModelOptions(3, 6, 2) { Cell = RecurrentCellKind.Lstm, Layers = 2, Seed = 1 });
        RecurrentStreams<T> pool = model.OpenStreams(3);
        var random = new Random(3);
        pool.Step([0, 2], [.. Vector(random, 3), .. Vector(random, 3)], new T[4]);
        T[] zeroBefore = pool.SaveState(0), twoBefore = pool.SaveState(2);

        // b_hh of layer 1 (read live by the step): v = W_hh h + b_hh becomes NaN in layer 1.
        Span<T> bias = Tensor(model, "rnn.bias_hh_l1");
        bias[2] = T.NaN;
        Invoking(() => pool.Step([2, 0], [.. Vector(random, 3), .. Vector(random, 3)], new T[4])).Should().Throw<NonFiniteValueException>()
            .Where(e => e.Step == 1).WithMessage("*W_hh h + b_hh (layer 1, forward direction)*step 1*stream 2*");
        bias[2] = T.Zero;

        // The head's bias: the logit z_t.
        Span<T> headBias = Tensor(model, "head.bias");
        T saved = headBias[1];
        headBias[1] = T.PositiveInfinity;
        Invoking(() => pool.Step(0, Vector(random, 3), new T[2])).Should().Throw<NonFiniteValueException>()
            .WithMessage("*logit z_t*step 1*row 1, stream 0*");
        headBias[1] = saved;

        Bits(pool.SaveState(0)).Should().Equal(Bits(zeroBefore));
        Bits(pool.SaveState(2)).Should().Equal(Bits(twoBefore));
        pool.StepCount(0).Should().Be(1);
        pool.StepCount(2).Should().Be(1);
    }

    [Fact]
    public void Refreshing_the_weights_follows_the_changed_parameters()
    {
        var model = new RecurrentModel<T>(new RecurrentModelOptions(3, 6, 2) { Cell = RecurrentCellKind.Gru, Seed = 1 });
        RecurrentStreams<T> pool = model.OpenStreams(1);
        var random = new Random(4);
        T[] x = Vector(random, 3);
        Span<T> weights = Tensor(model, "rnn.weight_hh_l0");
        Span<T> input = Tensor(model, "rnn.weight_ih_l0");
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] *= T.CreateTruncating(1.5);
        }

        for (int i = 0; i < input.Length; i++)
        {
            input[i] = -input[i];
        }

        pool.RefreshWeights();
        pool.Step(0, x);
        T[] second = pool.Step(0, x);
        ForwardCache<T> cache = model.Forward([Matrix<T>.Build.Dense(3, 1, x), Matrix<T>.Build.Dense(3, 1, x)]);
        Bits(second).Should().Equal(Bits(cache.Output(1).ToColumnMajorArray()));
    }

    /// <summary>
    /// Runs <paramref name="streams"/> sequences of <paramref name="steps"/> steps through Forward as one batch (one
    /// thread), then through a pool on <paramref name="threads"/> threads in a seeded interleaving: each call steps a random
    /// subset of the streams that have steps left (in random order; one stream alone through each single-stream overload),
    /// and every output and every layer's h and c after the call are compared with the cache's, bit for bit.
    /// </summary>
    private static void CheckAgainstForward(RecurrentModel<T> model, int streams, int steps, int maxBatch, int threads, int seed)
    {
        var random = new Random(seed);
        int n = model.InputSize, h = model.HiddenSize, hs = model.StateSize, o = model.OutputSize, layers = model.Layers;
        bool lstm = model.Options.Cell == RecurrentCellKind.Lstm;
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, n, steps, streams);
        ForwardCache<T> cache;
        using (RnnCoreSettings.UseDegreeOfParallelism(1))
        {
            cache = model.Forward(inputs);
        }

        using RnnCoreSettings.ParallelismScope scope = RnnCoreSettings.UseDegreeOfParallelism(threads);
        RecurrentStreams<T> pool = model.OpenStreams(streams, maxBatch);
        int[] next = new int[streams];
        int calls = 0, batched = 0;
        while (next.Any(t => t < steps))
        {
            int[] open = Enumerable.Range(0, streams).Where(b => next[b] < steps).OrderBy(_ => random.Next()).ToArray();
            int[] chosen = open.Take(random.Next(1, Math.Min(open.Length, pool.MaxBatch) + 1)).ToArray();
            T[] x = chosen.SelectMany(b => inputs[next[b]].Column(b).ToArray()).ToArray();
            T[] y = new T[o * chosen.Length];
            if (chosen.Length == 1 && calls % 2 == 0)
            {
                pool.Step(chosen[0], x, y);
            }
            else if (chosen.Length == 1)
            {
                y = pool.Step(chosen[0], x);
            }
            else
            {
                pool.Step(chosen, x, y);
                batched++;
            }

            calls++;
            for (int j = 0; j < chosen.Length; j++)
            {
                int b = chosen[j], t = next[b];
                string where = $"stream {b}, step {t}, call {calls} of {chosen.Length} stream(s)";
                Bits(y.AsSpan(j * o, o).ToArray()).Should().Equal(Bits(cache.Output(t).Column(b).ToArray()), $"the output y_t ({where})");
                T[] state = pool.SaveState(b);
                int perLayer = lstm ? hs + h : hs; // h has S values (H, or P with projections), c has H
                for (int k = 0; k < layers; k++)
                {
                    int column = ((t + 1) * streams) + b;
                    Bits(state.AsSpan(k * perLayer, hs).ToArray()).Should().Equal(Bits(cache.Hiddens[k].AsSpan(column * hs, hs).ToArray()), $"h of layer {k} ({where})");
                    if (lstm)
                    {
                        Bits(state.AsSpan((k * perLayer) + hs, h).ToArray()).Should().Equal(Bits(cache.Cells[k].AsSpan(column * h, h).ToArray()), $"c of layer {k} ({where})");
                    }
                }

                next[b]++;
                pool.StepCount(b).Should().Be(next[b]);
            }
        }

        if (maxBatch > 1)
        {
            batched.Should().BeGreaterThan(0, "some calls stepped several streams together");
        }
    }

    private static T[] Vector(Random random, int length) =>
        Enumerable.Range(0, length).Select(_ => T.CreateTruncating((2 * random.NextDouble()) - 1)).ToArray();

    private static byte[] Bits(T[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static Action Invoking(Action action) => action;

    private static Span<T> Tensor(RecurrentModel<T> model, string name) =>
        model.Parameters[Enumerable.Range(0, model.Parameters.Count).Single(i => model.Parameters.GetName(i) == name)];
}

public sealed class StreamTestsDouble : StreamTests<double>;

public sealed class StreamTestsSingle : StreamTests<float>;

/// <summary>A steady-state step allocates nothing, alone or batched, on one thread and on two (where its products split).</summary>
[Collection(ProcessSettingsCollection.Name)]
public sealed class StreamAllocationTests
{
    [Theory]
    [InlineData(RecurrentCellKind.Lstm, 1)]
    [InlineData(RecurrentCellKind.Gru, 2)]
    [InlineData(RecurrentCellKind.Vanilla, 2)]
    public void A_steady_state_step_allocates_nothing(RecurrentCellKind cell, int threads)
    {
        Own<float>(cell, threads).Should().Be(0);
        Own<double>(cell, threads).Should().Be(0);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_steady_state_step_of_the_LSTM_with_projections_allocates_nothing(int threads)
    {
        Own<float>(RecurrentCellKind.Lstm, threads, projection: 100).Should().Be(0);
        Own<double>(RecurrentCellKind.Lstm, threads, projection: 100).Should().Be(0);
    }

    private static long Own<T>(RecurrentCellKind cell, int threads, int? projection = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var model = new RecurrentModel<T>(new RecurrentModelOptions(16, cell == RecurrentCellKind.Vanilla ? 1024 : 512, 8)
        {
            Cell = cell, ProjectionSize = projection, Layers = 2, Seed = 1,
        });
        using RnnCoreSettings.ParallelismScope scope = RnnCoreSettings.UseDegreeOfParallelism(threads);
        RecurrentStreams<T> pool = model.OpenStreams(4);
        T[] x = Enumerable.Range(0, 16 * 3).Select(i => T.CreateTruncating(Math.Sin(i))).ToArray();
        T[] y = new T[8 * 3];
        int[] streams = [3, 0, 2];

        void Steps()
        {
            for (int i = 0; i < 20; i++)
            {
                pool.Step(1, x.AsSpan(0, 16), y.AsSpan(0, 8));
                pool.Step(streams, x, y);
            }
        }

        return Allocations.OfSteadyState(Steps);
    }
}
