using System.Numerics;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>The console reporter writes its lines during Fit, in order, one per epoch (and per N batches when asked).</summary>
public abstract class ConsoleProgressTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Fact]
    public void One_line_per_epoch_in_order_with_the_validation_figures()
    {
        var writer = new StringWriter();
        var random = new Random(3);
        var trainer = new Trainer<T>(new RecurrentLayer<T>(2, 4, 3, seed: 1), new SgdOptimizer<T>(0.1), new TrainerOptions
        {
            Epochs = 3, BatchSize = 2, Metrics = [Metric.Mean("first", MetricGoal.Maximize, (y, _) => y[0])],
            Callbacks = [new DelegateCallback(onEpoch: r => { writer.WriteLine($"callback {r.Epoch}"); return TrainingDecision.Continue; })],
        });

        History history = trainer.Fit(TrainingData.Classes<T>(random, 2, 3, [4, 5, 3]), TrainingData.Classes<T>(random, 2, 3, [2, 3]), new ConsoleProgress(writer));

        string[] lines = writer.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(6);
        for (int epoch = 1; epoch <= 3; epoch++)
        {
            EpochRecord record = history.Epochs[epoch - 1];
            string line = lines[2 * (epoch - 1)];
            line.Should().StartWith($"epoch {epoch}/3  loss {record.TrainingLoss.ToString("G5", System.Globalization.CultureInfo.InvariantCulture)}");
            line.Should().Contain($"val_loss {record.ValidationLoss!.Value.ToString("G5", System.Globalization.CultureInfo.InvariantCulture)}")
                .And.Contain("val_accuracy ").And.Contain("val_first ").And.Contain("  lr 0.1");
            lines[(2 * (epoch - 1)) + 1].Should().Be($"callback {epoch}", "the epoch's line is written before training goes on");
        }
    }

    [Fact]
    public void Batch_lines_every_n_batches()
    {
        var writer = new StringWriter();
        var random = new Random(3);
        var trainer = new Trainer<T>(new RecurrentLayer<T>(2, 4, 3, seed: 1), new SgdOptimizer<T>(0.1), new TrainerOptions { Epochs = 2, BatchSize = 1 });
        trainer.Fit(TrainingData.Classes<T>(random, 2, 3, [4, 5, 3, 2]), progress: new ConsoleProgress(writer, everyBatches: 2));

        string[] lines = writer.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        lines.Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(l.StartsWith("epoch", StringComparison.Ordinal) ? 3 : 4))).Should().Equal(
            "epoch 1 batch 2/4", "epoch 1 batch 4/4", "epoch 1/2 loss", "epoch 2 batch 2/4", "epoch 2 batch 4/4", "epoch 2/2 loss");
        ((Action)(() => _ = new ConsoleProgress(writer, -1))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("everyBatches");
    }
}

public sealed class ConsoleProgressTestsDouble : ConsoleProgressTests<double>;

public sealed class ConsoleProgressTestsSingle : ConsoleProgressTests<float>;
