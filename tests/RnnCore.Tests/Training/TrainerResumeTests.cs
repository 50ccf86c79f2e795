using System.Numerics;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;
using RnnCore.Tests.TestUtilities;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>
/// The trainer's own checkpoints: a run stopped after an epoch (by a callback or a cancellation) and resumed from its
/// checkpoint file, into fresh objects, ends bit-identical to a run that never stopped; what it writes is a checkpoint
/// <see cref="ModelFile.LoadCheckpoint{T}(string)"/> reads; a checkpoint that does not suit the trainer is refused and
/// changes nothing.
/// </summary>
/// <remarks>
/// Every piece that Resume restores is needed for the comparison to pass: the resumed layer starts from other weights
/// (parameters), the optimizers keep momentum or Adam moments (optimizer state), the schedules change the rate by epoch
/// and the run must not repeat epochs (epoch), and the batches are shuffled (generator state).
/// </remarks>
public abstract class TrainerResumeTests<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Epochs = 5, StopAfter = 2;

    private readonly string _directory = Directory.CreateTempSubdirectory("rnncore-trainer-resume-").FullName;
    private readonly SequenceDataset<T> _training;
    private readonly SequenceDataset<T> _validation;

    protected TrainerResumeTests()
    {
        var random = new Random(23);

        // Mixed lengths (padded batches) and 10 sequences in batches of 3 (a smaller last batch).
        _training = TrainingData.Classes<T>(random, 3, 4, [5, 3, 4, 5, 2, 5, 4, 3, 5, 1]);
        _validation = TrainingData.Classes<T>(random, 3, 4, [4, 5, 2, 3]);
    }

    public static TheoryData<string> Setups => ["adam-step", "momentum-cosine", "stateful-momentum-step"];

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        GC.SuppressFinalize(this);
    }

    [Theory]
    [MemberData(nameof(Setups))]
    public void A_run_resumed_from_its_checkpoint_ends_bit_identical_to_an_uninterrupted_one(string setup)
    {
        (RecurrentLayer<T> expected, History full) = Uninterrupted(setup);

        // The interrupted run: a callback stops it after epoch 2, whose checkpoint is then on disk.
        string path = CheckpointPath();
        var stop = new DelegateCallback(onEpoch: r => r.Epoch == StopAfter ? TrainingDecision.Stop : TrainingDecision.Continue);
        new Trainer<T>(NewLayer(), NewOptimizer(setup), Options(setup, path, stop)).Fit(_training, _validation)
            .Epochs.Should().HaveCount(StopAfter);

        // Resume into fresh objects, from the file alone; the layer starts from other weights so that they must be restored.
        var layer = new RecurrentLayer<T>(3, 6, 4, seed: 99);
        History resumed = new Trainer<T>(layer, NewOptimizer(setup), Options(setup, path)).Resume(path, _training, _validation);

        ShouldBeBitIdentical(layer, expected);
        resumed.Epochs.Select(e => e.Epoch).Should().Equal(3, 4, 5);
        resumed.Epochs.Select(e => e.LearningRate).Should().Equal(full.Epochs.Skip(StopAfter).Select(e => e.LearningRate));
        resumed.Epochs.Select(e => e.TrainingLoss).Should().Equal(full.Epochs.Skip(StopAfter).Select(e => e.TrainingLoss));
        resumed.Epochs.Select(e => e.ValidationLoss).Should().Equal(full.Epochs.Skip(StopAfter).Select(e => e.ValidationLoss));
        full.Epochs.Select(e => e.LearningRate).Distinct().Should().HaveCountGreaterThan(2, "the schedule must move the rate, or the epoch would not matter");
    }

    [Fact]
    public void A_cancelled_run_resumed_from_its_last_checkpoint_reaches_the_same_end()
    {
        (RecurrentLayer<T> expected, _) = Uninterrupted("adam-step");

        // Cancelled at batch 2 of epoch 3: that epoch's first batch is applied, but the file still holds epoch 2.
        string path = CheckpointPath();
        using var cancellation = new CancellationTokenSource();
        var cancel = new DelegateCallback(onBatch: p =>
        {
            if (p.Epoch == StopAfter + 1 && p.Batch == 1)
            {
                cancellation.Cancel();
            }
        });
        var interrupted = new Trainer<T>(NewLayer(), NewOptimizer("adam-step"), Options("adam-step", path, cancel));
        ((Action)(() => interrupted.Fit(_training, _validation, null, cancellation.Token))).Should().Throw<OperationCanceledException>();
        ModelFile.LoadCheckpoint<T>(path).Position!.Epoch.Should().Be(StopAfter);

        var layer = new RecurrentLayer<T>(3, 6, 4, seed: 99);
        new Trainer<T>(layer, NewOptimizer("adam-step"), Options("adam-step", path)).Resume(path, _training, _validation);

        ShouldBeBitIdentical(layer, expected);
    }

    [Fact]
    public void Every_epoch_writes_a_checkpoint_that_LoadCheckpoint_reads_with_its_epoch()
    {
        string path = CheckpointPath();
        RecurrentLayer<T> layer = NewLayer();
        OptimizerBase<T> optimizer = NewOptimizer("adam-step");
        var seen = new List<long>();
        var check = new DelegateCallback(onEpoch: record =>
        {
            // Saved before the epoch's callbacks: the file holds this very epoch.
            Checkpoint<T> checkpoint = ModelFile.LoadCheckpoint<T>(path);
            seen.Add(checkpoint.Position!.Epoch);
            checkpoint.Position.Batch.Should().Be(0);
            checkpoint.Position.RandomState.Should().HaveCount(4);
            checkpoint.OptimizerState!.OptimizerName.Should().Be("AdamOptimizer");
            checkpoint.OptimizerState.StepCount.Should().Be(optimizer.StepCount);
            ShouldBeBitIdentical((RecurrentLayer<T>)checkpoint.Model, layer);
            return TrainingDecision.Continue;
        });

        new Trainer<T>(layer, optimizer, Options("adam-step", path, check)).Fit(_training, _validation);

        seen.Should().Equal(1, 2, 3, 4, 5);

        // Resuming from the last epoch's checkpoint has nothing left to train, but still restores the parameters.
        var fresh = new RecurrentLayer<T>(3, 6, 4, seed: 99);
        new Trainer<T>(fresh, NewOptimizer("adam-step"), Options("adam-step", null)).Resume(path, _training).Epochs.Should().BeEmpty();
        ShouldBeBitIdentical(fresh, layer);
    }

    [Fact]
    public void A_checkpoint_that_does_not_suit_the_trainer_is_refused_and_changes_nothing()
    {
        string path = CheckpointPath();
        var first = new DelegateCallback(onEpoch: _ => TrainingDecision.Stop);
        new Trainer<T>(NewLayer(), NewOptimizer("adam-step"), Options("adam-step", path, first)).Fit(_training);

        // A trainer part-way through its own run, so that its optimizer has state to lose.
        RecurrentLayer<T> layer = NewLayer();
        var momentum = new SgdOptimizer<T>(0.1, momentum: 0.9);
        var trainer = new Trainer<T>(layer, momentum, new TrainerOptions { Epochs = 1, BatchSize = 3 });
        trainer.Fit(_training);
        T[][] parameters = RandomProblems.Snapshot(layer);
        OptimizerState<T> state = momentum.CaptureState();

        ((Action)(() => trainer.Resume(path, _training))).Should().Throw<ArgumentException>()
            .WithParameterName("checkpointPath").WithMessage("*AdamOptimizer*SgdOptimizer*");
        ShouldBeUnchanged(layer, parameters, momentum, state);

        // Another shape: the same run with H = 5.
        string other = CheckpointPath("other");
        new Trainer<T>(new RecurrentLayer<T>(3, 5, 4, seed: 5), new SgdOptimizer<T>(0.1, momentum: 0.9), new TrainerOptions { Epochs = 1, CheckpointPath = other })
            .Fit(_training);
        ((Action)(() => trainer.Resume(other, _training))).Should().Throw<ArgumentException>()
            .WithParameterName("checkpointPath").WithMessage("*H=5*H=6*");
        ShouldBeUnchanged(layer, parameters, momentum, state);

        // The same kind with other options (SGD without momentum keeps no buffer).
        string plain = CheckpointPath("plain");
        new Trainer<T>(NewLayer(), new SgdOptimizer<T>(0.1), new TrainerOptions { Epochs = 1, CheckpointPath = plain }).Fit(_training);
        ((Action)(() => trainer.Resume(plain, _training))).Should().Throw<ArgumentException>()
            .WithParameterName("checkpointPath").WithMessage("*buffers per tensor*");
        ShouldBeUnchanged(layer, parameters, momentum, state);

        // Files a trainer does not write: a plain model, and a position inside an epoch.
        string model = CheckpointPath("model");
        ModelFile.Save(NewLayer(), model);
        ((Action)(() => trainer.Resume(model, _training))).Should().Throw<ArgumentException>().WithParameterName("checkpointPath").WithMessage("*no training position*");
        ((Action)(() => trainer.Resume(ModelFile.LoadCheckpoint<T>(model), _training))).Should().Throw<ArgumentException>().WithParameterName("checkpoint");
        string inside = CheckpointPath("inside");
        ModelFile.Save(NewLayer(), inside, momentum, new TrainingPosition(0, 2, [1UL, 2UL, 3UL, 4UL]));
        ((Action)(() => trainer.Resume(inside, _training))).Should().Throw<ArgumentException>().WithMessage("*batch 2 of epoch 0*");
        ShouldBeUnchanged(layer, parameters, momentum, state);
    }

    [Fact]
    public void Checkpoint_options_that_cannot_work_are_refused_up_front()
    {
        ((Action)(() => _ = new Trainer<T>(NewLayer(), new OpaqueOptimizer(), new TrainerOptions { CheckpointPath = CheckpointPath() })))
            .Should().Throw<ArgumentException>().WithParameterName("optimizer").WithMessage("*OpaqueOptimizer*");
        ((Action)(() => _ = new Trainer<T>(NewLayer(), new SgdOptimizer<T>(0.1), new TrainerOptions { CheckpointPath = " " })))
            .Should().Throw<ArgumentException>().WithParameterName("CheckpointPath");
    }

    public static TheoryData<string, string> ModelSetups
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string model in new[] { "lstm", "gru", "stacked-bidirectional", "projected" })
            {
                foreach (string setup in new[] { "adam-step", "stateful-momentum-step" })
                {
                    data.Add(model, setup);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(ModelSetups))]
    public void A_model_run_resumed_from_its_checkpoint_ends_bit_identical_to_an_uninterrupted_one(string model, string setup)
    {
        RecurrentModel<T> expected = NewModel(model);
        History full = new Trainer<T>(expected, NewOptimizer(setup), Options(setup, null)).Fit(_training, _validation);
        full.Epochs.Should().HaveCount(Epochs);

        string path = CheckpointPath(model);
        var stop = new DelegateCallback(onEpoch: r => r.Epoch == StopAfter ? TrainingDecision.Stop : TrainingDecision.Continue);
        new Trainer<T>(NewModel(model), NewOptimizer(setup), Options(setup, path, stop)).Fit(_training, _validation)
            .Epochs.Should().HaveCount(StopAfter);

        // Fresh objects, other weights and another dropout generator (seed 99): the file alone must restore them.
        string epoch2 = CheckpointPath(model + "-epoch2");
        File.Copy(path, epoch2); // the resumed run goes on writing to path
        RecurrentModel<T> resumedModel = NewModel(model, seed: 99);
        History resumed = new Trainer<T>(resumedModel, NewOptimizer(setup), Options(setup, path)).Resume(path, _training, _validation);

        ShouldBeBitIdentical(resumedModel, expected);
        resumed.Epochs.Select(e => e.Epoch).Should().Equal(3, 4, 5);
        resumed.Epochs.Select(e => e.TrainingLoss).Should().Equal(full.Epochs.Skip(StopAfter).Select(e => e.TrainingLoss));
        resumed.Epochs.Select(e => e.ValidationLoss).Should().Equal(full.Epochs.Skip(StopAfter).Select(e => e.ValidationLoss));

        // Control (the model with dropout): the same resume with the dropout generator not restored (the checkpoint's
        // replaced by a fresh one) ends elsewhere, so the generator state is part of what makes the run bit-identical.
        if (expected.Options.Dropout == 0)
        {
            return;
        }

        Checkpoint<T> checkpoint = ModelFile.LoadCheckpoint<T>(epoch2);
        checkpoint.Model.RandomState = NewModel(model, seed: 99).RandomState;
        RecurrentModel<T> control = NewModel(model);
        new Trainer<T>(control, NewOptimizer(setup), Options(setup, null)).Resume(checkpoint, _training, _validation);
        control.Parameters[0].ToArray().Should().NotEqual(expected.Parameters[0].ToArray());
    }

    [Fact]
    public void A_model_checkpoint_that_does_not_suit_the_trainer_is_refused_and_changes_nothing()
    {
        string path = CheckpointPath("gru");
        new Trainer<T>(NewModel("gru"), NewOptimizer("adam-step"), Options("adam-step", path)).Fit(_training);
        RecurrentModel<T> lstm = NewModel("lstm");
        T[][] before = Enumerable.Range(0, lstm.Parameters.Count).Select(i => lstm.Parameters[i].ToArray()).ToArray();

        ((Action)(() => new Trainer<T>(lstm, NewOptimizer("adam-step"), Options("adam-step", null)).Resume(path, _training)))
            .Should().Throw<ArgumentException>().WithParameterName("checkpointPath").WithMessage("*Gru*Lstm*");
        for (int i = 0; i < before.Length; i++)
        {
            lstm.Parameters[i].ToArray().Should().Equal(before[i]);
        }

        ((Action)(() => new Trainer<T>(NewLayer(), NewOptimizer("adam-step"), Options("adam-step", null)).Resume(ModelFile.LoadCheckpoint<T>(path), _training)))
            .Should().Throw<ArgumentException>().WithParameterName("checkpoint").WithMessage("checkpoint holds a model (Gru cell*but the trainer's layer is (Vanilla cell*");
    }

    private static RecurrentModel<T> NewModel(string kind, int seed = 5) => new(new RecurrentModelOptions(3, 5, 4)
    {
        Cell = kind == "gru" ? RecurrentCellKind.Gru : RecurrentCellKind.Lstm,
        Layers = kind is "stacked-bidirectional" or "projected" ? 2 : 1,
        Bidirectional = kind is "stacked-bidirectional" or "projected",
        Dropout = kind is "stacked-bidirectional" or "projected" ? 0.3 : 0,
        ProjectionSize = kind == "projected" ? 3 : null, // the LSTM with projections: h of P = 3, c of H = 5
        Seed = seed,
    });

    private static void ShouldBeBitIdentical(RecurrentModel<T> actual, RecurrentModel<T> expected)
    {
        for (int i = 0; i < expected.Parameters.Count; i++)
        {
            actual.Parameters[i].ToArray().Should().Equal(expected.Parameters[i].ToArray(), $"{expected.Parameters.GetName(i)} must be bit-identical");
        }
    }

    private static void ShouldBeBitIdentical(RecurrentLayer<T> actual, RecurrentLayer<T> expected)
    {
        for (int i = 0; i < expected.Parameters.Count; i++)
        {
            actual.Parameters[i].ToArray().Should().Equal(expected.Parameters[i].ToArray(), $"{expected.Parameters.GetName(i)} must be bit-identical");
        }
    }

    private static void ShouldBeUnchanged(RecurrentLayer<T> layer, T[][] parameters, OptimizerBase<T> optimizer, OptimizerState<T> state)
    {
        RandomProblems.ShouldBeUnchanged(layer, parameters);
        OptimizerState<T> now = optimizer.CaptureState();
        now.StepCount.Should().Be(state.StepCount);
        now.LearningRate.Should().Be(state.LearningRate);
        for (int i = 0; i < state.TensorLengths.Count; i++)
        {
            now.Buffer(i, 0).ToArray().Should().Equal(state.Buffer(i, 0).ToArray());
        }
    }

    private static RecurrentLayer<T> NewLayer() => new(3, 6, 4, seed: 5);

    private static OptimizerBase<T> NewOptimizer(string setup) =>
        setup.StartsWith("adam", StringComparison.Ordinal) ? new AdamOptimizer<T>(0.02) : new SgdOptimizer<T>(0.1, momentum: 0.9);

    private static TrainerOptions Options(string setup, string? checkpointPath, params ITrainingCallback[] callbacks)
    {
        bool stateful = setup.StartsWith("stateful", StringComparison.Ordinal);
        return new TrainerOptions
        {
            Epochs = Epochs,
            BatchSize = 3,
            Seed = 11,
            Shuffle = !stateful,
            Stateful = stateful,
            Clipping = Clipping.ByGlobalNorm(1),
            LearningRateSchedule = setup.EndsWith("cosine", StringComparison.Ordinal)
                ? LearningRateSchedule.Cosine(4, 1e-3)
                : LearningRateSchedule.Step(1, 0.7),
            CheckpointPath = checkpointPath,
            Callbacks = callbacks,
        };
    }

    private (RecurrentLayer<T> Layer, History History) Uninterrupted(string setup)
    {
        RecurrentLayer<T> layer = NewLayer();
        History history = new Trainer<T>(layer, NewOptimizer(setup), Options(setup, null)).Fit(_training, _validation);
        history.Epochs.Should().HaveCount(Epochs);
        return (layer, history);
    }

    private string CheckpointPath(string name = "run") => Path.Combine(_directory, name + ModelFile.Extension);

    /// <summary>An optimizer from outside RnnCore, whose state a checkpoint cannot hold.</summary>
    private sealed class OpaqueOptimizer : IOptimizer<T>
    {
        public double LearningRate { get; set; } = 0.1;

        public long StepCount => 0;

        public void Step(TensorSet<T> parameters, TensorSet<T> gradients)
        {
        }

        public void Reset()
        {
        }
    }
}

public sealed class TrainerResumeTestsDouble : TrainerResumeTests<double>;

public sealed class TrainerResumeTestsSingle : TrainerResumeTests<float>;
