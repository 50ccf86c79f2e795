using System.Numerics;
using BenchmarkDotNet.Attributes;

namespace RnnCore.Benchmarks;

/// <summary>
/// The peers' training step (<see cref="TrainingStep{T}"/>) and its forward pass alone, for S, M, L and XL, in float
/// and double, with allocations counted.
/// </summary>
[MemoryDiagnoser]
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class TrainStepBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private TrainingStep<T> _step = null!;

    [ParamsSource(nameof(Configs))]
    public RnnConfig Config { get; set; } = RnnConfig.S;

    public static IEnumerable<RnnConfig> Configs => RnnConfig.All;

    [GlobalSetup]
    public void Setup() => _step = new TrainingStep<T>(Config);

    [Benchmark(Description = "Forward")]
    public void Forward() => _step.Forward();

    [Benchmark(Description = "Forward+BPTT+SGD")]
    public T TrainingStep() => _step.Run();
}
