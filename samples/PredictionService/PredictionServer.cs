using RnnCore;
using RnnCore.Models;
using RnnCore.Persistence;

namespace PredictionService;

/// <summary>
/// The service: one model, loaded once from a model file or checkpoint, and two ways to use it: <c>POST /predict</c> runs
/// the forward pass over the posted sequence and answers with the output y_t of every step; <c>POST /streams</c> opens a
/// streaming session, <c>POST /streams/{id}</c> sends it one reading and answers with that step's output (the state is
/// carried between requests, see <see cref="StreamSessions"/>), <c>DELETE /streams/{id}</c> closes it.
/// </summary>
/// <remarks>
/// Concurrency: <see cref="RecurrentModel{T}.Forward(IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}}, ForwardCache{T}, IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}}, IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}}, IReadOnlyList{int}, bool)"/>
/// only reads the parameters, so requests share the network and each gets its own cache. The model's
/// <see cref="RecurrentModel{T}.MaxDegreeOfParallelism"/> decides how many cores one request's products may take:
/// a busy service usually wants 1 (the requests already fill the cores); null leaves the library's default, which
/// lends idle kernel threads to whichever request asks first (see docs/hosting.md).
/// </remarks>
public static class PredictionServer
{
    /// <summary>Builds the app, listening on <paramref name="url"/> (use http://127.0.0.1:0 for any free port).</summary>
    /// <param name="modelPath">A file written by <see cref="ModelFile.Save{T}(RecurrentModel{T}, string, RnnCore.Optimizers.IOptimizer{T}, TrainingPosition)"/> for a float network, any cell and depth (a checkpoint's extra sections are ignored).</param>
    /// <param name="url">The address to listen on.</param>
    /// <param name="maxDegreeOfParallelism">Threads per request's products, or null for the library's default.</param>
    /// <param name="maxSessions">The most streaming sessions open at once (their states are allocated up front).</param>
    /// <param name="idleTimeout">How long a streaming session may go without a step before it is expired (default 5 minutes).</param>
    /// <param name="time">The clock of the streaming sessions (default: the system's).</param>
    public static WebApplication Build(
        string modelPath, string url, int? maxDegreeOfParallelism = 1, int maxSessions = 256, TimeSpan? idleTimeout = null, TimeProvider? time = null)
    {
        RecurrentModel<float> network = ModelFile.Load<float>(modelPath);
        network.MaxDegreeOfParallelism = maxDegreeOfParallelism;
        var caches = new CachePool(network);

        // Streams step one reading at a time, which a bidirectional network cannot do (its reverse direction starts at
        // the sequence's end): such a network is served through /predict only.
        StreamSessions? sessions = network.Directions == 1
            ? new StreamSessions(network, maxSessions, idleTimeout ?? TimeSpan.FromMinutes(5), time ?? TimeProvider.System)
            : null;

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        if (sessions is not null)
        {
            builder.Services.AddSingleton(sessions);
        }

        builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, PredictionJson.Default));
        WebApplication app = builder.Build();

        app.MapGet("/model", () => new ModelInfo(network.InputSize, network.HiddenSize, network.OutputSize));
        app.MapPost("/predict", (PredictionRequest request) => Predict(network, caches, request));

        if (sessions is null)
        {
            return app;
        }

        // Streaming: open a session, send one reading per request, get that step's prediction; close when done.
        app.MapPost("/streams", () => sessions.Open() is long id
            ? Results.Ok(new StreamOpened(id))
            : Results.Json(new PredictionError($"all {sessions.MaxSessions} sessions are in use; try again later."), PredictionJson.Default.PredictionError, statusCode: 503));
        app.MapPost("/streams/{id:long}", async (long id, StepRequest request) =>
        {
            if (request.Input is null)
            {
                return Results.BadRequest(new PredictionError("input must be a list of numbers."));
            }

            StepOutcome outcome = await sessions.StepAsync(id, request.Input);
            return outcome.Output is float[] output
                ? Results.Ok(new StepResponse(output))
                : Results.Json(new PredictionError(outcome.Error!), PredictionJson.Default.PredictionError, statusCode: outcome.Status);
        });
        app.MapDelete("/streams/{id:long}", (long id) => sessions.Close(id) ? Results.NoContent() : Results.NotFound(new PredictionError($"there is no open session {id}.")));
        app.Lifetime.ApplicationStopped.Register(sessions.Dispose);
        return app;
    }

    /// <summary>Runs the forward pass; bad input is answered with 400 and the library's message.</summary>
    internal static IResult Predict(RecurrentModel<float> network, CachePool caches, PredictionRequest request)
    {
        if (request.Inputs is not { Length: > 0 } inputs || inputs.Any(step => step is null))
        {
            return Results.BadRequest(new PredictionError("inputs must hold at least one step, each a list of numbers."));
        }

        if (inputs.Length > CachePool.MaxSteps)
        {
            return Results.BadRequest(new PredictionError($"inputs has {inputs.Length} steps; this service accepts at most {CachePool.MaxSteps}."));
        }

        ForwardCache<float> cache = caches.Rent(inputs.Length);
        try
        {
            // One column per step: x_t as an I x 1 matrix (B = 1), into a cache reused across requests.
            var sequence = inputs.Select(step => MathNet.Numerics.LinearAlgebra.Matrix<float>.Build.Dense(step.Length, 1, step)).ToList();
            network.Forward(sequence, cache);
            float[][] outputs = new float[cache.Steps][];
            for (int t = 0; t < cache.Steps; t++)
            {
                outputs[t] = cache.Output(t).ToColumnMajorArray();
            }

            return Results.Ok(new PredictionResponse(outputs));
        }
        catch (ArgumentException e)
        {
            return Results.BadRequest(new PredictionError(e.Message));
        }
        catch (NonFiniteValueException e)
        {
            return Results.UnprocessableEntity(new PredictionError(e.Message));
        }
        finally
        {
            caches.Return(cache);
        }
    }
}
