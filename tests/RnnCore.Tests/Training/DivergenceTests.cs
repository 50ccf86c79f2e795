using System.Numerics;
using RnnCore.Initialization;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.TestUtilities;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>A NaN or infinity stops training where it first appears and restores the last good parameters.</summary>
public abstract class DivergenceTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Fact]
    public void An_exploding_learning_rate_stops_training_with_the_last_good_parameters_restored()
    {
        var random = new Random(1);
        SequenceDataset<T> data = TrainingData.Values<T>(random, 2, 2, Enumerable.Repeat(6, 24).ToList());
        var layer = new RecurrentLayer<T>(2, 6, 2, HiddenActivation.Relu, OutputActivation.Identity, seed: 2);
        const int BatchesPerEpoch = 6;

        // S[n] = the parameters after n batches (S[0] the initial ones).
        var snapshots = new List<T[][]> { RandomProblems.Snapshot(layer) };
        var trainer = new Trainer<T>(layer, new SgdOptimizer<T>(1e6), new TrainerOptions
        {
            Epochs = 50, BatchSize = 4, Callbacks = [new DelegateCallback(onBatch: _ => snapshots.Add(RandomProblems.Snapshot(layer)))],
        });

        TrainingDivergedException diverged = ((Action)(() => trainer.Fit(data))).Should().Throw<TrainingDivergedException>().Which;

        diverged.Epoch.Should().BeGreaterThan(0);
        diverged.Batch.Should().BeInRange(1, BatchesPerEpoch);
        diverged.Quantity.Should().NotBeNullOrEmpty();
        diverged.Message.Should().Contain($"at epoch {diverged.Epoch}, batch {diverged.Batch}").And.Contain(diverged.Quantity);
        int n = ((diverged.Epoch - 1) * BatchesPerEpoch) + diverged.Batch;

        // Batch n failed. If its update produced non-finite parameters, the last good ones are those it started from
        // (S[n−1]); if its forward pass, loss or gradients failed, they were computed at S[n−1], so the last good
        // parameters are those batch n−1 started from (S[n−2]).
        int good = diverged.Quantity.StartsWith("parameter", StringComparison.Ordinal) ? n - 1 : Math.Max(n - 2, 0);
        RandomProblems.ShouldBeUnchanged(layer, snapshots[good]);
        for (int p = 0; p < 5; p++)
        {
            layer.Parameters[p].ToArray().Select(double.CreateTruncating).Should().OnlyContain(v => double.IsFinite(v));
        }

        diverged.History.Epochs.Should().HaveCount(diverged.Epoch - 1);
    }

    [Fact]
    public void The_exception_names_the_epoch_batch_step_and_quantity_where_it_first_appeared()
    {
        // W_h = s·I with s = 2√max: h_1 ≈ 1, h_2 ≈ 2√max, and a_3 = s·h_2 ≈ 4·max overflows at step 2 (0-based).
        var layer = new RecurrentLayer<T>(1, 2, 2, HiddenActivation.Relu, OutputActivation.Identity, seed: 1);
        double s = 2 * Math.Sqrt(typeof(T) == typeof(float) ? float.MaxValue : double.MaxValue);
        new LayerInitialization { Wx = Initializer.Uniform(0.9, 1), Wh = Initializer.Identity(s), Bh = Initializer.Zeros }.Apply(layer, 1);
        T[][] before = RandomProblems.Snapshot(layer);
        var data = new SequenceDataset<T>([Sequence<T>.WithValues(
            Enumerable.Repeat(MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(1, T.CreateTruncating(1.0)), 5).ToList(),
            Enumerable.Repeat(MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(2), 5).ToList())]);
        var trainer = new Trainer<T>(layer, new SgdOptimizer<T>(0.1), new TrainerOptions { Epochs = 1 });

        TrainingDivergedException diverged = ((Action)(() => trainer.Fit(data))).Should().Throw<TrainingDivergedException>().Which;

        (diverged.Epoch, diverged.Batch, diverged.Step, diverged.Quantity, diverged.DuringValidation).Should().Be((1, 1, 2, "pre-activation a_t", false));
        diverged.InnerException.Should().BeOfType<NonFiniteValueException>();
        diverged.Message.Should().StartWith("Training diverged: pre-activation a_t became NaN or infinite at epoch 1, batch 1, step 2.");
        RandomProblems.ShouldBeUnchanged(layer, before);
    }
}

public sealed class DivergenceTestsDouble : DivergenceTests<double>;

public sealed class DivergenceTestsSingle : DivergenceTests<float>;
