using System.Numerics;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>Sequences from plain arrays, windows over a series, and splitting, taking and shuffling datasets.</summary>
public abstract class DataHelperTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Fact]
    public void Plain_arrays_build_the_same_sequences_as_MathNet_vectors()
    {
        double[][] rows = [[1, 2], [3, 4], [5, 6]];
        T[][] steps = rows.Select(r => r.Select(T.CreateTruncating).ToArray()).ToArray();
        var array = new T[3, 2];
        for (int t = 0; t < 3; t++)
        {
            array[t, 0] = steps[t][0];
            array[t, 1] = steps[t][1];
        }

        List<MathNet.Numerics.LinearAlgebra.Vector<T>> vectors = steps.Select(r => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(r)).ToList();
        Sequence<T> reference = Sequence<T>.WithClasses(vectors, [2]);
        foreach (Sequence<T> s in new[] { Sequence<T>.WithClass(steps, 2), Sequence<T>.WithClass(array, 2), Sequence<T>.WithClasses(steps, [2]) })
        {
            (s.Length, s.InputSize, s.TargetSteps).Should().Be((3, 2, 1));
            s.Inputs.Should().Equal(reference.Inputs);
            s.Classes.Should().Equal(2);
        }

        Sequence<T> perStep = Sequence<T>.WithValues(steps, steps);
        perStep.Values.Should().Equal(Sequence<T>.WithValues(vectors, vectors).Values);
        Sequence<T>.WithValue(array, T.One, T.Zero).Values.Should().Equal(T.One, T.Zero);

        Sequence<T> series = Sequence<T>.WithValue(steps[0], T.CreateTruncating(7));
        (series.Length, series.InputSize, series.TargetSize).Should().Be((2, 1, 1));
        Sequence<T>.WithValues(steps[0], steps[1]).TargetSteps.Should().Be(2);
        Sequence<T>.WithClasses(steps[0], [0, 1]).Classes.Should().Equal(0, 1);

        // Read access: x_t and the targets.
        Sequence<T> read = Sequence<T>.WithValues(steps, steps);
        read.Input(2).ToArray().Should().Equal(steps[2]);
        read.Target(1).ToArray().Should().Equal(steps[1]);
        Sequence<T>.WithClass(steps, 2).TargetClass(0).Should().Be(2);
        ((Action)(() => read.Input(3))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => read.TargetClass(0))).Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Bad_arrays_are_refused_by_name_and_position()
    {
        T[][] ragged = [[T.One, T.One], [T.One]];
        ((Action)(() => Sequence<T>.WithClass(ragged, 0))).Should().Throw<ArgumentException>().WithParameterName("steps").WithMessage("steps[1] has 1 values but steps[0] has 2*");
        T[][] nan = [[T.One, T.NaN]];
        ((Action)(() => Sequence<T>.WithValue(nan, T.One))).Should().Throw<ArgumentException>().WithMessage("steps[0][1] is NaN*");
        ((Action)(() => Sequence<T>.WithClass(Array.Empty<T>(), 0))).Should().Throw<ArgumentException>().WithMessage("series is empty*");
        ((Action)(() => Sequence<T>.WithClass([T.One], -1))).Should().Throw<ArgumentException>().WithMessage("*class index must be ≥ 0*");
        ((Action)(() => Sequence<T>.WithValues([T.One, T.One], [T.One]))).Should().Throw<ArgumentException>().WithParameterName("values");

        T[][][] inputs = [[[T.One]], [[T.One], [T.One, T.One]]];
        ((Action)(() => SequenceDataset<T>.FromArrays(inputs, [0, 1]))).Should().Throw<ArgumentException>()
            .WithParameterName("inputs").WithMessage("inputs[1]: steps[1] has 2 values*");
        ((Action)(() => SequenceDataset<T>.FromArrays(inputs, [0]))).Should().Throw<ArgumentException>()
            .WithParameterName("classes").WithMessage("classes has 1 entries but inputs has 2 sequences*");
        ((Action)(() => SequenceDataset<T>.FromArrays([[[T.One]], [[T.One]]], [0, -1]))).Should().Throw<ArgumentOutOfRangeException>()
            .WithParameterName("classes").WithMessage("classes[1] is -1; classes count from 0, so each must be ≥ 0.*");
        ((Action)(() => SequenceDataset<T>.FromArrays(Array.Empty<T[][]>(), Array.Empty<int>()))).Should().Throw<ArgumentException>()
            .WithParameterName("inputs").WithMessage("inputs is empty; a dataset needs at least one sequence.*");
        ((Action)(() => SequenceDataset<T>.FromArrays([[[T.One]], [[T.One]]], [new[] { T.One }, [T.NaN]]))).Should().Throw<ArgumentException>()
            .WithParameterName("targets").WithMessage("targets[1]: target[0] is NaN*");
        ((Action)(() => SequenceDataset<T>.FromArrays([[[T.One]], [[T.One]]], [new[] { T.One }, []]))).Should().Throw<ArgumentException>()
            .WithParameterName("targets").WithMessage("targets[1]: *");
        ((Action)(() => SequenceDataset<T>.FromSeries([[T.One], [T.One]], [-1, 0]))).Should().Throw<ArgumentOutOfRangeException>()
            .WithParameterName("classes").WithMessage("classes[0] is -1*");
        ((Action)(() => SequenceDataset<T>.FromSeries(Array.Empty<T[]>(), Array.Empty<T>()))).Should().Throw<ArgumentException>()
            .WithParameterName("series").WithMessage("series is empty*");
        ((Action)(() => SequenceDataset<T>.FromSeries([[T.One], [T.NaN]], [T.One, T.One]))).Should().Throw<ArgumentException>()
            .WithParameterName("series").WithMessage("series[1]: series[0] is NaN*");
    }

    [Fact]
    public void Datasets_from_arrays_keep_order_lengths_and_targets()
    {
        T[][] series = [[T.One], [T.One, T.Zero, T.One], [T.Zero, T.Zero]];
        SequenceDataset<T> classes = SequenceDataset<T>.FromSeries(series, [1, 0, 1]);
        classes.Select(s => s.Length).Should().Equal(1, 3, 2);
        classes.Select(s => s.Classes![0]).Should().Equal(1, 0, 1);
        classes.InputSize.Should().Be(1);

        SequenceDataset<T> values = SequenceDataset<T>.FromSeries(series, [T.One, T.Zero, T.One]);
        values.TargetSize.Should().Be(1);
        SequenceDataset<T>.FromArrays([[[T.One, T.Zero]], [[T.Zero, T.One], [T.One, T.One]]], [new[] { T.One, T.Zero, T.One }, [T.Zero, T.Zero, T.Zero]])
            .TargetSize.Should().Be(3);
    }

    [Fact]
    public void Windows_hold_window_values_and_the_horizon_that_follows()
    {
        T[] series = Enumerable.Range(0, 10).Select(i => T.CreateTruncating(i)).ToArray();
        SequenceDataset<T> windows = SequenceDataset<T>.Windows(series, window: 3, horizon: 2, stride: 2);

        windows.Count.Should().Be(3, "⌊(10 − 3 − 2) / 2⌋ + 1");
        windows.Select(w => w.Inputs.Select(double.CreateTruncating)).Should().BeEquivalentTo(
            new[] { new double[] { 0, 1, 2 }, [2, 3, 4], [4, 5, 6] }, o => o.WithStrictOrdering());
        windows.Select(w => w.Values!.Select(double.CreateTruncating)).Should().BeEquivalentTo(
            new[] { new double[] { 3, 4 }, [5, 6], [7, 8] }, o => o.WithStrictOrdering());
        (windows.InputSize, windows.TargetSize, windows[0].TargetSteps).Should().Be((1, 2, 1));

        SequenceDataset<T>.Windows(series, 9).Count.Should().Be(1, "the one window of 9 with the last value as its target");
        ((Action)(() => SequenceDataset<T>.Windows(series, 9, horizon: 2))).Should().Throw<ArgumentException>()
            .WithParameterName("series").WithMessage("series has 10 values but one window needs window + horizon = 9 + 2 = 11*");
        ((Action)(() => SequenceDataset<T>.Windows(series, 0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("window");
    }

    [Fact]
    public void Multivariate_windows_forecast_one_feature_or_all()
    {
        // Row t = (t, 10 t).
        T[][] series = Enumerable.Range(0, 8).Select(t => new[] { T.CreateTruncating(t), T.CreateTruncating(10 * t) }).ToArray();
        SequenceDataset<T> one = SequenceDataset<T>.Windows(series, window: 3, horizon: 2, stride: 2, targetFeature: 1);
        one.Count.Should().Be(2, "⌊(8 − 3 − 2) / 2⌋ + 1");
        (one.InputSize, one.TargetSize).Should().Be((2, 2));
        one[1].Input(0).ToArray().Select(double.CreateTruncating).Should().Equal(2, 20);
        one[1].Target(0).ToArray().Select(double.CreateTruncating).Should().Equal(50, 60);

        SequenceDataset<T> all = SequenceDataset<T>.Windows(series, window: 3, horizon: 2);
        all.Count.Should().Be(4);
        all[0].Target(0).ToArray().Select(double.CreateTruncating).Should().Equal(3, 30, 4, 40);

        ((Action)(() => SequenceDataset<T>.Windows(series, 3, targetFeature: 2))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("targetFeature");
        T[][] ragged = [.. series[..4], [T.One]];
        ((Action)(() => SequenceDataset<T>.Windows(ragged, 3))).Should().Throw<ArgumentException>().WithParameterName("series").WithMessage("series: steps[4] has 1 values*");
    }

    [Fact]
    public void A_random_split_is_a_seeded_partition()
    {
        SequenceDataset<T> data = Numbered(10);
        (SequenceDataset<T> first, SequenceDataset<T> second) = data.Split(0.8, seed: 1);

        (first.Count, second.Count).Should().Be((8, 2));
        first.Concat(second).Select(Number).Should().BeEquivalentTo(Enumerable.Range(0, 10));
        data.Split(0.8, seed: 1).First.Select(Number).Should().Equal(first.Select(Number), "the same seed gives the same split");
        data.Split(0.8, seed: 2).First.Select(Number).Should().NotEqual(first.Select(Number));
        data.Shuffle(1).Select(Number).Take(8).Should().Equal(first.Select(Number), "a split takes the shuffled order");

        ((Action)(() => data.Split(1.0, seed: 1))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("fraction");
        ((Action)(() => data.Split(0.01, seed: 1))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*puts 0 in the first part*");
    }

    [Fact]
    public void A_chronological_split_keeps_order_and_leaves_the_gap_out()
    {
        SequenceDataset<T> data = Numbered(10);
        (SequenceDataset<T> first, SequenceDataset<T> second) = data.SplitChronologically(0.6, gap: 2);
        first.Select(Number).Should().Equal(0, 1, 2, 3, 4, 5);
        second.Select(Number).Should().Equal(8, 9);
        data.SplitChronologically(0.5).Second.Select(Number).Should().Equal(5, 6, 7, 8, 9);
        ((Action)(() => data.SplitChronologically(0.6, gap: 4))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("gap");

        data.Take(3).Select(Number).Should().Equal(0, 1, 2);
        data.Take(30).Count.Should().Be(10);
        data.Skip(7).Select(Number).Should().Equal(7, 8, 9);
        ((Action)(() => data.Skip(10))).Should().Throw<ArgumentOutOfRangeException>();
        data.Shuffle(3).Select(Number).Should().BeEquivalentTo(Enumerable.Range(0, 10)).And.NotEqual(Enumerable.Range(0, 10));
    }

    /// <summary>n one-step sequences whose input is their index.</summary>
    private static SequenceDataset<T> Numbered(int n) =>
        SequenceDataset<T>.FromSeries(Enumerable.Range(0, n).Select(i => new[] { T.CreateTruncating(i) }).ToArray(), Enumerable.Range(0, n).Select(_ => 0).ToArray());

    private static int Number(Sequence<T> sequence) => int.CreateTruncating(sequence.Inputs[0]);
}

public sealed class DataHelperTestsDouble : DataHelperTests<double>;

public sealed class DataHelperTestsSingle : DataHelperTests<float>;
