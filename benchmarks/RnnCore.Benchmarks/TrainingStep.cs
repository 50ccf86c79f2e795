using System.Numerics;
using MathNet.Numerics.LinearAlgebra;

namespace RnnCore.Benchmarks;

/// <summary>
/// The peers' training step on fixed random data, with every buffer created once as a training loop would: forward
/// over T steps (tanh), output layer and softmax cross-entropy (mean) at every step, full BPTT, one SGD update
/// (learning rate 0.01). Shared by <see cref="TrainStepBenchmarks{T}"/> and <see cref="PeerStep"/>, so both time the
/// same work.
/// </summary>
public sealed class TrainingStep<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly RecurrentLayer<T> _layer;
    private readonly List<Matrix<T>> _inputs;
    private readonly SequenceTargets<T> _targets;
    private readonly Bptt<T> _bptt;
    private readonly ForwardCache<T> _cache;
    private readonly RecurrentGradients<T> _gradients;
    private readonly Optimizers.SgdOptimizer<T> _optimizer;

    public TrainingStep(RnnConfig c)
    {
        var random = new Random(0);
        _layer = new RecurrentLayer<T>(c.InputSize, c.HiddenSize, c.OutputSize, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 0);
        _inputs = Enumerable.Range(0, c.Steps)
            .Select(_ => Matrix<T>.Build.Dense(c.InputSize, c.Batch, (_, _) => T.CreateTruncating(random.NextDouble() - 0.5)))
            .ToList();
        _targets = SequenceTargets<T>.FromClasses(
            Enumerable.Range(0, c.Steps).Select(_ => Enumerable.Range(0, c.Batch).Select(_ => random.Next(c.OutputSize)).ToArray()).ToArray());
        _bptt = new Bptt<T>(_layer, LossPlacement.EveryStep, LossReduction.Mean);
        _cache = _layer.CreateCache(c.Steps, c.Batch);
        _gradients = _layer.CreateGradients(c.Steps, c.Batch);
        _optimizer = new Optimizers.SgdOptimizer<T>(learningRate: 0.01);
    }

    /// <summary>The forward pass alone.</summary>
    public void Forward() => _layer.Forward(_inputs, _cache);

    /// <summary>Forward, BPTT and the SGD update; returns the loss.</summary>
    public T Run()
    {
        _layer.Forward(_inputs, _cache);
        T loss = _bptt.Backward(_cache, _targets, _gradients);
        _optimizer.Step(_layer.Parameters, _gradients.ParameterGradients);
        return loss;
    }
}
