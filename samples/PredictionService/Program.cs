using PredictionService;

// Usage: dotnet run --project samples/PredictionService -- <model.rnncore> [url]
// Then: curl -s http://127.0.0.1:5080/predict -H 'Content-Type: application/json' -d '{"inputs":[[0.1,0.2],[0.3,0.4]]}'
if (args.Length is < 1 or > 2)
{
    Console.Error.WriteLine("usage: PredictionService <model.rnncore> [url, default http://127.0.0.1:5080]");
    return 2;
}

WebApplication app = PredictionServer.Build(args[0], args.Length > 1 ? args[1] : "http://127.0.0.1:5080");
await app.RunAsync();
return 0;
