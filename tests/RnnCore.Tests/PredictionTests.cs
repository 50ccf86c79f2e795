using System.Numerics;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.TestUtilities;
using RnnCore.Training;
using MathVector = MathNet.Numerics.LinearAlgebra.Vector<double>;

namespace RnnCore.Tests;

/// <summary>
/// PredictLast / PredictEveryStep on the layer and the trainer: every input form gives what a forward pass over each
/// sequence alone gives (checked against <c>Forward</c>
/// with B = 1), in the caller's order, whatever the lengths and the batching; bad input is refused by name.
/// </summary>
public abstract class PredictionTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int I = 3, H = 5, O = 2;
    private static readonly int[] Lengths = [5, 1, 7, 3, 7, 2, 4];
    private static readonly double Tolerance = typeof(T) == typeof(float) ? 2e-6 : 1e-14;

    [Theory]
    [InlineData(OutputActivation.Softmax)]
    [InlineData(OutputActivation.Identity)]
    public void Many_sequences_of_different_lengths_give_each_sequence_its_own_forward_pass(OutputActivation output)
    {
        var layer = new RecurrentLayer<T>(I, H, O, outputActivation: output, seed: 2);
        T[][][] sequences = RandomSequences(new Random(1), Lengths, I);
        T[][] before = RandomProblems.Snapshot(layer);

        T[][] last = layer.PredictLast(sequences);
        T[][][] every = layer.PredictEveryStep(sequences);

        last.Should().HaveCount(Lengths.Length);
        every.Select(rows => rows.Length).Should().Equal(Lengths);
        for (int n = 0; n < sequences.Length; n++)
        {
            T[][] expected = Reference(layer, sequences[n]);
            ShouldBeClose(last[n], expected[^1], $"last output of sequence {n}");
            for (int t = 0; t < expected.Length; t++)
            {
                ShouldBeClose(every[n][t], expected[t], $"sequence {n}, step {t}");
            }
        }

        RandomProblems.ShouldBeUnchanged(layer, before);
    }

    [Fact]
    public void The_trainer_predicts_the_same_in_batches_of_its_batch_size()
    {
        var layer = new RecurrentLayer<T>(I, H, O, seed: 2);
        var trainer = new Trainer<T>(layer, new SgdOptimizer<T>(0.1), new TrainerOptions { BatchSize = 2 });
        T[][][] sequences = RandomSequences(new Random(1), Lengths, I);

        T[][] batched = trainer.PredictLast(sequences);
        T[][][] batchedEvery = trainer.PredictEveryStep(sequences);

        for (int n = 0; n < sequences.Length; n++)
        {
            T[][] expected = Reference(layer, sequences[n]);
            ShouldBeClose(batched[n], expected[^1], $"sequence {n}");
            ShouldBeClose(batchedEvery[n][^1], expected[^1], $"sequence {n}, last of every step");
            ShouldBeClose(trainer.PredictLast(sequences[n]), expected[^1], $"sequence {n} alone");
        }
    }

    [Fact]
    public void Every_input_form_gives_the_same_outputs()
    {
        var layer = new RecurrentLayer<T>(I, H, O, outputActivation: OutputActivation.Sigmoid, seed: 3);
        T[][][] sequences = RandomSequences(new Random(4), Lengths, I);
        T[][] expected = layer.PredictLast(sequences);

        for (int n = 0; n < sequences.Length; n++)
        {
            T[][] rows = sequences[n];
            var array = new T[rows.Length, I];
            for (int t = 0; t < rows.Length; t++)
            {
                for (int k = 0; k < I; k++)
                {
                    array[t, k] = rows[t][k];
                }
            }

            List<MathNet.Numerics.LinearAlgebra.Vector<T>> vectors = rows.Select(r => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(r)).ToList();
            layer.PredictLast(rows).Should().Equal(expected[n]);
            layer.PredictLast(array).Should().Equal(expected[n]);
            layer.PredictLast(vectors).ToArray().Should().Equal(expected[n]);
            layer.PredictEveryStep(array)[^1].Should().Equal(expected[n]);
            layer.PredictEveryStep(vectors)[^1].ToArray().Should().Equal(expected[n]);
        }

        var manyVectors = sequences.Select(s => (IReadOnlyList<MathNet.Numerics.LinearAlgebra.Vector<T>>)s.Select(r => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(r)).ToList()).ToList();
        layer.PredictLast(manyVectors).Select(v => v.ToArray()).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
        layer.PredictEveryStep(manyVectors).Select(s => s[^1].ToArray()).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());

        SequenceDataset<T> dataset = SequenceDataset<T>.FromArrays(sequences, Lengths.Select(_ => 1).ToArray());
        layer.PredictLast(dataset).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
        layer.PredictEveryStep(dataset).Select(s => s[^1]).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
    }

    [Fact]
    public void A_univariate_series_is_one_value_per_step()
    {
        var layer = new RecurrentLayer<T>(1, H, 1, outputActivation: OutputActivation.Identity, seed: 5);
        T[] series = Enumerable.Range(0, 9).Select(t => T.CreateTruncating(Math.Sin(t))).ToArray();
        T[][] expected = Reference(layer, series.Select(v => new[] { v }).ToArray());

        ShouldBeClose(layer.PredictLast(series), expected[^1], "last");
        T[][] every = layer.PredictEveryStep(series);
        every.Should().HaveCount(series.Length);
        ShouldBeClose(every[4], expected[4], "step 4");
    }

    [Fact]
    public void Bad_input_is_refused_by_name_and_position()
    {
        var layer = new RecurrentLayer<T>(I, H, O, seed: 2);
        T[][][] sequences = RandomSequences(new Random(1), [3, 4], I);
        sequences[1][2] = [T.One, T.One];
        Invoking(() => layer.PredictLast(sequences)).Should().Throw<ArgumentException>()
            .WithParameterName("sequences").WithMessage("sequences[1][2] has 2 features but the layer's inputSize is 3*");

        T[][] nan = RandomSequences(new Random(1), [3], I)[0];
        nan[1][2] = T.NaN;
        Invoking(() => layer.PredictLast(nan)).Should().Throw<ArgumentException>().WithParameterName("steps").WithMessage("*NaN at step 1, feature 2*");
        Invoking(() => layer.PredictLast(Array.Empty<T[]>())).Should().Throw<ArgumentException>().WithMessage("steps is empty*");
        Invoking(() => layer.PredictLast((IReadOnlyList<T[][]>)[])).Should().Throw<ArgumentException>().WithMessage("sequences is empty*");
        Invoking(() => layer.PredictLast(new T[] { T.One, T.One })).Should().Throw<ArgumentException>()
            .WithParameterName("series").WithMessage("*univariate*inputSize is 3*");
        Invoking(() => layer.PredictLast(new T[4, 2])).Should().Throw<ArgumentException>().WithMessage("steps is 4x2*inputSize is 3*");
        var vectors = new List<IReadOnlyList<MathNet.Numerics.LinearAlgebra.Vector<T>>>
        {
            new[] { MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(I) },
            new[] { MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(I), MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(I + 1) },
        };
        Invoking(() => layer.PredictLast(vectors)).Should().Throw<ArgumentException>()
            .WithParameterName("sequences").WithMessage("sequences[1][1] has 4 features but the layer's inputSize is 3*");
    }

    private static Action Invoking(Func<object> call) => () => call();

    /// <summary>Each step's output of one sequence, by the plain B = 1 forward pass.</summary>
    private static T[][] Reference(RecurrentLayer<T> layer, T[][] rows)
    {
        ForwardCache<T> cache = layer.Forward(rows.Select(r => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(r)).ToList());
        return Enumerable.Range(0, rows.Length).Select(t => cache.Output(t).Column(0).ToArray()).ToArray();
    }

    private static T[][][] RandomSequences(Random random, int[] lengths, int features) =>
        lengths.Select(l => Enumerable.Range(0, l).Select(_ => Enumerable.Range(0, features).Select(_ => T.CreateTruncating((2 * random.NextDouble()) - 1)).ToArray()).ToArray()).ToArray();

    private static void ShouldBeClose(T[] actual, T[] expected, string label)
    {
        actual.Should().HaveCount(expected.Length, label);
        double[] a = actual.Select(double.CreateTruncating).ToArray(), e = expected.Select(double.CreateTruncating).ToArray();
        MathVector.Build.Dense(a).Subtract(MathVector.Build.Dense(e)).InfinityNorm().Should().BeLessThanOrEqualTo(Tolerance, label);
    }
}

public sealed class PredictionTestsDouble : PredictionTests<double>;

public sealed class PredictionTestsSingle : PredictionTests<float>;
