using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using RnnCore.Models;
using RnnCore.Persistence;

namespace RnnCore.Service.Tests;

/// <summary>
/// A served model for the service tests: a network saved into a temporary folder, seeded random sequences and what
/// single-threaded <c>Forward</c> answers for each (every answer of the service must equal it, bit for bit), and the
/// service started on 127.0.0.1 with a client. Disposing stops nothing; the test awaits the app's disposal itself.
/// </summary>
internal sealed class ServedModel : IDisposable
{
    private readonly string _directory;

    private ServedModel(string directory, string modelPath, float[][][] sequences, float[][][] expected)
    {
        _directory = directory;
        ModelPath = modelPath;
        Sequences = sequences;
        Expected = expected;
    }

    /// <summary>The model file the service loads.</summary>
    public string ModelPath { get; }

    /// <summary>The sequences the clients send.</summary>
    public float[][][] Sequences { get; }

    /// <summary>Every step's output of each sequence by single-threaded Forward.</summary>
    public float[][][] Expected { get; }

    /// <summary>
    /// Saves <paramref name="network"/> to a new temporary folder and draws <paramref name="count"/> sequences of
    /// <paramref name="minLength"/> to <paramref name="maxLength"/> − 1 steps with <paramref name="seed"/>.
    /// </summary>
    public static ServedModel Create(RecurrentModel<float> network, int seed, int count, int minLength, int maxLength)
    {
        string directory = Directory.CreateTempSubdirectory("rnncore-service-").FullName;
        string modelPath = Path.Combine(directory, "model.rnncore");
        ModelFile.Save(network, modelPath);
        RecurrentModel<float> reference = ModelFile.Load<float>(modelPath);
        float[][][] sequences = ProcessMeasurements.RandomSequences(new Random(seed), count, minLength, maxLength, network.InputSize);
        float[][][] expected = sequences.Select(s => ProcessMeasurements.SingleThreadedForward(reference, s)).ToArray();
        return new ServedModel(directory, modelPath, sequences, expected);
    }

    /// <summary>Starts <paramref name="app"/> and returns a client of its 127.0.0.1 address with room for <paramref name="connections"/> connections.</summary>
    public static async Task<HttpClient> StartAsync(WebApplication app, int connections)
    {
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        address.Should().StartWith("http://127.0.0.1:");
        return new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections }) { BaseAddress = new Uri(address) };
    }

    /// <summary>Deletes the temporary folder.</summary>
    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
