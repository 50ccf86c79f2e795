using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using PredictionService;
using RnnCore.Models;
using RnnCore.Persistence;
using Xunit.Abstractions;

namespace RnnCore.Service.Tests;

/// <summary>
/// The prediction service inside a host, as issue 12 asks: 32 concurrent clients for 20 s on 127.0.0.1 (bounded in time
/// and in requests, and stopping by itself), then the quiet after the load.
/// </summary>
[Collection(LoadCollection.Name)]
public sealed class PredictionServiceLoadTests(ITestOutputHelper output) : IDisposable
{
    private const int Clients = 32;
    private const int InputSize = 128, HiddenSize = 256, OutputSize = 8;
    private static readonly TimeSpan LoadTime = TimeSpan.FromSeconds(20);
    private const int MaxRequestsPerClient = 50_000;

    private readonly string _directory = Directory.CreateTempSubdirectory("rnncore-service-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Thirty_two_clients_for_twenty_seconds_get_exact_answers_and_leave_the_process_quiet_and_flat()
    {
        // A model large enough that the library splits its products between kernel threads (the input projection of a
        // 64-step sequence is 2·256·128·64 ≈ 4.2 MFLOP, two parts of the 2 MFLOP threshold): the service runs with the library's default degree of parallelism so that the pool is exercised under load.
        string modelPath = Path.Combine(_directory, "model.rnncore");
        ModelFile.Save(new RecurrentLayer<float>(InputSize, HiddenSize, OutputSize, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 12), modelPath);
        RecurrentModel<float> reference = ModelFile.Load<float>(modelPath);
        var random = new Random(12);
        float[][][] sequences = ProcessMeasurements.RandomSequences(random, 48, 8, 65, InputSize);
        float[][][] expected = sequences.Select(s => ProcessMeasurements.SingleThreadedForward(reference, s)).ToArray();

        await using WebApplication app = PredictionServer.Build(modelPath, "http://127.0.0.1:0", maxDegreeOfParallelism: null);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        address.Should().StartWith("http://127.0.0.1:");
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Clients }) { BaseAddress = new Uri(address) };

        // Warm-up, not measured: every client sends every sequence once, which fills the service's cache pool (bounded:
        // at most 4 idle caches per length) and the library's pack-buffer pool, so the measured load is the steady state.
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async c =>
        {
            foreach (float[][] sequence in sequences)
            {
                using HttpResponseMessage response = await client.PostAsJsonAsync("/predict", new PredictionRequest(sequence), PredictionJson.Default.PredictionRequest);
                response.EnsureSuccessStatusCode();
            }
        }));

        using var process = Process.GetCurrentProcess();
        var workingSet = new List<(double Seconds, long Bytes)>();
        var clock = Stopwatch.StartNew();
        long requests = 0, errors = 0, mismatches = 0;
        int kernelThreadsSeen = 0;
        string? firstProblem = null;
        using var stop = new CancellationTokenSource(LoadTime);
        Task sampler = Task.Run(() => ProcessMeasurements.SampleWorkingSet(process, clock, workingSet, stop.Token, () =>
            kernelThreadsSeen = Math.Max(kernelThreadsSeen, ProcessMeasurements.ThreadTicks().Keys.Count(name => name.StartsWith("RnnCore kernel", StringComparison.Ordinal)))));

        Task[] clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            for (int r = 0; r < MaxRequestsPerClient && !stop.IsCancellationRequested; r++)
            {
                int which = ((c * 7) + r) % sequences.Length;
                try
                {
                    using HttpResponseMessage response = await client.PostAsJsonAsync("/predict", new PredictionRequest(sequences[which]), PredictionJson.Default.PredictionRequest);
                    Interlocked.Increment(ref requests);
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                        Interlocked.CompareExchange(ref firstProblem, $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}", null);
                        continue;
                    }

                    PredictionResponse? answer = await response.Content.ReadFromJsonAsync(PredictionJson.Default.PredictionResponse);
                    if (answer is null || !SameBits(answer.Outputs, expected[which]))
                    {
                        Interlocked.Increment(ref mismatches);
                        Interlocked.CompareExchange(ref firstProblem, $"sequence {which}: the answer differs from single-threaded Forward", null);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstProblem, e.ToString(), null);
                }
            }
        })).ToArray();
        await Task.WhenAll(clients);
        double loadSeconds = clock.Elapsed.TotalSeconds;
        await sampler;

        (double idleCpuSeconds, double windowSeconds, string busiest) = await ProcessMeasurements.IdleWindow(process);
        await app.StopAsync();

        (double firstThird, double lastThird, double peak) = ProcessMeasurements.Thirds(workingSet);
        output.WriteLine($"{requests:N0} requests in {loadSeconds:F1} s ({requests / loadSeconds:N0}/s) from {Clients} clients; {errors} errors, {mismatches} mismatches.");
        output.WriteLine($"CPU after the load: {idleCpuSeconds * 1000:F1} ms over {windowSeconds:F2} s (the whole test process); busiest threads: {busiest}.");
        output.WriteLine($"Kernel worker threads seen during the load: {kernelThreadsSeen}.");
        output.WriteLine($"Working set: first third {firstThird / 1048576:F1} MiB, last third {lastThird / 1048576:F1} MiB ({workingSet.Count} samples); peak {peak / 1048576:F1} MiB.");

        errors.Should().Be(0, firstProblem);
        mismatches.Should().Be(0, firstProblem);
        requests.Should().BeGreaterThan(Clients, "every client got answers");
        if (Environment.ProcessorCount > 1 && Directory.Exists("/proc/self/task"))
        {
            kernelThreadsSeen.Should().BeGreaterThan(0, "the requests' products were split between kernel threads");
        }

        loadSeconds.Should().BeLessThan(LoadTime.TotalSeconds + 10, "the load stops by itself");

        // One thread spinning through the window would cost about 1 s of CPU; the kernel workers spin at most 200 µs
        // before blocking. 100 ms (10% of one core) leaves room for the runtime's and Kestrel's own timers and the GC.
        idleCpuSeconds.Should().BeLessThan(0.1, "no thread spins once the load has stopped");

        // A leak grows with the requests served (tens of thousands here); the GC's budgets move the working set by some
        // tens of MiB. Flat: the last third's mean within 20% (or 32 MiB, whichever is larger) of the first third's.
        lastThird.Should().BeLessThan(firstThird + Math.Max(0.2 * firstThird, 32 * 1048576.0), "the working set stays flat under a steady load");
    }

    private static bool SameBits(float[][] actual, float[][] expected) =>
        actual.Length == expected.Length && actual.Zip(expected).All(pair => ProcessMeasurements.SameBits(pair.First, pair.Second));
}
