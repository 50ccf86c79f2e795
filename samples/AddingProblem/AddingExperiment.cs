using MathNet.Numerics.LinearAlgebra;
using RnnCore.Optimizers;

namespace RnnCore.Samples.AddingProblem;

/// <summary>One model's record at one T: held-out MSE over training, and ‖dL/dh_t‖ for every t before and after training.</summary>
public sealed class ModelRecord(AddingModel model, double learningRate, AddingLearner learner)
{
    public AddingModel Model { get; } = model;

    public string Name => Model.Name;

    /// <summary>A short name for scripts: tanh, irnn, lstm or gru.</summary>
    public string Key => Model.Key;

    /// <summary>Adam's step size this run used (the model's own, or --learning-rate).</summary>
    public double LearningRate { get; } = learningRate;

    /// <summary>How many updates this run gave the model (its own, or --updates).</summary>
    public int Updates { get; init; }

    public AddingLearner Learner { get; } = learner;

    public List<double> TrainingLosses { get; } = [];

    public List<(int Update, double Mse)> TestMse { get; } = [];

    public IReadOnlyList<double> DhNormsAtStart { get; set; } = [];

    public IReadOnlyList<double> DhNormsAtEnd { get; set; } = [];

    public double FinalMse => TestMse[^1].Mse;
}

/// <summary>Every model's record at one sequence length T, and how long they took together.</summary>
public sealed record AddingRun(int Steps, IReadOnlyList<ModelRecord> Models, double Seconds);

/// <summary>
/// The training loop: at each T the models see the same batches (each for its own number of updates), one forward pass
/// over all T steps, BPTT with the squared error at the last step only (LossReduction.Mean: the loss is the batch's mean
/// squared error), a clip and an Adam step each.
/// </summary>
public static class AddingExperiment
{
    /// <summary>Runs the experiment at each T of the options in turn, handing each finished run to <paramref name="finished"/> at once.</summary>
    public static IReadOnlyList<AddingRun> Run(AddingOptions options, Action<string> log, Action<AddingRun> finished)
    {
        var runs = new List<AddingRun>();
        foreach (int steps in options.Steps)
        {
            AddingRun run = RunAt(steps, options, log);
            finished(run);
            runs.Add(run);
        }

        return runs;
    }

    public static AddingRun RunAt(int steps, AddingOptions options, Action<string> log)
    {
        int h = options.HiddenSize, b = options.BatchSize, n = options.TestSize;
        ModelRecord[] models = AddingModels.Select(options.Models.ToArray())
            .Select(m => new ModelRecord(m, LearningRate(m, options), AddingModels.CreateLearner(m, h, options.Seed, steps, b, n, LearningRate(m, options)))
            {
                Updates = Updates(m, options),
            })
            .ToArray();
        int total = models.Max(m => m.Updates);

        Clipping clipping = options.Clip > 0 ? Clipping.ByGlobalNorm(options.Clip) : Clipping.None;
        (List<Matrix<float>> testInputs, SequenceTargets<float> testTargets) =
            AddingData.Batch(steps, options.TestSize, new SampleRandom(options.Seed + 1));
        var data = new SampleRandom(options.Seed + 2);

        log($"adding problem: T = {steps} steps, H = {h}, B = {b}, {string.Join(", ", models.Select(m => $"{m.Key} {m.Updates:N0}"))} updates, " +
            $"Adam, clip {options.Clip}; baseline MSE {AddingData.Baseline:F3} (always answering 1)");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (ModelRecord m in models)
        {
            m.TestMse.Add((0, m.Learner.TestMse(testInputs, testTargets)));
        }

        TrainingProgress.Run($"T = {steps}: training {models.Length} models for up to {total:N0} updates", total, progress =>
        {
            for (int update = 1; update <= total; update++)
            {
                // Every model sees the same batches, for as many updates as it is given.
                (List<Matrix<float>> inputs, SequenceTargets<float> targets) = AddingData.Batch(steps, b, data);
                foreach (ModelRecord m in models.Where(m => update <= m.Updates))
                {
                    m.TrainingLosses.Add(m.Learner.Update(inputs, targets, clipping));
                    if (update == 1)
                    {
                        m.DhNormsAtStart = m.Learner.DhNorms; // the first update's backward pass: the untrained model
                    }

                    if (update % options.EvaluateEvery == 0 || update == m.Updates)
                    {
                        m.TestMse.Add((update, m.Learner.TestMse(testInputs, testTargets)));
                    }
                }

                progress.Report(update, string.Join("  ", models.Select(m => $"{m.Key} {m.TestMse[^1].Mse:F4}")));
            }
        });

        // The gradient each model sends back through time after training, on one more batch (no update).
        (List<Matrix<float>> lastInputs, SequenceTargets<float> lastTargets) = AddingData.Batch(steps, b, data);
        foreach (ModelRecord m in models)
        {
            m.Learner.MeasureGradients(lastInputs, lastTargets);
            m.DhNormsAtEnd = m.Learner.DhNorms;
        }

        return new AddingRun(steps, models, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The model's own number of updates, unless --updates sets one for every model.</summary>
    public static int Updates(AddingModel model, AddingOptions options) => options.Updates ?? model.Updates;

    /// <summary>The model's own learning rate, unless --learning-rate sets one for every model.</summary>
    public static double LearningRate(AddingModel model, AddingOptions options) => options.LearningRate ?? model.LearningRate;
}
