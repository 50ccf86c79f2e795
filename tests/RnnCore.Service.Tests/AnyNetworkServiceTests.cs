using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using PredictionService;
using RnnCore.Models;
using RnnCore.Persistence;

namespace RnnCore.Service.Tests;

/// <summary>The service serves any network's file: a stacked bidirectional LSTM answers /predict as its Forward does, and has no streams.</summary>
public sealed class AnyNetworkServiceTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnncore-any-network-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_bidirectional_lstm_is_served_through_predict_only()
    {
        string modelPath = Path.Combine(_directory, "lstm.rnncore");
        var model = new RecurrentModel<float>(new RecurrentModelOptions(3, 5, 2) { Cell = RecurrentCellKind.Lstm, Layers = 2, Bidirectional = true, Seed = 4 });
        ModelFile.Save(model, modelPath);
        float[][] sequence = [[0.5f, -1f, 0.25f], [1f, 0f, -0.5f], [0.1f, 0.2f, 0.3f]];
        float[][] expected = ProcessMeasurements.SingleThreadedForward(model, sequence);

        await using WebApplication app = PredictionServer.Build(modelPath, "http://127.0.0.1:0");
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };

        HttpResponseMessage predicted = await client.PostAsJsonAsync("/predict", new PredictionRequest(sequence), PredictionJson.Default.PredictionRequest);
        predicted.StatusCode.Should().Be(HttpStatusCode.OK);
        PredictionResponse? answer = await predicted.Content.ReadFromJsonAsync(PredictionJson.Default.PredictionResponse);
        answer!.Outputs.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());

        (await client.PostAsync("/streams", content: null)).StatusCode.Should().Be(HttpStatusCode.NotFound, "a bidirectional network cannot step one reading at a time");
        app.Services.GetService<StreamSessions>().Should().BeNull();
        await app.StopAsync();
    }
}
