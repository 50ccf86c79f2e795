using System.Globalization;
using System.Text;

namespace RnnCore.Training;

/// <summary>
/// A ready-made progress reporter for <see cref="Trainer{T}.Fit"/>: one line per epoch (and optionally one every few
/// batches), written synchronously, in order, on the training thread.
/// </summary>
/// <remarks>
/// <para>
/// Why not <see cref="Progress{T}"/>: it posts every report to the <see cref="SynchronizationContext"/> it was created
/// on, and in a console application (no context) that is the thread pool, so reports run later, concurrently, and out
/// of order: lines of epoch 3 can print after those of epoch 4, or after <c>Fit</c> has returned. This reporter writes
/// inside <see cref="Report"/>, before training continues.
/// </para>
/// <para>
/// A line looks like <c>epoch 3/20  loss 0.41230  val_loss 0.39810  val_accuracy 0.9120  lr 0.01  0.3 s</c>, with
/// <c>val_mae</c>, <c>val_rmse</c> and every metric of <see cref="TrainerOptions.Metrics"/> when measured, and the
/// gradient-health verdict when it is not Healthy (or clipping saturated). Numbers use the invariant culture.
/// </para>
/// </remarks>
public sealed class ConsoleProgress : IProgress<TrainingProgress>
{
    private readonly TextWriter _writer;
    private readonly int _everyBatches;
    private readonly Lock _lock = new();

    /// <summary>Creates a reporter.</summary>
    /// <param name="writer">Where to write; <see cref="Console.Out"/> when null.</param>
    /// <param name="everyBatches">Also write a line every this many batches; 0 (default) for epoch lines only.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="everyBatches"/> is negative.</exception>
    public ConsoleProgress(TextWriter? writer = null, int everyBatches = 0)
    {
        if (everyBatches < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(everyBatches), everyBatches, $"everyBatches must be non-negative (0 for epoch lines only), but was {everyBatches}.");
        }

        _writer = writer ?? Console.Out;
        _everyBatches = everyBatches;
    }

    /// <summary>Writes the line for <paramref name="value"/>, if it is an epoch end or a batch line is due.</summary>
    /// <param name="value">The report.</param>
    public void Report(TrainingProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string? line = value.IsEpochEnd ? EpochLine(value)
            : _everyBatches > 0 && value.Batch % _everyBatches == 0 ? BatchLine(value)
            : null;
        if (line is not null)
        {
            lock (_lock)
            {
                _writer.WriteLine(line);
            }
        }
    }

    /// <summary>The line written at the end of an epoch.</summary>
    /// <param name="value">An epoch-end report.</param>
    /// <returns>The line, without a newline.</returns>
    public static string EpochLine(TrainingProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        CultureInfo c = CultureInfo.InvariantCulture;
        var line = new StringBuilder();
        int width = value.Epochs.ToString(c).Length;
        line.Append(c, $"epoch {value.Epoch.ToString(c).PadLeft(width)}/{value.Epochs}  loss {value.EpochLoss:G5}");
        EpochRecord? record = value.EpochRecord;
        if (record?.Validation is EvaluationResult validation)
        {
            line.Append(c, $"  val_loss {validation.Loss:G5}");
            Append(line, "val_accuracy", validation.Accuracy);
            Append(line, "val_mae", validation.MeanAbsoluteError);
            Append(line, "val_rmse", validation.RootMeanSquaredError);
            foreach ((string name, double metric) in validation.Metrics)
            {
                Append(line, "val_" + name, metric);
            }
        }

        line.Append(c, $"  lr {value.LearningRate:G4}");
        if (record is not null)
        {
            line.Append(c, $"  {record.Elapsed.TotalSeconds:F1} s");
        }

        if (value.Health is GradientHealth health && (health.Verdict != GradientVerdict.Healthy || health.ClippingSaturated))
        {
            line.Append(c, $"  [{health.Verdict}{(health.ClippingSaturated ? ", clipping saturated" : "")}]");
        }

        return line.ToString();
    }

    private static string BatchLine(TrainingProgress value) => string.Create(
        CultureInfo.InvariantCulture,
        $"  epoch {value.Epoch} batch {value.Batch}/{value.BatchesPerEpoch}  loss {value.BatchLoss:G5}  {value.ExamplesPerSecond:F0} sequences/s  about {value.EstimatedRemaining:hh\\:mm\\:ss} left");

    private static void Append(StringBuilder line, string name, double? value)
    {
        if (value is double v)
        {
            line.Append(CultureInfo.InvariantCulture, $"  {name} {v:G5}");
        }
    }
}
