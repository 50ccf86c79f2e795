using System.Numerics;
using BenchmarkDotNet.Attributes;
using RnnCore.Kernels;

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
        var random = new Random(0);
        GemmShape s = Shape;
        _a = Enumerable.Range(0, s.M * s.K).Select(_ => T.CreateTruncating(random.NextDouble() - 0.5)).ToArray();
        _b = Enumerable.Range(0, s.K * s.N).Select(_ => T.CreateTruncating(random.NextDouble() - 0.5)).ToArray();
        _c = new T[s.M * s.N];
        RnnCoreSettings.MaxDegreeOfParallelism = 1;
    }

    [GlobalCleanup]
    public void Cleanup() => RnnCoreSettings.MaxDegreeOfParallelism = Environment.ProcessorCount;

    [Benchmark(Baseline = true, Description = "RnnCore, 1 thread")]
    public void RnnCoreOneThread()
    {
        GemmShape s = Shape;
        Gemm.Multiply(s.TransposeA, s.TransposeB, s.M, s.N, s.K, T.One, _a, s.TransposeA ? s.K : s.M, _b, s.TransposeB ? s.N : s.K, T.Zero, _c, s.M);
    }

    [Benchmark(Description = "scalar reference")]
    public void Reference()
    {
        GemmShape s = Shape;
        GemmReference.Multiply(s.TransposeA, s.TransposeB, s.M, s.N, s.K, T.One, _a, s.TransposeA ? s.K : s.M, _b, s.TransposeB ? s.N : s.K, T.Zero, _c, s.M);
    }
}
