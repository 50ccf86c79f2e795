using System.Diagnostics;
using System.Net;
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
/// The streaming endpoint under load, as issue 22 asks: 64 concurrent streams on 127.0.0.1 for 20 s (bounded in time and
/// in steps, stopping by itself), each reading answered with its prediction and checked against whole-sequence Forward,
/// then the quiet after the load.
/// </summary>
[Collection(LoadCollection.Name)]
public sealed class StreamingLoadTests(ITestOutputHelper output) : IDisposable
{
    private const int Clients = 64;
    private const int InputSize = 128, HiddenSize = 256, OutputSize = 8;
    private static readonly TimeSpan LoadTime = TimeSpan.FromSeconds(20);
    private const int MaxSequencesPerClient = 5_000;

    private readonly string _directory = Directory.CreateTempSubdirectory("rnncore-streams-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Sixty_four_streams_for_twenty_seconds_get_exact_answers_and_leave_the_process_quiet_and_flat()
    {
        string modelPath = Path.Combine(_directory, "model.rnncore");
        ModelFile.Save(new RecurrentLayer<float>(InputSize, HiddenSize, OutputSize, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 22), modelPath);
        RecurrentModel<float> reference = ModelFile.Load<float>(modelPath);
        var random = new Random(22);
        float[][][] sequences = ProcessMeasurements.RandomSequences(random, 48, 4, 41, InputSize);
        float[][][] expected = sequences.Select(s => ProcessMeasurements.SingleThreadedForward(reference, s)).ToArray();

        // Fewer session slots than twice the clients, so that closed sessions' slots are reused all along.
        await using WebApplication app = PredictionServer.Build(modelPath, "http://127.0.0.1:0", maxDegreeOfParallelism: null, maxSessions: 96);
        await app.StartAsync();
        StreamSessions sessions = app.Services.GetRequiredService<StreamSessions>();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        address.Should().StartWith("http://127.0.0.1:");
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Clients }) { BaseAddress = new Uri(address) };

        long steps = 0, sequencesDone = 0, errors = 0, mismatches = 0;
        string? firstProblem = null;

        // One sequence, reading by reading, each answer compared with Forward's output at that step; then the session closes.
        async Task RunSequence(int which, CancellationToken stop)
        {
            using HttpResponseMessage opened = await client.PostAsync("/streams", null, CancellationToken.None);
            if (!opened.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref errors);
                Interlocked.CompareExchange(ref firstProblem, $"open: HTTP {(int)opened.StatusCode}: {await opened.Content.ReadAsStringAsync()}", null);
                return;
            }

            long id = (await opened.Content.ReadFromJsonAsync(PredictionJson.Default.StreamOpened))!.Session;
            for (int t = 0; t < sequences[which].Length && !stop.IsCancellationRequested; t++)
            {
                using HttpResponseMessage response = await client.PostAsJsonAsync($"/streams/{id}", new StepRequest(sequences[which][t]), PredictionJson.Default.StepRequest);
                Interlocked.Increment(ref steps);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstProblem, $"step: HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}", null);
                    return;
                }

                StepResponse? answer = await response.Content.ReadFromJsonAsync(PredictionJson.Default.StepResponse);
                if (answer is null || !ProcessMeasurements.SameBits(answer.Output, expected[which][t]))
                {
                    Interlocked.Increment(ref mismatches);
                    Interlocked.CompareExchange(ref firstProblem, $"sequence {which}, step {t}: the answer differs from single-threaded Forward", null);
                }
            }

            using HttpResponseMessage closed = await client.DeleteAsync($"/streams/{id}", CancellationToken.None);
            if (closed.StatusCode != HttpStatusCode.NoContent)
            {
                Interlocked.Increment(ref errors);
                Interlocked.CompareExchange(ref firstProblem, $"close: HTTP {(int)closed.StatusCode}", null);
            }

            Interlocked.Increment(ref sequencesDone);
        }

        // Warm-up, not measured: every client runs one sequence (JIT, connections, the pool's and the kernels' buffers).
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => RunSequence(c % sequences.Length, CancellationToken.None)));
        errors.Should().Be(0, firstProblem);
        long warmSteps = steps, warmRounds = sessions.Rounds, warmAnswered = sessions.Steps;

        using var process = Process.GetCurrentProcess();
        var workingSet = new List<(double Seconds, long Bytes)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(LoadTime);
        Task sampler = Task.Run(() => ProcessMeasurements.SampleWorkingSet(process, clock, workingSet, stop.Token));

        Task[] clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            for (int r = 0; r < MaxSequencesPerClient && !stop.IsCancellationRequested; r++)
            {
                try
                {
                    await RunSequence(((c * 7) + r) % sequences.Length, stop.Token);
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
        int openAfter = sessions.OpenCount;
        await app.StopAsync();

        (double firstThird, double lastThird, double peak) = ProcessMeasurements.Thirds(workingSet);
        long loadSteps = steps - warmSteps;
        double meanBatch = (double)(sessions.Steps - warmAnswered) / Math.Max(1, sessions.Rounds - warmRounds);
        output.WriteLine($"{loadSteps:N0} steps ({sequencesDone:N0} sequences) in {loadSeconds:F1} s ({loadSteps / loadSeconds:N0} steps/s) from {Clients} streams; {errors} errors, {mismatches} mismatches; {meanBatch:F2} streams per batched step on average.");
        output.WriteLine($"CPU after the load: {idleCpuSeconds * 1000:F1} ms over {windowSeconds:F2} s (the whole test process); busiest threads: {busiest}.");
        output.WriteLine($"Working set: first third {firstThird / 1048576:F1} MiB, last third {lastThird / 1048576:F1} MiB ({workingSet.Count} samples); peak {peak / 1048576:F1} MiB.");

        errors.Should().Be(0, firstProblem);
        mismatches.Should().Be(0, firstProblem);
        loadSteps.Should().BeGreaterThan(Clients, "every stream got answers");
        openAfter.Should().Be(0, "every session was closed");
        loadSeconds.Should().BeLessThan(LoadTime.TotalSeconds + 10, "the load stops by itself");

        // As the prediction load test: a thread spinning through the window would cost about 1 s of CPU.
        idleCpuSeconds.Should().BeLessThan(0.1, "no thread spins once the load has stopped (the batching loop waits on its queue)");
        lastThird.Should().BeLessThan(firstThird + Math.Max(0.2 * firstThird, 32 * 1048576.0), "the working set stays flat under a steady load");
    }
}
