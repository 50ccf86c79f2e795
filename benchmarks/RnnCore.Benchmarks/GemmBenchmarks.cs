using System.Numerics;
using BenchmarkDotNet.Attributes;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Kernels;

namespace RnnCore.Benchmarks;

/// <summary>
/// The GEMM core on one and on two threads against MathNet's managed <c>Multiply</c> (the library's public data model,
/// and what a user would call), on the shapes of ../shared/peers/openblas_sgemm.py: squares and the products of the
/// M, L and XL training steps. The GFLOP/s column is 2·m·n·k over the mean. The scalar reference, a thousand times
/// slower on the large shapes, has its own class on the small ones (<see cref="GemmReferenceBenchmarks{T}"/>).
/// </summary>
[MemoryDiagnoser]
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class GemmBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _a = [];
    private T[] _b = [];
    private T[] _c = [];
    private Matrix<T> _matrixA = null!;
    private Matrix<T> _matrixB = null!;
    private Matrix<T> _matrixC = null!;

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = GemmShape.All.First();

    /// <summary>Every shape, or those whose names contain one of the comma-separated words in $RNNCORE_GEMM_SHAPES.</summary>
    public static IEnumerable<GemmShape> Shapes =>
        Environment.GetEnvironmentVariable("RNNCORE_GEMM_SHAPES") is { Length: > 0 } filter
            ? GemmShape.All.Where(s => filter.Split(',').Any(word => s.Name.Contains(word, StringComparison.Ordinal)))
            : GemmShape.All;

    [GlobalSetup]
    public void Setup()
    {
        GemmShape s = Shape;
        (_a, _b, _c) = s.Operands<T>();
        _matrixA = s.TransposeA ? Matrix<T>.Build.Dense(s.K, s.M, _a) : Matrix<T>.Build.Dense(s.M, s.K, _a);
        _matrixB = s.TransposeB ? Matrix<T>.Build.Dense(s.N, s.K, _b) : Matrix<T>.Build.Dense(s.K, s.N, _b);
        _matrixC = Matrix<T>.Build.Dense(s.M, s.N);
    }

    [GlobalCleanup]
    public void Cleanup() => RnnCoreSettings.MaxDegreeOfParallelism = Environment.ProcessorCount;

    [Benchmark(Baseline = true, Description = "RnnCore, 1 thread")]
    public void RnnCoreOneThread()
    {
        RnnCoreSettings.MaxDegreeOfParallelism = 1;
        Multiply();
    }

    [Benchmark(Description = "RnnCore, 2 threads")]
    public void RnnCoreTwoThreads()
    {
        RnnCoreSettings.MaxDegreeOfParallelism = 2;
        Multiply();
    }

    [Benchmark(Description = "MathNet Multiply")]
    public void MathNet()
    {
        GemmShape s = Shape;
        if (s.TransposeA)
        {
            _matrixA.TransposeThisAndMultiply(_matrixB, _matrixC);
        }
        else if (s.TransposeB)
        {
            _matrixA.TransposeAndMultiply(_matrixB, _matrixC);
        }
        else
        {
            _matrixA.Multiply(_matrixB, _matrixC);
        }
    }

    private void Multiply() => Shape.Multiply(_a, _b, _c);
}

/// <summary>A product C (m x n) = op(A) (m x k) · op(B) (k x n), named after where the training step uses it.</summary>
public sealed record GemmShape(string Name, int M, int N, int K, bool TransposeA = false, bool TransposeB = false)
{
    public static IEnumerable<GemmShape> All =>
        new GemmShape[] { new("square 256", 256, 256, 256), new("square 1024", 1024, 1024, 1024) }
            .Concat(ForStep(RnnConfig.M)).Concat(ForStep(RnnConfig.L)).Concat(ForStep(RnnConfig.XL));

    /// <summary>
    /// The eight products of one vanilla training step of <paramref name="c"/> as RecurrentLayer and Bptt issue them: the
    /// forward's over all T·B columns, the two per-step products (H x B), and BPTT's four over one of its time chunks
    /// (the first chunk's columns, about 1024: see TimeChunks). benchmarks/openblas_gemm.py times the same list.
    /// </summary>
    public static IEnumerable<GemmShape> ForStep(RnnConfig c)
    {
        int h = c.HiddenSize, i = c.InputSize, o = c.OutputSize, b = c.Batch, tb = c.Steps * c.Batch;
        int chunks = Internal.TimeChunks.Count(c.Steps, b);
        int chunk = (Internal.TimeChunks.Start(1, chunks, c.Steps) - Internal.TimeChunks.Start(0, chunks, c.Steps)) * b;
        string n = c.Name;
        return
        [
            new($"{n}: Wx·X", h, tb, i),
            new($"{n}: Wh·h", h, b, h),
            new($"{n}: Wy·H", o, tb, h),
            new($"{n}: dWy=dZ·Hᵀ", o, h, chunk, TransposeB: true),
            new($"{n}: Wyᵀ·dZ", h, chunk, o, TransposeA: true),
            new($"{n}: Whᵀ·δ", h, b, h, TransposeA: true),
            new($"{n}: dWx=Δ·Xᵀ", h, i, chunk, TransposeB: true),
            new($"{n}: dWh=Δ·Hᵀ", h, h, chunk, TransposeB: true),
        ];
    }

    public double Flops => 2.0 * M * N * K;

    /// <summary>Seeded random stored operands: A (m x k, or k x m when transposed), B (k x n, or n x k), and C (m x n).</summary>
    public (T[] A, T[] B, T[] C) Operands<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(0);
        T[] Fill(int length) => Enumerable.Range(0, length).Select(_ => T.CreateTruncating(random.NextDouble() - 0.5)).ToArray();
        return (Fill(M * K), Fill(K * N), new T[M * N]);
    }

    /// <summary>C = op(A)·op(B) with the GEMM core, on the stored operands of <see cref="Operands{T}"/>.</summary>
    public void Multiply<T>(T[] a, T[] b, T[] c)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Gemm.Multiply(TransposeA, TransposeB, M, N, K, T.One, a, TransposeA ? K : M, b, TransposeB ? N : K, T.Zero, c, M);

    /// <summary>The same product with the scalar reference.</summary>
    public void MultiplyByReference<T>(T[] a, T[] b, T[] c)
        where T : unmanaged, IFloatingPointIeee754<T>
        => GemmReference.Multiply(TransposeA, TransposeB, M, N, K, T.One, a, TransposeA ? K : M, b, TransposeB ? N : K, T.Zero, c, M);

    public override string ToString() => $"{Name} ({M}x{N}x{K})";
}
