using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RnnCore.Samples.AddingProblem;

/// <summary>Runs the experiment and reports it: the gradient numbers, the table against the baseline, two pictures, summary.json.</summary>
public static class AddingReport
{
    public const string MseName = "adding-mse.png";
    public const string GradientsName = "adding-gradients.png";
    public const string SummaryName = "summary.json";

    public static int RunAndReport(AddingOptions options)
    {
        IReadOnlyList<ModelRecord> models = AddingExperiment.Run(options, Console.WriteLine);
        int steps = options.Steps;

        Console.WriteLine();
        Console.WriteLine(GradientTable("before training", models, m => m.DhNormsAtStart, steps));
        Console.WriteLine(GradientTable("after training", models, m => m.DhNormsAtEnd, steps));
        Console.WriteLine(ResultTable(models));

        Directory.CreateDirectory(options.OutputFolder);
        DrawMse(models, Path.Combine(options.OutputFolder, MseName));
        DrawGradients(models, steps, Path.Combine(options.OutputFolder, GradientsName));
        var summary = new
        {
            sample = "AddingProblem",
            steps,
            updates = options.Updates,
            baseline = AddingData.Baseline,
            models = models.Select(m => new
            {
                name = m.Name,
                mseFirst = m.TestMse[0].Mse,
                mseLast = m.FinalMse,
                dhNormRatioAtStart = Ratio(m.DhNormsAtStart),
                dhNormRatioAtEnd = Ratio(m.DhNormsAtEnd),
            }),
            pictures = new[] { MseName, GradientsName },
        };
        File.WriteAllText(Path.Combine(options.OutputFolder, SummaryName), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {MseName}, {GradientsName} and {SummaryName} to {Path.GetFullPath(options.OutputFolder)}");

        // For scripts (.ci/samples-smoke): each model's held-out MSE before its first and after its last update.
        foreach (ModelRecord m in models)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Key(m)} loss first={m.TestMse[0].Mse:F4} last={m.FinalMse:F4}"));
        }

        return 0;
    }

    /// <summary>‖dL/dh_0‖ / ‖dL/dh_{T−1}‖: how much of the gradient at the scored last step survives back to the first.</summary>
    public static double Ratio(IReadOnlyList<double> dhNorms) => dhNorms[0] / dhNorms[^1];

    /// <summary>
    /// "solved" below a tenth of the baseline; "beats the baseline" below 90 % of it; otherwise "no better than the
    /// baseline" (within a few per cent of 0.167 is only the mean answer, measured on 1000 sequences).
    /// </summary>
    public static string Verdict(double mse) =>
        mse < AddingData.Baseline / 10 ? "solved" : mse < 0.9 * AddingData.Baseline ? "beats the baseline" : "no better than the baseline";

    private static string Key(ModelRecord m) => m.Layer.HiddenActivation == HiddenActivation.Relu ? "irnn" : "tanh";

    private static string GradientTable(string when, IReadOnlyList<ModelRecord> models, Func<ModelRecord, IReadOnlyList<double>> norms, int steps)
    {
        int[] columns = new[] { steps - 1, (3 * steps) / 4, steps / 2, steps / 4, 0 }.Distinct().ToArray();
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"‖dL/dh_t‖ {when} (loss at the last step, t = {steps - 1}):");
        text.Append(CultureInfo.InvariantCulture, $"  {"model",-22}");
        foreach (int t in columns)
        {
            text.Append(CultureInfo.InvariantCulture, $"{"t = " + t,11}");
        }

        text.AppendLine("   h_0 / h_last");
        foreach (ModelRecord m in models)
        {
            IReadOnlyList<double> n = norms(m);
            text.Append(CultureInfo.InvariantCulture, $"  {m.Name,-22}");
            foreach (int t in columns)
            {
                text.Append(CultureInfo.InvariantCulture, $"{n[t],11:E2}");
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"   {Ratio(n):E2}");
        }

        return text.ToString();
    }

    private static string ResultTable(IReadOnlyList<ModelRecord> models)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"held-out mean squared error (baseline {AddingData.Baseline:F3}: always answer 1):");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"model",-22}{"at start",10}{"final",10}  verdict");
        foreach (ModelRecord m in models)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {m.Name,-22}{m.TestMse[0].Mse,10:F4}{m.FinalMse,10:F4}  {Verdict(m.FinalMse)}");
        }

        return text.ToString();
    }

    private static void DrawMse(IReadOnlyList<ModelRecord> models, string path)
    {
        Plots.Lines(
            path,
            "Adding problem: held-out mean squared error",
            "update",
            "mean squared error",
            models.Select((m, i) => new Series(m.Name, m.TestMse.Select(p => (double)p.Update).ToArray(), m.TestMse.Select(p => p.Mse).ToArray(), i)).ToArray(),
            [("baseline 0.167 (always answer 1)", AddingData.Baseline)],
            ScottPlot.Alignment.UpperRight,
            (0, 0.5));
    }

    private static void DrawGradients(IReadOnlyList<ModelRecord> models, int steps, string path)
    {
        double[] t = Enumerable.Range(0, steps).Select(i => (double)i).ToArray();
        static double[] Log10(IReadOnlyList<double> norms) => norms.Select(n => Math.Log10(Math.Max(n, 1e-30))).ToArray();
        var series = new List<Series>();
        for (int i = 0; i < models.Count; i++)
        {
            series.Add(new Series($"{models[i].Name}, before training", t, Log10(models[i].DhNormsAtStart), i, Dashed: true));
            series.Add(new Series($"{models[i].Name}, after training", t, Log10(models[i].DhNormsAtEnd), i));
        }

        Plots.Lines(
            path,
            "Adding problem: how far back the gradient reaches, log10 ‖dL/dh_t‖",
            $"step t (the loss is at the last step, t = {steps - 1})",
            "log10 ‖dL/dh_t‖",
            series,
            legend: ScottPlot.Alignment.LowerRight);
    }
}
