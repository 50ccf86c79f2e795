using PredictionService;

// Usage: dotnet run --project samples/PredictionService -- <model.rnncore> [url]
// Then: curl -s http://127.0.0.1:5080/predict -H 'Content-Type: application/json' -d '{"inputs":[[0.1,0.2],[0.3,0.4]]}'
// Streaming: curl -s -X POST http://127.0.0.1:5080/streams                      -> {"session":1}
//            curl -s http://127.0.0.1:5080/streams/1 -H 'Content-Type: application/json' -d '{"input":[0.1,0.2]}'   (one reading per request)
//            curl -s -X DELETE http://127.0.0.1:5080/streams/1
if (args.Length is < 1 or > 2)
{
    Console.Error.WriteLine("usage: PredictionService <model.rnncore> [url, default http://127.0.0.1:5080]");
    return 2;
}

WebApplication app = PredictionServer.Build(args[0], args.Length > 1 ? args[1] : "http://127.0.0.1:5080");
await app.RunAsync();
return 0;
