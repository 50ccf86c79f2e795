using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>Seeded datasets for the trainer tests, and a synchronous progress sink.</summary>
internal static class TrainingData
{
    /// <summary>
    /// The adding problem (Hochreiter and Schmidhuber 1997; Le et al. 2015): at each of T steps the input is
    /// (value ~ U(0, 1), marker); exactly two steps are marked, one in each half, and the target is the sum of their
    /// values. Always answering 1 (the mean) scores the variance of the sum, 2/12 ≈ 0.167.
    /// </summary>
    public static SequenceDataset<T> Adding<T>(int count, int steps, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        var sequences = new List<Sequence<T>>();
        for (int n = 0; n < count; n++)
        {
            int first = random.Next(steps / 2);
            int second = (steps / 2) + random.Next(steps - (steps / 2));
            double sum = 0;
            var inputs = new List<MathNet.Numerics.LinearAlgebra.Vector<T>>();
            for (int t = 0; t < steps; t++)
            {
                double value = random.NextDouble();
                bool marked = t == first || t == second;
                sum += marked ? value : 0;
                inputs.Add(MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense([T.CreateTruncating(value), marked ? T.One : T.Zero]));
            }

            sequences.Add(Sequence<T>.WithValues(inputs, [MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense([T.CreateTruncating(sum)])]));
        }

        return new SequenceDataset<T>(sequences);
    }

    /// <summary>Random class sequences of the given lengths: one-hot-free random inputs, a class per step.</summary>
    public static SequenceDataset<T> Classes<T>(Random random, int inputSize, int classes, IReadOnlyList<int> lengths, bool perStep = true)
        where T : unmanaged, IFloatingPointIeee754<T>
        => new(lengths.Select(length => Sequence<T>.WithClasses(
            Enumerable.Range(0, length).Select(_ => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(inputSize, _ => T.CreateTruncating((2 * random.NextDouble()) - 1))).ToList(),
            Enumerable.Range(0, perStep ? length : 1).Select(_ => random.Next(classes)).ToList())));

    /// <summary>Random value sequences of the given lengths, a target per step.</summary>
    public static SequenceDataset<T> Values<T>(Random random, int inputSize, int outputSize, IReadOnlyList<int> lengths)
        where T : unmanaged, IFloatingPointIeee754<T>
        => new(lengths.Select(length => Sequence<T>.WithValues(
            Enumerable.Range(0, length).Select(_ => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(inputSize, _ => T.CreateTruncating((2 * random.NextDouble()) - 1))).ToList(),
            Enumerable.Range(0, length).Select(_ => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(outputSize, _ => T.CreateTruncating((2 * random.NextDouble()) - 1))).ToList())));

    /// <summary>Sequence s's inputs as the I x 1 matrices of a batch of one.</summary>
    public static List<Matrix<T>> InputsOf<T>(Sequence<T> sequence)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Enumerable.Range(0, sequence.Length)
            .Select(t => Matrix<T>.Build.Dense(sequence.InputSize, 1, sequence.Inputs.AsSpan(t * sequence.InputSize, sequence.InputSize).ToArray()))
            .ToList();

    /// <summary>Sequence s's targets as SequenceTargets of a batch of one.</summary>
    public static SequenceTargets<T> TargetsOf<T>(Sequence<T> sequence)
        where T : unmanaged, IFloatingPointIeee754<T>
        => sequence.IsClasses
            ? SequenceTargets<T>.FromClasses(sequence.Classes!.Select(c => new[] { c }).ToArray())
            : SequenceTargets<T>.FromValues(Enumerable.Range(0, sequence.TargetSteps)
                .Select(t => Matrix<T>.Build.Dense(sequence.TargetSize, 1, sequence.Values.AsSpan(t * sequence.TargetSize, sequence.TargetSize).ToArray())).ToList());
}

/// <summary>An <see cref="IProgress{T}"/> that runs the handler on the reporting thread (Progress&lt;T&gt; would post to the thread pool).</summary>
internal sealed class SyncProgress<TReport>(Action<TReport> handler) : IProgress<TReport>
{
    public void Report(TReport value) => handler(value);
}

/// <summary>A callback built from delegates.</summary>
internal sealed class DelegateCallback(Action<TrainingProgress>? onBatch = null, Func<EpochRecord, TrainingDecision>? onEpoch = null) : ITrainingCallback
{
    public void OnBatchEnd(TrainingProgress progress) => onBatch?.Invoke(progress);

    public TrainingDecision OnEpochEnd(EpochRecord record) => onEpoch?.Invoke(record) ?? TrainingDecision.Continue;
}
