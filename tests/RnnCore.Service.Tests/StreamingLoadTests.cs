using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using PredictionService;
using RnnCore.Models;
using Xunit.Abstractions;

namespace RnnCore.Service.Tests;

/// <summary>
/// The streaming endpoint under load, as issue 22 asks: 64 concurrent streams on 127.0.0.1 for 20 s (bounded in time and
/// in steps, stopping by itself), each reading answered with its prediction and checked against whole-sequence Forward,
/// then the quiet after the load.
/// </summary>
[Collection(LoadCollection.Name)]
public sealed class StreamingLoadTests(ITestOutputHelper output)
{
    private const int Clients = 64;
    private const int InputSize = 128, HiddenSize = 256, OutputSize = 8;
    private static readonly TimeSpan LoadTime = TimeSpan.FromSeconds(20);
    private const int MaxSequencesPerClient = 5_000;

    [Fact]
    public async Task Sixty_four_streams_for_twenty_seconds_get_exact_answers_and_leave_the_process_quiet_and_flat()
    {
        using var served = ServedModel.Create(
            new RecurrentLayer<float>(InputSize, HiddenSize, OutputSize, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 22), seed: 22, count: 48, minLength: 4, maxLength: 41);
        float[][][] sequences = served.Sequences, expected = served.Expected;

        // Fewer session slots than twice the clients, so that closed sessions' slots are reused all along.
        await using WebApplication app = PredictionServer.Build(served.ModelPath, "http://127.0.0.1:0", maxDegreeOfParallelism: null, maxSessions: 96);
        using HttpClient client = await ServedModel.StartAsync(app, Clients);
        StreamSessions sessions = app.Services.GetRequiredService<StreamSessions>();

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

        LoadRun load = await LoadRun.DriveAsync(
            Clients,
            MaxSequencesPerClient,
            LoadTime,
            (c, r, stop) => RunSequence(((c * 7) + r) % sequences.Length, stop),
            e =>
            {
                Interlocked.Increment(ref errors);
                Interlocked.CompareExchange(ref firstProblem, e.ToString(), null);
            });
        int openAfter = sessions.OpenCount;
        await app.StopAsync();

        long loadSteps = steps - warmSteps;
        double meanBatch = (double)(sessions.Steps - warmAnswered) / Math.Max(1, sessions.Rounds - warmRounds);
        output.WriteLine($"{loadSteps:N0} steps ({sequencesDone:N0} sequences) in {load.LoadSeconds:F1} s ({loadSteps / load.LoadSeconds:N0} steps/s) from {Clients} streams; {errors} errors, {mismatches} mismatches; {meanBatch:F2} streams per batched step on average.");
        load.Report(output);

        errors.Should().Be(0, firstProblem);
        mismatches.Should().Be(0, firstProblem);
        loadSteps.Should().BeGreaterThan(Clients, "every stream got answers");
        openAfter.Should().Be(0, "every session was closed");
        load.ShouldHaveStoppedQuietAndFlat(LoadTime, "no thread spins once the load has stopped (the batching loop waits on its queue)");
    }
}
