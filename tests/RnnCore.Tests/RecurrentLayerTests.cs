using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests;

/// <summary>Forward-pass and BPTT behaviour, written once and run for float and double (STYLE.md lesson 11).</summary>
public abstract class RecurrentLayerTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Fact]
    public void The_same_seed_gives_the_same_weights_and_another_seed_other_weights()
    {
        var a = new RecurrentLayer<T>(5, 7, 3, seed: 42);
        var b = new RecurrentLayer<T>(5, 7, 3, seed: 42);
        var c = new RecurrentLayer<T>(5, 7, 3, seed: 43);
        for (int i = 0; i < a.Parameters.Count; i++)
        {
            a.Parameters[i].ToArray().Should().Equal(b.Parameters[i].ToArray());
            a.Parameters[i].ToArray().Should().NotEqual(c.Parameters[i].ToArray());
        }
    }

    [Fact]
    public void Default_initialization_is_uniform_within_one_over_root_H()
    {
        var layer = new RecurrentLayer<T>(16, 64, 8, seed: 7);
        double bound = 1 / Math.Sqrt(64);
        double[] all = Enumerable.Range(0, layer.Parameters.Count).SelectMany(i => layer.Parameters[i].ToArray()).Select(double.CreateTruncating).ToArray();
        all.Should().OnlyContain(v => Math.Abs(v) <= bound);
        all.Min().Should().BeLessThan(-0.9 * bound);
        all.Max().Should().BeGreaterThan(0.9 * bound);
        all.Average().Should().BeApproximately(0, 0.01);
    }

    [Fact]
    public void Sequences_of_a_batch_are_independent()
    {
        // Forward of a batch equals each sequence run alone; with a summed loss the gradients add up.
        var random = new Random(3);
        var layer = new RecurrentLayer<T>(3, 6, 4, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 5);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 3, 7, 3);
        Matrix<T> h0 = RandomProblems.Hidden<T>(random, 6, 3);
        int[][] classes = Enumerable.Range(0, 7).Select(_ => Enumerable.Range(0, 3).Select(_ => random.Next(4)).ToArray()).ToArray();
        var bptt = new Bptt<T>(layer);
        ForwardCache<T> batchCache = layer.Forward(inputs, [h0]);
        RecurrentGradients<T> batchGradients = bptt.Backward(batchCache, SequenceTargets<T>.FromClasses(classes));

        var summed = Enumerable.Range(0, layer.Parameters.Count).Select(i => new double[layer.Parameters.GetLength(i)]).ToArray();
        for (int b = 0; b < 3; b++)
        {
            List<Matrix<T>> single = inputs.Select(m => m.SubMatrix(0, 3, b, 1)).ToList();
            ForwardCache<T> cache = layer.Forward(single, [h0.SubMatrix(0, 6, b, 1)]);
            for (int t = 0; t < 7; t++)
            {
                Tolerance.AssertClose($"hidden t={t} b={b}", ToDoubles(batchCache.Hidden(t).Column(b)), ToDoubles(cache.Hidden(t).Column(0)), Epsilon);
                Tolerance.AssertClose($"output t={t} b={b}", ToDoubles(batchCache.Output(t).Column(b)), ToDoubles(cache.Output(t).Column(0)), Epsilon);
            }

            RecurrentGradients<T> gradients = bptt.Backward(cache, SequenceTargets<T>.FromClasses(classes.Select(row => new[] { row[b] }).ToArray()));
            for (int i = 0; i < summed.Length; i++)
            {
                ReadOnlySpan<T> g = gradients.ParameterGradients[i];
                for (int j = 0; j < g.Length; j++)
                {
                    summed[i][j] += double.CreateTruncating(g[j]);
                }
            }
        }

        for (int i = 0; i < summed.Length; i++)
        {
            Tolerance.AssertClose(layer.Parameters.GetName(i), summed[i], ToDoubles(batchGradients.ParameterGradients[i].ToArray()), 10 * Epsilon);
        }
    }

    [Fact]
    public void The_single_sequence_overload_equals_a_batch_of_one()
    {
        var random = new Random(4);
        var layer = new RecurrentLayer<T>(2, 5, 3, HiddenActivation.Relu, OutputActivation.Sigmoid, seed: 1);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 2, 6, 1);
        ForwardCache<T> batch = layer.Forward(inputs);
        ForwardCache<T> single = layer.Forward(inputs.Select(m => m.Column(0)).ToList());
        for (int t = 0; t < 6; t++)
        {
            single.Hidden(t).Should().BeEquivalentTo(batch.Hidden(t));
            single.Output(t).Should().BeEquivalentTo(batch.Output(t));
        }
    }

    [Fact]
    public void Reusing_a_cache_and_gradients_gives_identical_results_every_time()
    {
        // Stale state in a reused buffer would show up as a difference between the first and later passes.
        var random = new Random(6);
        var layer = new RecurrentLayer<T>(4, 5, 3, HiddenActivation.Tanh, OutputActivation.Identity, seed: 2);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 4, 5, 2);
        List<Matrix<T>> other = RandomProblems.Inputs<T>(random, 4, 5, 2);
        SequenceTargets<T> targets = RandomProblems.Targets(random, layer, 5, 2, LossPlacement.EveryStep);
        var bptt = new Bptt<T>(layer, LossPlacement.EveryStep, LossReduction.Mean);
        ForwardCache<T> cache = layer.CreateCache(5, 2);
        RecurrentGradients<T> gradients = layer.CreateGradients(5, 2);

        layer.Forward(inputs, cache);
        T firstLoss = bptt.Backward(cache, targets, gradients);
        T[][] first = Enumerable.Range(0, 5).Select(i => gradients.ParameterGradients[i].ToArray()).ToArray();
        double[] firstNorms = gradients.DhNorms(0, 0).ToArray();
        for (int repeat = 0; repeat < 5; repeat++)
        {
            layer.Forward(other, cache);
            bptt.Backward(cache, targets, gradients);
            layer.Forward(inputs, cache);
            bptt.Backward(cache, targets, gradients).Should().Be(firstLoss);
            for (int i = 0; i < 5; i++)
            {
                gradients.ParameterGradients[i].ToArray().Should().Equal(first[i]);
            }

            gradients.DhNorms(0, 0).Should().Equal(firstNorms);
        }
    }

    [Fact]
    public void Loss_at_the_last_step_uses_either_one_step_or_every_step_of_targets()
    {
        var random = new Random(8);
        var layer = new RecurrentLayer<T>(2, 3, 2, HiddenActivation.Tanh, OutputActivation.Identity, seed: 4);
        ForwardCache<T> cache = layer.Forward(RandomProblems.Inputs<T>(random, 2, 4, 2));
        SequenceTargets<T> all = RandomProblems.Targets(random, layer, 4, 2, LossPlacement.EveryStep);
        var last = new Bptt<T>(layer, LossPlacement.LastStep);
        Matrix<T> lastTarget = Matrix<T>.Build.Dense(2, 2, (i, j) => all.ValuesAt(3)[i + (2 * j)]);
        last.Loss(cache, all).Should().Be(last.Loss(cache, SequenceTargets<T>.FromValues([lastTarget])));
    }

    [Fact]
    public void A_steady_state_forward_and_backward_allocate_nothing()
    {
        var random = new Random(9);
        var layer = new RecurrentLayer<T>(8, 16, 8, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 3);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 8, 10, 4);
        SequenceTargets<T> targets = RandomProblems.Targets(random, layer, 10, 4, LossPlacement.EveryStep);
        var bptt = new Bptt<T>(layer);
        ForwardCache<T> cache = layer.CreateCache(10, 4);
        RecurrentGradients<T> gradients = layer.CreateGradients(10, 4);
        Allocations.OfSteadyState(() =>
        {
            layer.Forward(inputs, cache);
            bptt.Backward(cache, targets, gradients);
        }).Should().Be(0);
    }

    [Fact]
    public void Forward_from_eight_threads_at_once_matches_single_threaded_results()
    {
        var random = new Random(10);
        var layer = new RecurrentLayer<T>(6, 32, 5, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 8);
        List<Matrix<T>>[] batches = Enumerable.Range(0, 8).Select(_ => RandomProblems.Inputs<T>(random, 6, 20, 3)).ToArray();
        Matrix<T>[] expected = batches.Select(b => layer.Forward(b).FinalHidden(0)).ToArray();

        var results = new Matrix<T>[8, 25];
        using var start = new Barrier(8);
        Thread[] threads = Enumerable.Range(0, 8).Select(k => new Thread(() =>
        {
            ForwardCache<T> cache = layer.CreateCache(20, 3);
            start.SignalAndWait();
            for (int repeat = 0; repeat < 25; repeat++)
            {
                layer.Forward(batches[(k + repeat) % 8], cache);
                results[k, repeat] = cache.FinalHidden(0);
            }
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        for (int k = 0; k < 8; k++)
        {
            for (int repeat = 0; repeat < 25; repeat++)
            {
                results[k, repeat].Should().BeEquivalentTo(expected[(k + repeat) % 8], "thread {0}, repeat {1} must equal the single-threaded result bit for bit", k, repeat);
            }
        }
    }

    private static double Epsilon => typeof(T) == typeof(float) ? 1e-6 : 1e-14;

    private static double[] ToDoubles(IEnumerable<T> values) => values.Select(double.CreateTruncating).ToArray();
}

public sealed class RecurrentLayerTestsDouble : RecurrentLayerTests<double>;

public sealed class RecurrentLayerTestsSingle : RecurrentLayerTests<float>;
