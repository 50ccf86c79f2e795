using System.Diagnostics;
using System.Globalization;

namespace RnnCore.Benchmarks;

/// <summary>
/// Times every <see cref="GemmShape"/> the way benchmarks/openblas_gemm.py times OpenBLAS (warm-up products, then the
/// median of 7 batches of at least 3 products and about 2 GFLOP each), so that the two GFLOP/s columns can be set side by
/// side; benchmarks/compare_gemm.py runs both. BenchmarkDotNet's <see cref="GemmBenchmarks{T}"/> times the
/// same shapes with its own statistics.
/// </summary>
/// <remarks>Usage: <c>--gemm [--threads N] [--dtype float32|float64] [--filter word,word]</c>.</remarks>
public static class GemmTable
{
    public static int Run(string[] args)
    {
        int threads = int.Parse(PeerStep.Option(args, "--threads", "1"), CultureInfo.InvariantCulture);
        string dtype = PeerStep.Option(args, "--dtype", "float32");
        string[] words = PeerStep.Option(args, "--filter", string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries);
        RnnCoreSettings.MaxDegreeOfParallelism = threads;
        Console.WriteLine($"RnnCore GEMM, .NET {Environment.Version}, threads {threads}, {dtype}");
        // RNNCORE_GEMM_SHAPE="m,n,k,ta,tb" times that one product instead (ta, tb: 0 or 1), for experiments.
        IEnumerable<GemmShape> shapes = GemmShape.All;
        if (Environment.GetEnvironmentVariable("RNNCORE_GEMM_SHAPE") is { Length: > 0 } custom)
        {
            int[] d = custom.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            shapes = [new GemmShape("custom", d[0], d[1], d[2], d[3] == 1, d[4] == 1)];
        }

        foreach (GemmShape shape in shapes)
        {
            if (words.Length > 0 && !words.Any(w => shape.Name.Contains(w, StringComparison.Ordinal)))
            {
                continue;
            }

            (double median, double fastest) = dtype == "float64" ? Time<double>(shape) : Time<float>(shape);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{shape}: {median * 1e6:F1} us  {shape.Flops / median / 1e9:F1} GFLOP/s  (fastest batch {shape.Flops / fastest / 1e9:F1})"));
        }

        return 0;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>CLOCK_THREAD_CPUTIME_ID (Linux): the processor time of the calling thread.</summary>
    private static double ThreadCpuSeconds() => ClockGetTime(3, out TimeSpec t) == 0 ? t.Seconds + (t.Nanoseconds * 1e-9) : double.NaN;

    private static (double Median, double Fastest) Time<T>(GemmShape shape)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        (T[] a, T[] b, T[] c) = shape.Operands<T>();
        int repetitions = Math.Max(3, (int)(2e9 / shape.Flops));

        // Warm-up: the script's two products, and at least 60 calls and 1 s, so that tiered compilation has promoted
        // every method on the path (it recompiles a method in the background after 30 calls) before anything is timed;
        // with fewer, a small product's first batches ran partly unoptimized code and its median halved.
        long warmupStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < 60 || Stopwatch.GetElapsedTime(warmupStart).TotalSeconds < 1; i++)
        {
            shape.Multiply(a, b, c);
        }

        // RNNCORE_GEMM_CPU_TIME=1 (one thread only) times the calling thread's processor time instead of wall-clock time:
        // for tuning on a machine that other work shares, where a descheduled thread's wait would count. Tables use
        // wall-clock time.
        bool cpuTime = RnnCoreSettings.MaxDegreeOfParallelism == 1 && Environment.GetEnvironmentVariable("RNNCORE_GEMM_CPU_TIME") == "1";
        double[] batches = new double[7];
        for (int batch = 0; batch < batches.Length; batch++)
        {
            long start = Stopwatch.GetTimestamp();
            double startCpu = cpuTime ? ThreadCpuSeconds() : 0;
            for (int i = 0; i < repetitions; i++)
            {
                shape.Multiply(a, b, c);
            }

            batches[batch] = (cpuTime ? ThreadCpuSeconds() - startCpu : Stopwatch.GetElapsedTime(start).TotalSeconds) / repetitions;
        }

        Array.Sort(batches);
        return (batches[batches.Length / 2], batches[0]);
    }
}
