using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Internal;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;
using RnnCore.Tests.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// A run stopped anywhere and resumed from its checkpoint file alone ends bit-identical to a run that never stopped: a
/// hand-written training loop over the vanilla layer, an LSTM, a GRU and a stacked bidirectional LSTM with dropout,
/// stopped between epochs or in the middle of one, saved and resumed into fresh objects, for every optimizer with its
/// state-carrying options on. The data are shuffled every epoch by a seeded generator, and the dropout masks come from
/// the model's own generator; the file holds both states.
/// </summary>
public abstract class ModelResumeTests<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int InputSize = 3, HiddenSize = 4, OutputSize = 3, Steps = 5, Sequences = 8, BatchSize = 2, Epochs = 4;
    private const int BatchesPerEpoch = Sequences / BatchSize;

    private readonly string _directory = Directory.CreateTempSubdirectory("rnncore-model-resume-").FullName;
    private readonly List<Matrix<T>> _data; // one I x Sequences matrix per step
    private readonly int[][] _classes;      // [step][sequence]

    protected ModelResumeTests()
    {
        var random = new Random(23);
        _data = RandomProblems.Inputs<T>(random, InputSize, Steps, Sequences);
        _classes = Enumerable.Range(0, Steps).Select(_ => Enumerable.Range(0, Sequences).Select(_ => random.Next(OutputSize)).ToArray()).ToArray();
    }

    public static TheoryData<string, string, int, int> StopPoints
    {
        get
        {
            var data = new TheoryData<string, string, int, int>();
            foreach (string model in new[] { "layer", "lstm", "gru", "stacked-bidirectional" })
            {
                foreach (string optimizer in ModelFileTests<T>.OptimizerNames)
                {
                    data.Add(model, optimizer, 2, 0); // after epoch 2
                    data.Add(model, optimizer, 1, 3); // in the middle of epoch 1
                }
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
    public void A_resumed_run_ends_bit_identical_to_an_uninterrupted_one(string modelName, string optimizerName, int stopEpoch, int stopBatch)
    {
        RecurrentModel<T> uninterrupted = Create(modelName);
        Train(uninterrupted, ModelFileTests<T>.CreateOptimizer(optimizerName), Start(), stopAt: null);

        // The interrupted run: stop, save to a file, and drop every object.
        string path = Path.Combine(_directory, "run.rnncore");
        Train(Create(modelName), ModelFileTests<T>.CreateOptimizer(optimizerName), Start(), stopAt: (stopEpoch, stopBatch, path));

        // Resume into fresh objects, from the file alone.
        Checkpoint<T> checkpoint = ModelFile.LoadCheckpoint<T>(path);
        checkpoint.Position!.Epoch.Should().Be(stopEpoch);
        checkpoint.Position.Batch.Should().Be(stopBatch);
        // A layer's file records seed 0 (its seed drew its initial weights only, and readers of format 2 refuse another).
        checkpoint.Model.Options.Should().Be(uninterrupted is RecurrentLayer<T> ? uninterrupted.Options with { Seed = 0 } : uninterrupted.Options);
        checkpoint.Model.GetType().Should().Be(uninterrupted.GetType(), "a layer's file loads as a layer");
        OptimizerBase<T> optimizer = ModelFileTests<T>.CreateOptimizer(optimizerName);
        checkpoint.RestoreOptimizer(optimizer);
        optimizer.StepCount.Should().Be((stopEpoch * BatchesPerEpoch) + stopBatch);
        Train(checkpoint.Model, optimizer, checkpoint.Position, stopAt: null);

        for (int i = 0; i < uninterrupted.Parameters.Count; i++)
        {
            checkpoint.Model.Parameters[i].ToArray().Should().Equal(
                uninterrupted.Parameters[i].ToArray(), $"{uninterrupted.Parameters.GetName(i)} must be bit-identical");
        }

        if (uninterrupted is not RecurrentLayer<T>)
        {
            // A layer has no dropout, and its file no generator state.
            checkpoint.Model.RandomState.Should().Equal(uninterrupted.RandomState, "both runs drew the same dropout masks");
        }

        // And training did move the parameters, so the comparison is not vacuous.
        uninterrupted.Parameters[0].ToArray().Should().NotEqual(Create(modelName).Parameters[0].ToArray());
    }

    [Fact]
    public void Without_the_saved_generator_state_a_dropout_run_would_differ()
    {
        // The control for the test above: resuming the stacked model with a fresh generator (its seed's state) gives
        // other masks and other parameters, so the bit-identity above depends on the state the file carries.
        RecurrentModelOptions options = Options("stacked-bidirectional");
        var uninterrupted = new RecurrentModel<T>(options);
        Train(uninterrupted, ModelFileTests<T>.CreateOptimizer("adam"), Start(), stopAt: null);
        string path = Path.Combine(_directory, "control.rnncore");
        Train(new RecurrentModel<T>(options), ModelFileTests<T>.CreateOptimizer("adam"), Start(), stopAt: (1, 3, path));

        Checkpoint<T> checkpoint = ModelFile.LoadCheckpoint<T>(path);
        checkpoint.Model.RandomState = new SeededRandom(options.Seed).GetState();
        OptimizerBase<T> optimizer = ModelFileTests<T>.CreateOptimizer("adam");
        checkpoint.RestoreOptimizer(optimizer);
        Train(checkpoint.Model, optimizer, checkpoint.Position!, stopAt: null);
        checkpoint.Model.Parameters[0].ToArray().Should().NotEqual(uninterrupted.Parameters[0].ToArray());
    }

    private static RecurrentModel<T> Create(string name) => name == "layer"
        ? new RecurrentLayer<T>(InputSize, HiddenSize, OutputSize, seed: 5)
        : new RecurrentModel<T>(Options(name));

    private static RecurrentModelOptions Options(string name) => name switch
    {
        "lstm" => ModelProblems.Options(RecurrentCellKind.Lstm, 1, false, OutputActivation.Softmax, InputSize, HiddenSize, OutputSize, seed: 5),
        "gru" => ModelProblems.Options(RecurrentCellKind.Gru, 1, false, OutputActivation.Softmax, InputSize, HiddenSize, OutputSize, seed: 5),
        _ => ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, InputSize, HiddenSize, OutputSize, dropout: 0.3, seed: 5),
    };

    private static TrainingPosition Start() => new(0, 0, new SeededRandom(2024).GetState());

    /// <summary>Trains from <paramref name="start"/> to the end, or until <paramref name="stopAt"/>, where it saves a checkpoint and returns.</summary>
    private void Train(RecurrentModel<T> model, OptimizerBase<T> optimizer, TrainingPosition start, (int Epoch, int Batch, string Path)? stopAt)
    {
        var bptt = new Bptt<T>(model, LossPlacement.EveryStep, LossReduction.Mean);
        ForwardCache<T> cache = model.CreateCache(Steps, BatchSize);
        RecurrentGradients<T> gradients = model.CreateGradients(Steps, BatchSize);
        Clipping clipping = Clipping.ByGlobalNorm(1.0);
        var random = SeededRandom.FromState(start.RandomState);
        for (long epoch = start.Epoch; epoch < Epochs; epoch++)
        {
            ulong[] epochState = random.GetState();
            int[] order = Shuffle(random);
            for (long batch = epoch == start.Epoch ? start.Batch : 0; batch < BatchesPerEpoch; batch++)
            {
                if (stopAt is { } stop && stop.Epoch == epoch && stop.Batch == batch)
                {
                    ModelFile.Save(model, stop.Path, optimizer, new TrainingPosition(epoch, batch, epochState));
                    return;
                }

                int[] members = order.Skip((int)batch * BatchSize).Take(BatchSize).ToArray();
                List<Matrix<T>> inputs = _data.Select(step => Matrix<T>.Build.Dense(InputSize, BatchSize, (k, b) => step[k, members[b]])).ToList();
                SequenceTargets<T> targets = SequenceTargets<T>.FromClasses(_classes.Select(step => members.Select(m => step[m]).ToArray()).ToArray());
                model.Forward(inputs, cache, training: true);
                bptt.Backward(cache, targets, gradients);
                clipping.Apply(gradients.ParameterGradients);
                optimizer.Step(model.Parameters, gradients.ParameterGradients);
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

public sealed class ModelResumeTestsDouble : ModelResumeTests<double>;

public sealed class ModelResumeTestsSingle : ModelResumeTests<float>;
