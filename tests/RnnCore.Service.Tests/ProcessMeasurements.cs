using System.Diagnostics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;

namespace RnnCore.Service.Tests;

/// <summary>What the load tests read about their own process: CPU per thread, the quiet after the load, exact answers.</summary>
internal static class ProcessMeasurements
{
    /// <summary>
    /// After the load: lets the last responses and the kernel threads' 200 µs spin finish, then measures the whole
    /// process's CPU over one second, and names the busiest threads (for the report).
    /// </summary>
    public static async Task<(double CpuSeconds, double WindowSeconds, string Busiest)> IdleWindow(Process process)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        process.Refresh();
        Dictionary<string, long> threadsBefore = ThreadTicks();
        TimeSpan cpuBefore = process.TotalProcessorTime;
        var window = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(1));
        process.Refresh();
        double cpuSeconds = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
        double windowSeconds = window.Elapsed.TotalSeconds;
        Dictionary<string, long> threadsAfter = ThreadTicks();
        string busiest = string.Join(", ", threadsAfter
            .Select(t => (t.Key, Ticks: t.Value - threadsBefore.GetValueOrDefault(t.Key)))
            .Where(t => t.Ticks > 0).OrderByDescending(t => t.Ticks).Take(6).Select(t => $"{t.Key}: {t.Ticks * 10} ms"));
        return (cpuSeconds, windowSeconds, busiest);
    }

    /// <summary>CPU ticks (1/100 s) per thread from /proc, keyed by "name (tid)"; empty off Linux. For the report only.</summary>
    public static Dictionary<string, long> ThreadTicks()
    {
        var ticks = new Dictionary<string, long>();
        if (!Directory.Exists("/proc/self/task"))
        {
            return ticks;
        }

        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                int close = stat.LastIndexOf(')');
                string name = stat[(stat.IndexOf('(') + 1)..close];
                string[] fields = stat[(close + 2)..].Split(' ');
                ticks[$"{name} ({Path.GetFileName(task)})"] = long.Parse(fields[11]) + long.Parse(fields[12]);
            }
            catch (IOException)
            {
            }
        }

        return ticks;
    }

    /// <summary>Every step's output y_t of one sequence by a single-threaded Forward: what every answer must equal, bit for bit.</summary>
    public static float[][] SingleThreadedForward(RecurrentModel<float> layer, float[][] sequence)
    {
        using (RnnCoreSettings.UseDegreeOfParallelism(1))
        {
            ForwardCache<float> cache = layer.Forward(sequence.Select(x => Matrix<float>.Build.Dense(x.Length, 1, x)).ToList());
            return Enumerable.Range(0, cache.Steps).Select(t => cache.Output(t).ToColumnMajorArray()).ToArray();
        }
    }

    /// <summary><paramref name="count"/> seeded sequences of <paramref name="minLength"/> to <paramref name="maxLength"/> − 1 steps of values in [−1, 1).</summary>
    public static float[][][] RandomSequences(Random random, int count, int minLength, int maxLength, int inputSize) =>
        Enumerable.Range(0, count)
            .Select(_ => Enumerable.Range(0, random.Next(minLength, maxLength)).Select(_ => Enumerable.Range(0, inputSize).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray())
            .ToArray();

    /// <summary>Samples the working set every 200 ms until <paramref name="stop"/>, with <paramref name="sample"/> run at each (for other readings).</summary>
    public static async Task SampleWorkingSet(Process process, Stopwatch clock, List<(double Seconds, long Bytes)> samples, CancellationToken stop, Action? sample = null)
    {
        while (!stop.IsCancellationRequested)
        {
            process.Refresh();
            lock (samples)
            {
                samples.Add((clock.Elapsed.TotalSeconds, process.WorkingSet64));
            }

            sample?.Invoke();
            await Task.Delay(200);
        }
    }

    public static bool SameBits(float[] actual, float[] expected) =>
        actual.Length == expected.Length && actual.Zip(expected).All(v => BitConverter.SingleToInt32Bits(v.First) == BitConverter.SingleToInt32Bits(v.Second));

    /// <summary>The first and last thirds' mean working set, and the peak, of samples taken during the load.</summary>
    public static (double FirstThird, double LastThird, double Peak) Thirds(IReadOnlyList<(double Seconds, long Bytes)> samples)
    {
        int third = samples.Count / 3;
        return (samples.Take(third).Average(s => s.Bytes), samples.Skip(samples.Count - third).Average(s => s.Bytes), samples.Max(s => s.Bytes));
    }
}

/// <summary>The load tests measure their process's CPU and memory, so they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadCollection
{
    public const string Name = "Load";
}
