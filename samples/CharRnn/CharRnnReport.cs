using System.Globalization;
using System.Text.Json;

namespace RnnCore.Samples.CharRnn;

/// <summary>Runs the training and writes what it leaves behind: the two pictures, summary.json and the closing lines.</summary>
public static class CharRnnReport
{
    public const string LossCurveName = "loss-curve.png";
    public const string GradientHealthName = "gradient-health.png";
    public const string SummaryName = "summary.json";

    public static int TrainAndReport(CharRnnOptions options)
    {
        TextCorpus corpus = TextCorpus.Load(options.TextPath);
        CharRnnResult result = CharRnnTraining.Run(options, corpus, Console.WriteLine);

        string folder = options.OutputFolder;
        DrawLossCurve(result, Path.Combine(folder, LossCurveName));
        DrawGradientHealth(result, options.SequenceLength, Path.Combine(folder, GradientHealthName));

        (double first, double last) = FirstAndLast(result.Losses);
        var summary = new
        {
            sample = "CharRnn",
            updates = result.Losses.Count,
            seconds = Math.Round(result.Seconds, 1),
            charactersPerSecond = Math.Round(result.CharactersPerSecond),
            cell = options.Cell,
            layers = options.Layers,
            dropout = options.Dropout,
            lossFirst = first,
            lossLast = last,
            validationLossFirst = result.Validation[0].ValidationLoss,
            validationLossLast = result.Validation[^1].ValidationLoss,
            epochs = result.Validation.Skip(1).Select(p => new { update = p.Update, epoch = Math.Round(p.Epoch, 3), trainLoss = p.TrainLoss, validationLoss = p.ValidationLoss }),
            checkpoint = CharRnnTraining.CheckpointName,
            pictures = new[] { LossCurveName, GradientHealthName },
        };
        File.WriteAllText(Path.Combine(folder, SummaryName), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));

        Console.WriteLine("--- generated at the end:");
        Console.WriteLine(result.FinalSample.TrimEnd());
        Console.WriteLine("---");
        Console.WriteLine($"{result.Losses.Count:N0} updates in {result.Seconds:F1} s ({result.CharactersPerSecond:N0} characters/s); " +
            $"wrote {LossCurveName}, {GradientHealthName}, {CharRnnTraining.CheckpointName}, {SummaryName} to {Path.GetFullPath(folder)}");

        // The closing lines are for scripts (.ci/samples-smoke), in nats/char: the validation loss before training and
        // at the end, then the training loss of the first and the last updates.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"validation loss first={result.Validation[0].ValidationLoss:F4} last={result.Validation[^1].ValidationLoss:F4}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loss first={first:F4} last={last:F4}"));
        return 0;
    }

    /// <summary>Mean loss of the first and of the last (up to) 10 updates of the run.</summary>
    public static (double First, double Last) FirstAndLast(IReadOnlyList<double> losses)
    {
        int count = Math.Clamp(losses.Count / 2, 1, 10);
        return (losses.Take(count).Average(), losses.Skip(losses.Count - count).Average());
    }

    private static void DrawLossCurve(CharRnnResult result, string path)
    {
        double[] updates = Enumerable.Range(result.FirstUpdate + 1, result.Losses.Count).Select(u => (double)u).ToArray();
        // A trailing mean over about a twentieth of the run (at most 50 updates): one chunk's loss is noisy.
        int window = Math.Clamp(result.Losses.Count / 20, 1, 50);
        var smoothed = new double[result.Losses.Count];
        double sum = 0;
        for (int i = 0; i < smoothed.Length; i++)
        {
            sum += result.Losses[i] - (i >= window ? result.Losses[i - window] : 0);
            smoothed[i] = sum / Math.Min(i + 1, window);
        }

        Plots.Lines(
            path,
            "CharRnn: training and validation loss (cross-entropy per character)",
            "update (one chunk of B streams x T characters)",
            "loss (nats per character)",
            [
                new Series("loss of each update", updates, result.Losses),
                new Series($"mean of the last {window}", updates, smoothed),
                new Series("validation (held-out tail)", result.Validation.Select(p => (double)p.Update).ToArray(), result.Validation.Select(p => p.ValidationLoss).ToArray()),
            ],
            [("uniform guess ln(V)", Math.Log(result.VocabularySize))],
            ScottPlot.Alignment.LowerLeft);
    }

    private static void DrawGradientHealth(CharRnnResult result, int steps, string path)
    {
        (double[,] grid, double first, double last) = result.DhNorms.ToGrid();
        Plots.Heatmap(
            path,
            "CharRnn: gradient health, log10 ‖dL/dh_t‖ per step t (mean over each tenth of an epoch)",
            "step t within the chunk (0 = oldest; the loss is scored at every step)",
            "epoch",
            "log10 ‖dL/dh_t‖",
            grid,
            (0, steps - 1),
            (first, last));
    }
}
