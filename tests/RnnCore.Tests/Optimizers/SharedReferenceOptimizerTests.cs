using System.Numerics;
using System.Text.Json;
using RnnCore.Optimizers;

namespace RnnCore.Tests.Optimizers;

/// <summary>
/// The optimizer and clipping parts of the team's shared PyTorch reference cases (../shared/reference/*.json, next to
/// the repository), checked without the recurrent layer: each case's gradients at the initial parameters are given,
/// so clipping them and the first optimizer step (<c>expected.steps[0]</c>) can be replayed here. Later steps and
/// truncated-BPTT chunks need the layer to recompute gradients and are left to the trainer's tests.
/// </summary>
public abstract class SharedReferenceOptimizerTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly string[] ParameterNames = ["W_x", "W_h", "W_y", "b_h", "b_y"];

    public static TheoryData<string> ClippingFiles => new(Files(config =>
        config.GetProperty("clip_max_norm").ValueKind != JsonValueKind.Null
        || config.GetProperty("clip_value").ValueKind != JsonValueKind.Null));

    public static TheoryData<string> OptimizerFiles => new(Files(config =>
        config.GetProperty("optimizer").ValueKind != JsonValueKind.Null
        && config.GetProperty("tbptt_chunk").ValueKind == JsonValueKind.Null));

    /// <summary>Largest error allowed, relative to the largest magnitude in each tensor.</summary>
    protected abstract double Tolerance { get; }

    [Theory]
    [MemberData(nameof(ClippingFiles))]
    public void Clipping_matches_the_shared_reference(string file)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceDirectory(), file)));
        JsonElement root = document.RootElement;
        JsonElement expected = root.GetProperty("expected");
        TensorSet<T> gradients = Tensors.Create<T>(ParameterNames, Read(expected.GetProperty("grads")));
        double normBefore = gradients.L2Norm();

        double norm = ClippingOf(root.GetProperty("config")).Apply(gradients);

        if (expected.TryGetProperty("total_norm_before_clip", out JsonElement total))
        {
            norm.Should().BeApproximately(total.GetDouble(), Tolerance * total.GetDouble());
        }

        norm.Should().Be(normBefore);
        Tensors.ShouldMatch(gradients, Read(expected.GetProperty("clipped_grads")), Tolerance, file);
    }

    [Theory]
    [MemberData(nameof(OptimizerFiles))]
    public void First_optimizer_step_matches_the_shared_reference(string file)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceDirectory(), file)));
        JsonElement root = document.RootElement;
        JsonElement config = root.GetProperty("config");
        JsonElement expected = root.GetProperty("expected");
        TensorSet<T> parameters = Tensors.Create<T>(ParameterNames, Read(root.GetProperty("params")));
        TensorSet<T> gradients = Tensors.Create<T>(ParameterNames, Read(expected.GetProperty("grads")));
        IOptimizer<T> optimizer = CreateOptimizer(config.GetProperty("optimizer"));

        ClippingOf(config).Apply(gradients);
        optimizer.Step(parameters, gradients);

        Tensors.ShouldMatch(parameters, Read(expected.GetProperty("steps")[0].GetProperty("params")), Tolerance, file);
    }

    private static IOptimizer<T> CreateOptimizer(JsonElement options)
    {
        double lr = options.GetProperty("lr").GetDouble();
        double Number(string name, double fallback) =>
            options.TryGetProperty(name, out JsonElement value) ? value.GetDouble() : fallback;
        bool Flag(string name) => options.TryGetProperty(name, out JsonElement value) && value.GetBoolean();

        return options.GetProperty("name").GetString() switch
        {
            "sgd" => new SgdOptimizer<T>(
                lr, Number("momentum", 0), Number("dampening", 0), Flag("nesterov"), Number("weight_decay", 0)),
            "adagrad" => new AdagradOptimizer<T>(
                lr, Number("lr_decay", 0), Number("weight_decay", 0), Number("initial_accumulator_value", 0), Number("eps", 1e-10)),
            "rmsprop" => new RmsPropOptimizer<T>(
                lr, Number("alpha", 0.99), Number("eps", 1e-8), Number("weight_decay", 0), Number("momentum", 0), Flag("centered")),
            "adam" => new AdamOptimizer<T>(
                lr, epsilon: Number("eps", 1e-8), weightDecay: Number("weight_decay", 0), amsGrad: Flag("amsgrad")),
            string other => throw new InvalidOperationException($"Unknown optimizer '{other}'."),
            null => throw new InvalidOperationException("Optimizer without a name."),
        };
    }

    private static Clipping ClippingOf(JsonElement config)
    {
        if (config.GetProperty("clip_max_norm") is { ValueKind: JsonValueKind.Number } maxNorm)
        {
            return Clipping.ByGlobalNorm(maxNorm.GetDouble());
        }

        if (config.GetProperty("clip_value") is { ValueKind: JsonValueKind.Number } clipValue)
        {
            return Clipping.ByValue(clipValue.GetDouble());
        }

        return Clipping.None;
    }

    /// <summary>The five parameter-shaped tensors of a params/grads object, each flattened row-major.</summary>
    private static double[][] Read(JsonElement tensors) =>
        ParameterNames.Select(name => Flatten(tensors.GetProperty(name)).ToArray()).ToArray();

    private static IEnumerable<double> Flatten(JsonElement element) => element.ValueKind == JsonValueKind.Array
        ? element.EnumerateArray().SelectMany(Flatten)
        : [element.GetDouble()];

    /// <summary>The shared reference folder: ../shared/reference from the repository root.</summary>
    private static string ReferenceDirectory()
    {
        string repositoryRoot = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(OptimizerVectors.FindFile())!, "..", "..", ".."));
        string directory = Path.GetFullPath(Path.Combine(repositoryRoot, "..", "shared", "reference"));
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"The shared reference cases are expected in {directory}.");
        }

        return directory;
    }

    private static IEnumerable<string> Files(Func<JsonElement, bool> select)
    {
        foreach (string path in Directory.EnumerateFiles(ReferenceDirectory(), "*.json").Order(StringComparer.Ordinal))
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
            if (select(document.RootElement.GetProperty("config")))
            {
                yield return Path.GetFileName(path);
            }
        }
    }
}

public sealed class SharedReferenceOptimizerTestsDouble : SharedReferenceOptimizerTests<double>
{
    protected override double Tolerance => 1e-12;
}

public sealed class SharedReferenceOptimizerTestsSingle : SharedReferenceOptimizerTests<float>
{
    protected override double Tolerance => 1e-6;
}
