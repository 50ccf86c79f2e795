using System.Text.Json;
using System.Text.Json.Serialization;

namespace PredictionService;

/// <summary>The posted sequence: one input vector x_t (length I) per step.</summary>
public sealed record PredictionRequest(float[][] Inputs);

/// <summary>The answer: the output y_t (length O) of every step, in order.</summary>
public sealed record PredictionResponse(float[][] Outputs);

/// <summary>Why a request was refused.</summary>
public sealed record PredictionError(string Error);

/// <summary>The served model's sizes.</summary>
public sealed record ModelInfo(int InputSize, int HiddenSize, int OutputSize);

/// <summary>A streaming session just opened: its id, for the step and close requests.</summary>
public sealed record StreamOpened(long Session);

/// <summary>One reading of a streaming session: the input x_t (length I).</summary>
public sealed record StepRequest(float[] Input);

/// <summary>The output y_t (length O) of that step.</summary>
public sealed record StepResponse(float[] Output);

/// <summary>Source-generated JSON for the contracts (no reflection; the slim builder's default).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(PredictionRequest))]
[JsonSerializable(typeof(PredictionResponse))]
[JsonSerializable(typeof(PredictionError))]
[JsonSerializable(typeof(ModelInfo))]
[JsonSerializable(typeof(StreamOpened))]
[JsonSerializable(typeof(StepRequest))]
[JsonSerializable(typeof(StepResponse))]
public sealed partial class PredictionJson : JsonSerializerContext;
