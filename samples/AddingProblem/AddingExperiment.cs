using MathNet.Numerics.LinearAlgebra;
using RnnCore.Optimizers;

namespace RnnCore.Samples.AddingProblem;

/// <summary>One model's record: held-out MSE over training, and ‖dL/dh_t‖ for every t before and after training.</summary>
public sealed class ModelRecord(string name, RecurrentLayer<float> layer)
{
    public string Name { get; } = name;

    public RecurrentLayer<float> Layer { get; } = layer;

    public List<double> TrainingLosses { get; } = [];

    public List<(int Update, double Mse)> TestMse { get; } = [];

    public IReadOnlyList<double> DhNormsAtStart { get; set; } = [];

    public IReadOnlyList<double> DhNormsAtEnd { get; set; } = [];

    public double FinalMse => TestMse[^1].Mse;
}

/// <summary>
/// The training loop: both models see the same batches, one forward pass over all T steps, BPTT with the squared error
/// at the last step only (LossReduction.Mean: the loss is the batch's mean squared error), a clip and an Adam step each.
/// </summary>
public static class AddingExperiment
{
    public static IReadOnlyList<ModelRecord> Run(AddingOptions options, Action<string> log)
    {
        int steps = options.Steps;
        ModelRecord[] models =
        [
            new("tanh, default init", AddingModels.Tanh(options.HiddenSize, options.Seed)),
            new("IRNN (ReLU, W_h = I)", AddingModels.Irnn(options.HiddenSize, options.Seed)),
        ];

        var trainers = models.Select(m => new
        {
            Record = m,
            Bptt = new Bptt<float>(m.Layer, LossPlacement.LastStep, LossReduction.Mean),
            Optimizer = new AdamOptimizer<float>(options.LearningRate),
            Cache = m.Layer.CreateCache(steps, options.BatchSize),
            Gradients = m.Layer.CreateGradients(steps, options.BatchSize),
            TestCache = m.Layer.CreateCache(steps, options.TestSize),
        }).ToArray();

        Clipping clipping = options.Clip > 0 ? Clipping.ByGlobalNorm(options.Clip) : Clipping.None;
        (List<Matrix<float>> testInputs, SequenceTargets<float> testTargets) =
            AddingData.Batch(steps, options.TestSize, new SampleRandom(options.Seed + 1));
        var data = new SampleRandom(options.Seed + 2);

        log($"adding problem: T = {steps} steps, H = {options.HiddenSize}, B = {options.BatchSize}, {options.Updates:N0} updates per model, " +
            $"Adam lr {options.LearningRate}, clip {options.Clip}; baseline MSE {AddingData.Baseline:F3} (always answering 1)");

        void Evaluate(int update)
        {
            foreach (var trainer in trainers)
            {
                trainer.Record.Layer.Forward(testInputs, trainer.TestCache);
                trainer.Record.TestMse.Add((update, trainer.Bptt.Loss(trainer.TestCache, testTargets)));
            }
        }

        Evaluate(0);
        TrainingProgress.Run($"training both models for {options.Updates:N0} updates", options.Updates, progress =>
        {
            for (int update = 1; update <= options.Updates; update++)
            {
                (List<Matrix<float>> inputs, SequenceTargets<float> targets) = AddingData.Batch(steps, options.BatchSize, data);
                foreach (var trainer in trainers)
                {
                    trainer.Record.Layer.Forward(inputs, trainer.Cache);
                    float loss = trainer.Bptt.Backward(trainer.Cache, targets, trainer.Gradients);
                    if (update == 1)
                    {
                        trainer.Record.DhNormsAtStart = trainer.Gradients.DhNorms.ToArray();
                    }

                    clipping.Apply(trainer.Gradients.ParameterGradients);
                    trainer.Optimizer.Step(trainer.Record.Layer, trainer.Gradients);
                    trainer.Record.TrainingLosses.Add(loss);
                }

                if (update % options.EvaluateEvery == 0 || update == options.Updates)
                {
                    Evaluate(update);
                }

                progress.Report(update, string.Join("   ", models.Select(m => $"{m.Name}: MSE {m.TestMse[^1].Mse:F4}")));
            }
        });

        // The gradient each model sends back through time after training, on one more batch (no update).
        (List<Matrix<float>> lastInputs, SequenceTargets<float> lastTargets) = AddingData.Batch(steps, options.BatchSize, data);
        foreach (var trainer in trainers)
        {
            trainer.Record.Layer.Forward(lastInputs, trainer.Cache);
            trainer.Bptt.Backward(trainer.Cache, lastTargets, trainer.Gradients);
            trainer.Record.DhNormsAtEnd = trainer.Gradients.DhNorms.ToArray();
        }

        return models;
    }
}
