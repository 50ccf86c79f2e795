using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using PredictionService;
using RnnCore.Models;
using Xunit.Abstractions;

namespace RnnCore.Service.Tests;

/// <summary>
/// The prediction service inside a host, as issue 12 asks: 32 concurrent clients for 20 s on 127.0.0.1 (bounded in time
/// and in requests, and stopping by itself), then the quiet after the load.
/// </summary>
[Collection(LoadCollection.Name)]
public sealed class PredictionServiceLoadTests(ITestOutputHelper output)
{
    private const int Clients = 32;
    private const int InputSize = 128, HiddenSize = 256, OutputSize = 8;
    private static readonly TimeSpan LoadTime = TimeSpan.FromSeconds(20);
    private const int MaxRequestsPerClient = 50_000;

    [Fact]
    public async Task Thirty_two_clients_for_twenty_seconds_get_exact_answers_and_leave_the_process_quiet_and_flat()
    {
        // A model large enough that the library splits its products between kernel threads (the input projection of a
        // 64-step sequence is 2·256·128·64 ≈ 4.2 MFLOP, two parts of the 2 MFLOP threshold): the service runs with the library's default degree of parallelism so that the pool is exercised under load.
        using var served = ServedModel.Create(
            new RecurrentLayer<float>(InputSize, HiddenSize, OutputSize, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 12), seed: 12, count: 48, minLength: 8, maxLength: 65);
        float[][][] sequences = served.Sequences, expected = served.Expected;

        await using WebApplication app = PredictionServer.Build(served.ModelPath, "http://127.0.0.1:0", maxDegreeOfParallelism: null);
        using HttpClient client = await ServedModel.StartAsync(app, Clients);

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

        long requests = 0, errors = 0, mismatches = 0;
        int kernelThreadsSeen = 0;
        string? firstProblem = null;
        LoadRun load = await LoadRun.DriveAsync(
            Clients,
            MaxRequestsPerClient,
            LoadTime,
            async (c, r, stop) =>
            {
                int which = ((c * 7) + r) % sequences.Length;
                using HttpResponseMessage response = await client.PostAsJsonAsync("/predict", new PredictionRequest(sequences[which]), PredictionJson.Default.PredictionRequest);
                Interlocked.Increment(ref requests);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstProblem, $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}", null);
                    return;
                }

                PredictionResponse? answer = await response.Content.ReadFromJsonAsync(PredictionJson.Default.PredictionResponse);
                if (answer is null || !SameBits(answer.Outputs, expected[which]))
                {
                    Interlocked.Increment(ref mismatches);
                    Interlocked.CompareExchange(ref firstProblem, $"sequence {which}: the answer differs from single-threaded Forward", null);
                }
            },
            e =>
            {
                Interlocked.Increment(ref errors);
                Interlocked.CompareExchange(ref firstProblem, e.ToString(), null);
            },
            () => kernelThreadsSeen = Math.Max(kernelThreadsSeen, ProcessMeasurements.ThreadTicks().Keys.Count(name => name.StartsWith("RnnCore kernel", StringComparison.Ordinal))));
        await app.StopAsync();

        output.WriteLine($"{requests:N0} requests in {load.LoadSeconds:F1} s ({requests / load.LoadSeconds:N0}/s) from {Clients} clients; {errors} errors, {mismatches} mismatches.");
        output.WriteLine($"Kernel worker threads seen during the load: {kernelThreadsSeen}.");
        load.Report(output);

        errors.Should().Be(0, firstProblem);
        mismatches.Should().Be(0, firstProblem);
        requests.Should().BeGreaterThan(Clients, "every client got answers");
        if (Environment.ProcessorCount > 1 && Directory.Exists("/proc/self/task"))
        {
            kernelThreadsSeen.Should().BeGreaterThan(0, "the requests' products were split between kernel threads");
        }

        load.ShouldHaveStoppedQuietAndFlat(LoadTime, "no thread spins once the load has stopped");
    }

    private static bool SameBits(float[][] actual, float[][] expected) =>
        actual.Length == expected.Length && actual.Zip(expected).All(pair => ProcessMeasurements.SameBits(pair.First, pair.Second));
}
