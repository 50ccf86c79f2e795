using System.Numerics;
using BenchmarkDotNet.Attributes;
using MathNet.Numerics.LinearAlgebra;

namespace RnnCore.Benchmarks;

/// <summary>
/// The peers' training step: forward over T steps (tanh), output layer and softmax cross-entropy (mean) at every step,
/// full BPTT, one SGD update, on fixed random data. Buffers are created once, as a training loop would.
/// </summary>
[MemoryDiagnoser]
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class TrainStepBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private RecurrentLayer<T> _layer = null!;
    private List<Matrix<T>> _inputs = null!;
    private SequenceTargets<T> _targets = null!;
    private Bptt<T> _bptt = null!;
    private ForwardCache<T> _cache = null!;
    private RecurrentGradients<T> _gradients = null!;
    private Optimizers.IOptimizer<T> _optimizer = null!;

    [ParamsSource(nameof(Configs))]
    public RnnConfig Config { get; set; } = RnnConfig.S;

    public static IEnumerable<RnnConfig> Configs => RnnConfig.All;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(0);
        RnnConfig c = Config;
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

    [Benchmark(Description = "Forward")]
    public void Forward() => _layer.Forward(_inputs, _cache);

    [Benchmark(Description = "Forward+BPTT+SGD")]
    public T TrainingStep()
    {
        _layer.Forward(_inputs, _cache);
        T loss = _bptt.Backward(_cache, _targets, _gradients);
        _optimizer.Step(_layer.Parameters, _gradients.ParameterGradients);
        return loss;
    }
}
