using System.Numerics;
using BenchmarkDotNet.Attributes;
using RnnCore.Models;

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

/// <summary>A recurrent model's shape for <see cref="CellTrainStepBenchmarks{T}"/>: cell, layers, directions, size.</summary>
public sealed record CellCase(string Cell, int Layers, bool Bidirectional, RnnConfig Config)
{
    /// <summary>The issue's rows: LSTM and GRU at S, M and L; a 2-layer bidirectional LSTM at M.</summary>
    public static IEnumerable<CellCase> All =>
    [
        new("lstm", 1, false, RnnConfig.S), new("lstm", 1, false, RnnConfig.M), new("lstm", 1, false, RnnConfig.L),
        new("gru", 1, false, RnnConfig.S), new("gru", 1, false, RnnConfig.M), new("gru", 1, false, RnnConfig.L),
        new("lstm", 2, true, RnnConfig.M),
    ];

    public override string ToString() => $"{Cell} x{Layers}{(Bidirectional ? " bi" : string.Empty)} {Config.Name}";
}

/// <summary>
/// The same training step (<see cref="TrainingStep{T}"/>) for LSTM and GRU models and a 2-layer bidirectional LSTM,
/// through <see cref="RecurrentModel{T}"/>'s public API, in float and double, with allocations counted.
/// </summary>
[MemoryDiagnoser]
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class CellTrainStepBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private TrainingStep<T> _step = null!;

    [ParamsSource(nameof(Cases))]
    public CellCase Case { get; set; } = CellCase.All.First();

    public static IEnumerable<CellCase> Cases => CellCase.All;

    [GlobalSetup]
    public void Setup() => _step = new TrainingStep<T>(Case.Config, Case.Cell, Case.Layers, Case.Bidirectional);

    [Benchmark(Description = "Forward")]
    public void Forward() => _step.Forward();

    [Benchmark(Description = "Forward+BPTT+SGD")]
    public T TrainingStep() => _step.Run();
}
