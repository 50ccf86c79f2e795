using System.Diagnostics;
using Xunit.Abstractions;

namespace RnnCore.Service.Tests;

/// <summary>
/// A load on 127.0.0.1, bounded in time and in rounds and stopping by itself: <c>clients</c> loops each run rounds until
/// the time is up, while the working set is sampled; then the quiet after it. What both load tests measure and require.
/// </summary>
internal sealed record LoadRun(double LoadSeconds, double IdleCpuSeconds, double WindowSeconds, string Busiest, double FirstThird, double LastThird, double Peak, int Samples)
{
    /// <summary>
    /// Runs <paramref name="round"/>(client, round, stop) from <paramref name="clients"/> concurrent loops for
    /// <paramref name="loadTime"/> or <paramref name="roundsPerClient"/> rounds, whichever ends first; a transport
    /// failure (refused, reset, cancelled) goes to <paramref name="failed"/> and the loop goes on. <paramref name="sample"/>
    /// runs at each working-set sample (every 200 ms).
    /// </summary>
    public static async Task<LoadRun> DriveAsync(
        int clients, int roundsPerClient, TimeSpan loadTime, Func<int, int, CancellationToken, Task> round, Action<Exception> failed, Action? sample = null)
    {
        using var process = Process.GetCurrentProcess();
        var workingSet = new List<(double Seconds, long Bytes)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(loadTime);
        Task sampler = Task.Run(() => ProcessMeasurements.SampleWorkingSet(process, clock, workingSet, stop.Token, sample));
        Task[] loops = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (int r = 0; r < roundsPerClient && !stop.IsCancellationRequested; r++)
            {
                try
                {
                    await round(c, r, stop.Token);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    failed(e);
                }
            }
        })).ToArray();
        await Task.WhenAll(loops);
        double loadSeconds = clock.Elapsed.TotalSeconds;
        await sampler;

        (double idleCpuSeconds, double windowSeconds, string busiest) = await ProcessMeasurements.IdleWindow(process);
        (double firstThird, double lastThird, double peak) = ProcessMeasurements.Thirds(workingSet);
        return new LoadRun(loadSeconds, idleCpuSeconds, windowSeconds, busiest, firstThird, lastThird, peak, workingSet.Count);
    }

    /// <summary>Writes the quiet and the working set to the test's output.</summary>
    public void Report(ITestOutputHelper output)
    {
        output.WriteLine($"CPU after the load: {IdleCpuSeconds * 1000:F1} ms over {WindowSeconds:F2} s (the whole test process); busiest threads: {Busiest}.");
        output.WriteLine($"Working set: first third {FirstThird / 1048576:F1} MiB, last third {LastThird / 1048576:F1} MiB ({Samples} samples); peak {Peak / 1048576:F1} MiB.");
    }

    /// <summary>The load stopped by itself, no thread spins after it, and the working set stayed flat.</summary>
    public void ShouldHaveStoppedQuietAndFlat(TimeSpan loadTime, string whyQuiet)
    {
        LoadSeconds.Should().BeLessThan(loadTime.TotalSeconds + 10, "the load stops by itself");

        // One thread spinning through the window would cost about 1 s of CPU; the kernel workers spin at most 200 µs
        // before blocking. 100 ms (10% of one core) leaves room for the runtime's and Kestrel's own timers and the GC.
        IdleCpuSeconds.Should().BeLessThan(0.1, whyQuiet);

        // A leak grows with the requests served (tens of thousands here); the GC's budgets move the working set by some
        // tens of MiB. Flat: the last third's mean within 20% (or 32 MiB, whichever is larger) of the first third's.
        LastThird.Should().BeLessThan(FirstThird + Math.Max(0.2 * FirstThird, 32 * 1048576.0), "the working set stays flat under a steady load");
    }
}
