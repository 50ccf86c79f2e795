using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnCore.Benchmarks;

/// <summary>
/// The cores' float32 FMA peak as this machine gives it now: every thread runs twelve independent chains of vector
/// fused multiply-adds (enough to keep two FMA pipes with a 4-cycle latency busy) and nothing else, no memory traffic.
/// "Percent of peak" for a training step is then read against a peak measured in the same minutes, on a VM whose speed
/// moves with what its neighbours do, instead of against a figure from another day.
/// </summary>
/// <remarks>Usage: <c>--fma-peak [--threads N] [--repeats 7]</c>. Prints the median and the fastest of the repeats.</remarks>
public static class FmaPeak
{
    /// <summary>Loop trips per thread per repeat: 12 FMAs each, about 40 ms on one Zen 5 core at 512 bits.</summary>
    private const long Trips = 20_000_000;

    private const int Chains = 12;

    public static int Run(string[] args)
    {
        int threads = int.Parse(PeerStep.Option(args, "--threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        int repeats = int.Parse(PeerStep.Option(args, "--repeats", "7"), CultureInfo.InvariantCulture);
        int lanes = Avx512F.IsSupported ? Vector512<float>.Count : Fma.IsSupported ? Vector256<float>.Count : 0;
        if (lanes == 0)
        {
            Console.Error.WriteLine("fma-peak: this CPU has neither AVX-512F nor FMA3.");
            return 2;
        }

        double flopsPerThread = 2.0 * lanes * Chains * Trips;
        Run(1, threads); // warm-up: the loop compiled at full optimization, the threads' first start paid
        double[] rates = new double[repeats];
        for (int r = 0; r < repeats; r++)
        {
            rates[r] = flopsPerThread * threads / Run(Trips, threads) / 1e9;
        }

        Array.Sort(rates);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"FMA peak, float32, {lanes * 32}-bit vectors, threads {threads}: median {rates[repeats / 2]:F1} GFLOP/s " +
            $"({rates[repeats / 2] / threads:F1} per thread), fastest {rates[^1]:F1}, slowest {rates[0]:F1}"));
        return 0;
    }

    /// <summary>Seconds from releasing <paramref name="threads"/> started threads until the last one finishes.</summary>
    private static double Run(long trips, int threads)
    {
        using var go = new ManualResetEventSlim();
        var sink = new float[threads];
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            workers[t] = new Thread(() =>
            {
                go.Wait();
                sink[index] = Avx512F.IsSupported ? Chains512(trips) : Chains256(trips);
            });
            workers[t].Start();
        }

        Thread.Sleep(20);
        long start = Stopwatch.GetTimestamp();
        go.Set();
        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        GC.KeepAlive(sink);
        return seconds;
    }

    // a ← a·x + y in each chain: it converges to y / (1 − x) and stays finite, and the sum returned keeps the loop alive.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains512(long trips)
    {
        Vector512<float> x = Vector512.Create(0.999f), y = Vector512.Create(1e-3f);
        Vector512<float> a0 = Vector512.Create(0.0f), a1 = Vector512.Create(0.1f), a2 = Vector512.Create(0.2f), a3 = Vector512.Create(0.3f);
        Vector512<float> a4 = Vector512.Create(0.4f), a5 = Vector512.Create(0.5f), a6 = Vector512.Create(0.6f), a7 = Vector512.Create(0.7f);
        Vector512<float> a8 = Vector512.Create(0.8f), a9 = Vector512.Create(0.9f), a10 = Vector512.Create(1.0f), a11 = Vector512.Create(1.1f);
        for (long i = 0; i < trips; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, x, y);
            a1 = Avx512F.FusedMultiplyAdd(a1, x, y);
            a2 = Avx512F.FusedMultiplyAdd(a2, x, y);
            a3 = Avx512F.FusedMultiplyAdd(a3, x, y);
            a4 = Avx512F.FusedMultiplyAdd(a4, x, y);
            a5 = Avx512F.FusedMultiplyAdd(a5, x, y);
            a6 = Avx512F.FusedMultiplyAdd(a6, x, y);
            a7 = Avx512F.FusedMultiplyAdd(a7, x, y);
            a8 = Avx512F.FusedMultiplyAdd(a8, x, y);
            a9 = Avx512F.FusedMultiplyAdd(a9, x, y);
            a10 = Avx512F.FusedMultiplyAdd(a10, x, y);
            a11 = Avx512F.FusedMultiplyAdd(a11, x, y);
        }

        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains256(long trips)
    {
        Vector256<float> x = Vector256.Create(0.999f), y = Vector256.Create(1e-3f);
        Vector256<float> a0 = Vector256.Create(0.0f), a1 = Vector256.Create(0.1f), a2 = Vector256.Create(0.2f), a3 = Vector256.Create(0.3f);
        Vector256<float> a4 = Vector256.Create(0.4f), a5 = Vector256.Create(0.5f), a6 = Vector256.Create(0.6f), a7 = Vector256.Create(0.7f);
        Vector256<float> a8 = Vector256.Create(0.8f), a9 = Vector256.Create(0.9f), a10 = Vector256.Create(1.0f), a11 = Vector256.Create(1.1f);
        for (long i = 0; i < trips; i++)
        {
            a0 = Fma.MultiplyAdd(a0, x, y);
            a1 = Fma.MultiplyAdd(a1, x, y);
            a2 = Fma.MultiplyAdd(a2, x, y);
            a3 = Fma.MultiplyAdd(a3, x, y);
            a4 = Fma.MultiplyAdd(a4, x, y);
            a5 = Fma.MultiplyAdd(a5, x, y);
            a6 = Fma.MultiplyAdd(a6, x, y);
            a7 = Fma.MultiplyAdd(a7, x, y);
            a8 = Fma.MultiplyAdd(a8, x, y);
            a9 = Fma.MultiplyAdd(a9, x, y);
            a10 = Fma.MultiplyAdd(a10, x, y);
            a11 = Fma.MultiplyAdd(a11, x, y);
        }

        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
