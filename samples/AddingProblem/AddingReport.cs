using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RnnCore.Samples.AddingProblem;

/// <summary>Runs the experiment at each T and reports it: the gradient numbers, the table against the baseline, two pictures per T, summary.json.</summary>
public static class AddingReport
{
    public const string SummaryName = "summary.json";

    /// <summary>The held-out error picture of the experiment at T steps.</summary>
    public static string MseName(int steps) => $"adding-mse-t{steps}.png";

    /// <summary>The ‖dL/dh_t‖ picture of the experiment at T steps.</summary>
    public static string GradientsName(int steps) => $"adding-gradients-t{steps}.png";

    public static int RunAndReport(AddingOptions options)
    {
        Directory.CreateDirectory(options.OutputFolder);
        Console.WriteLine(Settings(options));
        IReadOnlyList<AddingRun> runs = AddingExperiment.Run(options, Console.WriteLine, run =>
        {
            // Each T's tables and pictures as soon as its models are trained (T = 200 takes twice as long).
            Console.WriteLine();
            Console.WriteLine(GradientTable("before training", run.Models, m => m.DhNormsAtStart, run.Steps));
            Console.WriteLine(GradientTable("after training", run.Models, m => m.DhNormsAtEnd, run.Steps));
            Console.WriteLine(ResultTable(run));
            DrawMse(run, Path.Combine(options.OutputFolder, MseName(run.Steps)));
            DrawGradients(run, Path.Combine(options.OutputFolder, GradientsName(run.Steps)));
        });

        var summary = new
        {
            sample = "AddingProblem",
            hiddenSize = options.HiddenSize,
            batchSize = options.BatchSize,
            baseline = AddingData.Baseline,
            runs = runs.Select(run => new
            {
                steps = run.Steps,
                seconds = Math.Round(run.Seconds, 1),
                models = run.Models.Select(m => new
                {
                    name = m.Name,
                    key = m.Key,
                    initialization = m.Model.Initialization,
                    learningRate = m.LearningRate,
                    updates = m.Updates,
                    mseFirst = m.TestMse[0].Mse,
                    mseLast = m.FinalMse,
                    verdict = Verdict(m.FinalMse),
                    dhNormRatioAtStart = Ratio(m.DhNormsAtStart),
                    dhNormRatioAtEnd = Ratio(m.DhNormsAtEnd),
                }),
                pictures = new[] { MseName(run.Steps), GradientsName(run.Steps) },
            }),
        };
        File.WriteAllText(Path.Combine(options.OutputFolder, SummaryName), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {string.Join(", ", runs.SelectMany(r => new[] { MseName(r.Steps), GradientsName(r.Steps) }))} and {SummaryName} to {Path.GetFullPath(options.OutputFolder)}");

        // For scripts (.ci/samples-smoke): each model's held-out MSE before its first and after its last update, per T.
        foreach (AddingRun run in runs)
        {
            foreach (ModelRecord m in run.Models)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"T={run.Steps} {m.Key} loss first={m.TestMse[0].Mse:F4} last={m.FinalMse:F4}"));
            }
        }

        return 0;
    }

    /// <summary>
    /// Each model's initialization and learning rate, and why they differ from the library's defaults (PyTorch's
    /// initialization, Adam lr 0.001) where they do.
    /// </summary>
    public static string Settings(AddingOptions options)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"models (H = {options.HiddenSize}, B = {options.BatchSize}, Adam, clip {options.Clip}; the library's defaults: PyTorch's initialization, lr 0.001):");
        foreach (AddingModel m in AddingModels.Select(options.Models.ToArray()))
        {
            double lr = AddingExperiment.LearningRate(m, options);
            int updates = AddingExperiment.Updates(m, options);
            text.AppendLine(CultureInfo.InvariantCulture, $"  {m.Name}: {m.Initialization}; Adam lr {lr}; {updates:N0} updates");
            if (m.InitializationReason is not null)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    why this initialization: {m.InitializationReason}");
            }

            if (options.LearningRate is null && m.LearningRateReason is not null)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    why lr {lr}: {m.LearningRateReason}");
            }

            if (options.Updates is null && m.UpdatesReason is not null)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    why {updates:N0} updates: {m.UpdatesReason}");
            }
        }

        return text.ToString();
    }

    /// <summary>‖dL/dh_0‖ / ‖dL/dh_{T−1}‖: how much of the gradient at the scored last step survives back to the first.</summary>
    public static double Ratio(IReadOnlyList<double> dhNorms) => dhNorms[0] / dhNorms[^1];

    /// <summary>
    /// "solved" below a tenth of the baseline; "beats the baseline" below 90 % of it; otherwise "no better than the
    /// baseline" (within a few per cent of 0.167 is only the mean answer, measured on 1000 sequences).
    /// </summary>
    public static string Verdict(double mse) =>
        mse < AddingData.Baseline / 10 ? "solved" : mse < 0.9 * AddingData.Baseline ? "beats the baseline" : "no better than the baseline";

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

    private static string ResultTable(AddingRun run)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"T = {run.Steps}: held-out mean squared error (baseline {AddingData.Baseline:F3}: always answer 1), {run.Seconds:F0} s for the {run.Models.Count} models:");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"model",-22}{"updates",9}{"at start",10}{"final",10}  verdict");
        foreach (ModelRecord m in run.Models)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {m.Name,-22}{m.Updates,9:N0}{m.TestMse[0].Mse,10:F4}{m.FinalMse,10:F4}  {Verdict(m.FinalMse)}");
        }

        return text.ToString();
    }

    private static void DrawMse(AddingRun run, string path)
    {
        IReadOnlyList<ModelRecord> models = run.Models;
        Plots.Lines(
            path,
            $"Adding problem, T = {run.Steps}: held-out mean squared error",
            "update",
            "mean squared error",
            models.Select((m, i) => new Series(m.Name, m.TestMse.Select(p => (double)p.Update).ToArray(), m.TestMse.Select(p => p.Mse).ToArray(), i)).ToArray(),
            [("baseline 0.167 (always answer 1)", AddingData.Baseline)],
            ScottPlot.Alignment.UpperRight,
            (0, 0.5));
    }

    private static void DrawGradients(AddingRun run, string path)
    {
        IReadOnlyList<ModelRecord> models = run.Models;
        int steps = run.Steps;
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
            $"Adding problem, T = {steps}: how far back the gradient reaches, log10 ‖dL/dh_t‖",
            $"step t (the loss is at the last step, t = {steps - 1})",
            "log10 ‖dL/dh_t‖",
            series,
            legend: ScottPlot.Alignment.LowerRight);
    }
}
