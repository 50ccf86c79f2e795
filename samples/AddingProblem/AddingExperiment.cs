using MathNet.Numerics.LinearAlgebra;
using RnnCore.Optimizers;

namespace RnnCore.Samples.AddingProblem;

/// <summary>One model's record at one T: held-out MSE over training, and ‖dL/dh_t‖ for every t before and after training.</summary>
public sealed class ModelRecord(string name, string key, AddingLearner learner)
{
    public string Name { get; } = name;

    /// <summary>A short name for scripts: tanh, irnn, lstm or gru.</summary>
    public string Key { get; } = key;

    public AddingLearner Learner { get; } = learner;

    public List<double> TrainingLosses { get; } = [];

    public List<(int Update, double Mse)> TestMse { get; } = [];

    public IReadOnlyList<double> DhNormsAtStart { get; set; } = [];

    public IReadOnlyList<double> DhNormsAtEnd { get; set; } = [];

    public double FinalMse => TestMse[^1].Mse;
}

/// <summary>Every model's record at one sequence length T, and how long the four took together.</summary>
public sealed record AddingRun(int Steps, IReadOnlyList<ModelRecord> Models, double Seconds);

/// <summary>
/// The training loop: at each T the four models see the same batches, one forward pass over all T steps, BPTT with the
/// squared error at the last step only (LossReduction.Mean: the loss is the batch's mean squared error), a clip and an
/// Adam step each.
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
        double lr = options.LearningRate;
        ModelRecord[] models =
        [
            new("tanh, default init", "tanh", AddingLearner.ForLayer(AddingModels.Tanh(h, options.Seed), steps, b, n, lr)),
            new("IRNN (ReLU, W_h = I)", "irnn", AddingLearner.ForLayer(AddingModels.Irnn(h, options.Seed), steps, b, n, lr)),
            new("LSTM", "lstm", AddingLearner.ForModel(AddingModels.Gated(RecurrentCellKind.Lstm, h, options.Seed), steps, b, n, lr)),
            new("GRU", "gru", AddingLearner.ForModel(AddingModels.Gated(RecurrentCellKind.Gru, h, options.Seed), steps, b, n, lr)),
        ];

        Clipping clipping = options.Clip > 0 ? Clipping.ByGlobalNorm(options.Clip) : Clipping.None;
        (List<Matrix<float>> testInputs, SequenceTargets<float> testTargets) =
            AddingData.Batch(steps, options.TestSize, new SampleRandom(options.Seed + 1));
        var data = new SampleRandom(options.Seed + 2);

        log($"adding problem: T = {steps} steps, H = {h}, B = {b}, {options.Updates:N0} updates per model, " +
            $"Adam lr {lr}, clip {options.Clip}; baseline MSE {AddingData.Baseline:F3} (always answering 1)");

        void Evaluate(int update)
        {
            foreach (ModelRecord m in models)
            {
                m.TestMse.Add((update, m.Learner.TestMse(testInputs, testTargets)));
            }
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        Evaluate(0);
        TrainingProgress.Run($"T = {steps}: training the four models for {options.Updates:N0} updates", options.Updates, progress =>
        {
            for (int update = 1; update <= options.Updates; update++)
            {
                (List<Matrix<float>> inputs, SequenceTargets<float> targets) = AddingData.Batch(steps, b, data);
                foreach (ModelRecord m in models)
                {
                    m.TrainingLosses.Add(m.Learner.Update(inputs, targets, clipping));
                    if (update == 1)
                    {
                        m.DhNormsAtStart = m.Learner.DhNorms; // the first update's backward pass: the untrained model
                    }
                }

                if (update % options.EvaluateEvery == 0 || update == options.Updates)
                {
                    Evaluate(update);
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
}
