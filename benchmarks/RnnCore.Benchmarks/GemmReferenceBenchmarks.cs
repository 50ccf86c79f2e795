using System.Numerics;
using BenchmarkDotNet.Attributes;

namespace RnnCore.Benchmarks;

/// <summary>
/// The GEMM core against the plain scalar triple loop it is tested against, on the shapes small enough for the triple
/// loop to finish in well under a second (at most 70 MFLOP): what the packing, blocking and FMA kernel buy.
/// </summary>
[MemoryDiagnoser]
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class GemmReferenceBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _a = [];
    private T[] _b = [];
    private T[] _c = [];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = GemmShape.All.First();

    public static IEnumerable<GemmShape> Shapes => GemmBenchmarks<T>.Shapes.Where(s => s.Flops <= 70e6);

    [GlobalSetup]
    public void Setup()
    {
        (_a, _b, _c) = Shape.Operands<T>();
        RnnCoreSettings.MaxDegreeOfParallelism = 1;
    }

    [GlobalCleanup]
    public void Cleanup() => RnnCoreSettings.MaxDegreeOfParallelism = Environment.ProcessorCount;

    [Benchmark(Baseline = true, Description = "RnnCore, 1 thread")]
    public void RnnCoreOneThread() => Shape.Multiply(_a, _b, _c);

    [Benchmark(Description = "scalar reference")]
    public void Reference() => Shape.MultiplyByReference(_a, _b, _c);
}
