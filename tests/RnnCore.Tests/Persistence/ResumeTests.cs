using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Internal;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// A run stopped anywhere (between epochs or in the middle of one) and resumed from its checkpoint file, into fresh
/// objects, ends with parameters bit-identical to a run that never stopped: for every optimizer with its
/// state-carrying options on, with the data shuffled every epoch by a seeded generator whose state the checkpoint holds.
/// </summary>
/// <remarks>
/// The training loop is a plain one (the Trainer comes later): per epoch, shuffle the sequences with xoshiro256**, then
/// one forward, BPTT, clip and optimizer step per batch. Its checkpoint convention: the position names the next batch
/// to run, and the random state is the generator's state at the start of that batch's epoch (so that the epoch's
/// order can be drawn again).
/// </remarks>
public abstract class ResumeTests<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int InputSize = 3, HiddenSize = 6, OutputSize = 4, Steps = 5, Sequences = 8, BatchSize = 2, Epochs = 5;
    private const int BatchesPerEpoch = Sequences / BatchSize;

    private readonly string _directory = Directory.CreateTempSubdirectory("rnncore-resume-").FullName;
    private readonly List<Matrix<T>> _data; // one I x Sequences matrix per step
    private readonly int[][] _classes;      // [step][sequence]

    protected ResumeTests()
    {
        var random = new Random(17);
        _data = RandomProblems.Inputs<T>(random, InputSize, Steps, Sequences);
        _classes = Enumerable.Range(0, Steps).Select(_ => Enumerable.Range(0, Sequences).Select(_ => random.Next(OutputSize)).ToArray()).ToArray();
    }

    public static TheoryData<string, int, int> StopPoints
    {
        get
        {
            var data = new TheoryData<string, int, int>();
            foreach (string name in ModelFileTests<T>.OptimizerNames)
            {
                data.Add(name, 2, 0); // after epoch 2
                data.Add(name, 3, 1); // in the middle of epoch 3
            }

            return data;
        }
    }

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        GC.SuppressFinalize(this);
    }

    [Theory]
    [MemberData(nameof(StopPoints))]
    public void A_resumed_run_ends_bit_identical_to_an_uninterrupted_one(string optimizerName, int stopEpoch, int stopBatch)
    {
        var uninterrupted = new RecurrentLayer<T>(InputSize, HiddenSize, OutputSize, seed: 5);
        Train(uninterrupted, ModelFileTests<T>.CreateOptimizer(optimizerName), Start(), stopAt: null);

        // The interrupted run: stop, save to a file, and drop every object.
        string path = Path.Combine(_directory, "run.rnncore");
        {
            var layer = new RecurrentLayer<T>(InputSize, HiddenSize, OutputSize, seed: 5);
            Train(layer, ModelFileTests<T>.CreateOptimizer(optimizerName), Start(), stopAt: (stopEpoch, stopBatch, path));
        }

        // Resume into fresh objects, from the file alone.
        Checkpoint<T> checkpoint = ModelFile.LoadCheckpoint<T>(path);
        checkpoint.Position!.Epoch.Should().Be(stopEpoch);
        checkpoint.Position.Batch.Should().Be(stopBatch);
        OptimizerBase<T> optimizer = ModelFileTests<T>.CreateOptimizer(optimizerName);
        checkpoint.RestoreOptimizer(optimizer);
        optimizer.StepCount.Should().Be((stopEpoch * BatchesPerEpoch) + stopBatch);
        Train((RecurrentLayer<T>)checkpoint.Model, optimizer, checkpoint.Position, stopAt: null);

        for (int i = 0; i < uninterrupted.Parameters.Count; i++)
        {
            checkpoint.Model.Parameters[i].ToArray().Should().Equal(
                uninterrupted.Parameters[i].ToArray(), $"{uninterrupted.Parameters.GetName(i)} must be bit-identical");
        }

        // And training did move the parameters, so the comparison is not vacuous.
        uninterrupted.Parameters[0].ToArray().Should().NotEqual(RandomProblems.Snapshot(new RecurrentLayer<T>(InputSize, HiddenSize, OutputSize, seed: 5))[0]);
    }

    private static TrainingPosition Start() => new(0, 0, new SeededRandom(2024).GetState());

    /// <summary>Trains from <paramref name="start"/> to the end, or until <paramref name="stopAt"/>, where it saves a checkpoint and returns.</summary>
    private void Train(RecurrentLayer<T> layer, OptimizerBase<T> optimizer, TrainingPosition start, (int Epoch, int Batch, string Path)? stopAt)
    {
        var bptt = new Bptt<T>(layer, LossPlacement.EveryStep, LossReduction.Mean);
        Clipping clipping = Clipping.ByGlobalNorm(1.0);
        IReadOnlyList<ulong> s = start.RandomState;
        var random = new SeededRandom(s[0], s[1], s[2], s[3]);
        for (long epoch = start.Epoch; epoch < Epochs; epoch++)
        {
            ulong[] epochState = random.GetState();
            int[] order = Shuffle(random);
            for (long batch = epoch == start.Epoch ? start.Batch : 0; batch < BatchesPerEpoch; batch++)
            {
                if (stopAt is { } stop && stop.Epoch == epoch && stop.Batch == batch)
                {
                    ModelFile.Save(layer, stop.Path, optimizer, new TrainingPosition(epoch, batch, epochState));
                    return;
                }

                int[] members = order.Skip((int)batch * BatchSize).Take(BatchSize).ToArray();
                List<Matrix<T>> inputs = _data.Select(step => Matrix<T>.Build.Dense(InputSize, BatchSize, (k, b) => step[k, members[b]])).ToList();
                SequenceTargets<T> targets = SequenceTargets<T>.FromClasses(_classes.Select(step => members.Select(m => step[m]).ToArray()).ToArray());
                RecurrentGradients<T> gradients = bptt.Backward(layer.Forward(inputs), targets);
                clipping.Apply(gradients.ParameterGradients);
                optimizer.Step(layer, gradients);
            }
        }
    }

    /// <summary>Fisher–Yates with the seeded generator.</summary>
    private static int[] Shuffle(SeededRandom random)
    {
        int[] order = Enumerable.Range(0, Sequences).ToArray();
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)(random.NextUInt64() % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }
}

public sealed class ResumeTestsDouble : ResumeTests<double>;

public sealed class ResumeTestsSingle : ResumeTests<float>;
