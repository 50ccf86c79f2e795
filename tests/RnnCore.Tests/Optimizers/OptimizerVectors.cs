using System.Numerics;
using System.Text.Json;
using RnnCore.Optimizers;

namespace RnnCore.Tests.Optimizers;

/// <summary>One optimizer trajectory from optimizer-vectors.json (PyTorch float64).</summary>
internal sealed record OptimizerCase(
    string Name,
    string Optimizer,
    JsonElement Options,
    string[] Names,
    double[][] Initial,
    double[][][] Gradients,
    double[] LearningRates,
    double[][][] Expected)
{
    public override string ToString() => Name;

    /// <summary>Builds the optimizer the case describes, PyTorch's option names mapped to ours.</summary>
    public OptimizerBase<T> Create<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double lr = Number("lr", double.NaN);
        return Optimizer switch
        {
            "sgd" => new SgdOptimizer<T>(
                lr,
                momentum: Number("momentum", 0),
                dampening: Number("dampening", 0),
                nesterov: Flag("nesterov"),
                weightDecay: Number("weight_decay", 0)),
            "adagrad" => new AdagradOptimizer<T>(
                lr,
                learningRateDecay: Number("lr_decay", 0),
                weightDecay: Number("weight_decay", 0),
                initialAccumulatorValue: Number("initial_accumulator_value", 0),
                epsilon: Number("eps", 1e-10)),
            "rmsprop" => new RmsPropOptimizer<T>(
                lr,
                alpha: Number("alpha", 0.99),
                epsilon: Number("eps", 1e-8),
                weightDecay: Number("weight_decay", 0),
                momentum: Number("momentum", 0),
                centered: Flag("centered")),
            "adam" => new AdamOptimizer<T>(
                lr,
                beta1: Options.TryGetProperty("betas", out JsonElement b1) ? b1[0].GetDouble() : 0.9,
                beta2: Options.TryGetProperty("betas", out JsonElement b2) ? b2[1].GetDouble() : 0.999,
                epsilon: Number("eps", 1e-8),
                weightDecay: Number("weight_decay", 0),
                amsGrad: Flag("amsgrad")),
            _ => throw new InvalidOperationException($"Unknown optimizer '{Optimizer}' in case {Name}."),
        };
    }

    private double Number(string name, double fallback) =>
        Options.TryGetProperty(name, out JsonElement value) ? value.GetDouble() : fallback;

    private bool Flag(string name) => Options.TryGetProperty(name, out JsonElement value) && value.GetBoolean();
}

/// <summary>One clipping case from optimizer-vectors.json (PyTorch float64).</summary>
internal sealed record ClippingCase(
    string Name, string Mode, double Threshold, string[] Names, double[][] Gradients, double ExpectedNorm, double[][] Expected)
{
    public override string ToString() => Name;
}

/// <summary>
/// Loads tests/RnnCore.Tests/Optimizers/optimizer-vectors.json, written by make_optimizer_vectors.py with PyTorch.
/// The file is found from the repository root (the folder holding RnnCore.sln), walking up from the test binaries.
/// </summary>
internal static class OptimizerVectors
{
    private static readonly Lazy<(OptimizerCase[] Optimizers, ClippingCase[] Clipping)> Loaded = new(Load);

    public static OptimizerCase[] Optimizers => Loaded.Value.Optimizers;

    public static ClippingCase[] Clipping => Loaded.Value.Clipping;

    public static OptimizerCase Optimizer(string name) => Optimizers.Single(c => c.Name == name);

    public static ClippingCase Clip(string name) => Clipping.Single(c => c.Name == name);

    public static string FindFile()
    {
        DirectoryInfo? directory = new(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "RnnCore.sln")))
        {
            directory = directory.Parent;
        }

        if (directory is null)
        {
            throw new FileNotFoundException($"No RnnCore.sln above {AppContext.BaseDirectory}; cannot find the optimizer vectors.");
        }

        return Path.Combine(directory.FullName, "tests", "RnnCore.Tests", "Optimizers", "optimizer-vectors.json");
    }

    private static (OptimizerCase[], ClippingCase[]) Load()
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(FindFile()));
        JsonElement root = document.RootElement;
        OptimizerCase[] optimizers = root.GetProperty("optimizers").EnumerateArray()
            .Select(c => new OptimizerCase(
                c.GetProperty("name").GetString()!,
                c.GetProperty("optimizer").GetString()!,
                c.GetProperty("options").Clone(),
                Strings(c.GetProperty("names")),
                Matrix(c.GetProperty("initial")),
                c.GetProperty("gradients").EnumerateArray().Select(Matrix).ToArray(),
                Vector(c.GetProperty("learning_rates")),
                c.GetProperty("expected").EnumerateArray().Select(Matrix).ToArray()))
            .ToArray();
        ClippingCase[] clipping = root.GetProperty("clipping").EnumerateArray()
            .Select(c => new ClippingCase(
                c.GetProperty("name").GetString()!,
                c.GetProperty("mode").GetString()!,
                c.GetProperty("threshold").GetDouble(),
                Strings(c.GetProperty("names")),
                Matrix(c.GetProperty("gradients")),
                c.GetProperty("expected_norm").GetDouble(),
                Matrix(c.GetProperty("expected"))))
            .ToArray();
        return (optimizers, clipping);
    }

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    private static double[] Vector(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    private static double[][] Matrix(JsonElement array) => array.EnumerateArray().Select(Vector).ToArray();
}
