using System.Numerics;
using System.Text.Json;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;

namespace RnnCore.Tests.Reference;

/// <summary>
/// One PyTorch float64 reference file of ../shared/reference-cells or ../shared/reference-cells-proj (format: their
/// README.md files), parsed into RnnCore's shapes.
/// Arrays are row-major nested lists: inputs [T][B][I] (step t's I x B matrix has (i, b) = inputs[t][b][i]), states
/// [L·D][B][H] ([L·D][B][P] for h with projections), parameters [rows][cols] or [n] under PyTorch's state_dict names.
/// </summary>
internal sealed class CellsReferenceCase
{
    private CellsReferenceCase(string name, JsonElement root)
    {
        Name = name;
        Root = root;
        JsonElement config = root.GetProperty("config");
        Steps = config.GetProperty("steps").GetInt32();
        Batch = config.GetProperty("batch").GetInt32();
        RecurrentCellKind cell = config.GetProperty("cell").GetString() switch
        {
            "rnn" => RecurrentCellKind.Vanilla,
            "lstm" => RecurrentCellKind.Lstm,
            "gru" => RecurrentCellKind.Gru,
            string other => throw new NotSupportedException($"{name}: unknown cell '{other}'"),
            null => throw new NotSupportedException($"{name}: cell is null"),
        };
        HiddenActivation hidden = config.TryGetProperty("hidden_activation", out JsonElement f) && f.ValueKind == JsonValueKind.String
            ? f.GetString() switch
            {
                "tanh" => HiddenActivation.Tanh,
                "relu" => HiddenActivation.Relu,
                string other => throw new NotSupportedException($"{name}: unknown hidden_activation '{other}'"),
                null => HiddenActivation.Tanh,
            }
            : cell == RecurrentCellKind.Vanilla ? throw new NotSupportedException($"{name}: an rnn cell needs hidden_activation") : HiddenActivation.Tanh;
        OutputActivation output = config.GetProperty("output_activation").GetString() switch
        {
            "softmax" => OutputActivation.Softmax,
            "sigmoid" => OutputActivation.Sigmoid,
            "identity" => OutputActivation.Identity,
            string other => throw new NotSupportedException($"{name}: unknown output_activation '{other}'"),
            null => throw new NotSupportedException($"{name}: output_activation is null"),
        };
        string loss = config.GetProperty("loss").GetString()!;
        string expectedLoss = output switch
        {
            OutputActivation.Softmax => "cross_entropy",
            OutputActivation.Sigmoid => "binary_cross_entropy",
            _ => "mse",
        };
        if (loss != expectedLoss)
        {
            throw new NotSupportedException($"{name}: loss '{loss}' with output '{output}' is not a pairing RnnCore supports (expected '{expectedLoss}').");
        }

        Options = new RecurrentModelOptions(
            config.GetProperty("input_size").GetInt32(), config.GetProperty("hidden_size").GetInt32(), config.GetProperty("output_size").GetInt32())
        {
            Cell = cell,
            Layers = config.GetProperty("num_layers").GetInt32(),
            Bidirectional = config.GetProperty("bidirectional").GetBoolean(),
            HiddenActivation = hidden,
            OutputActivation = output,

            // Token cases (../Reference/tokens/README.md): an nn.Embedding(vocab_size, input_size) in front.
            VocabularySize = config.TryGetProperty("vocab_size", out JsonElement vocabulary) ? vocabulary.GetInt32() : 0,
            PaddingId = config.TryGetProperty("padding_idx", out JsonElement padding) && padding.ValueKind == JsonValueKind.Number ? padding.GetInt32() : null,
            // ../shared/reference-cells-proj: an LSTM with projections (PyTorch's proj_size); absent or null elsewhere.
            ProjectionSize = config.TryGetProperty("proj_size", out JsonElement projection) && projection.ValueKind == JsonValueKind.Number
                ? projection.GetInt32()
                : null,
        };
        Placement = config.GetProperty("placement").GetString() switch
        {
            "all_steps" => LossPlacement.EveryStep,
            "last_step" => LossPlacement.LastStep,
            string other => throw new NotSupportedException($"{name}: unknown placement '{other}'"),
            null => throw new NotSupportedException($"{name}: placement is null"),
        };
        Reduction = config.GetProperty("reduction").GetString() switch
        {
            "sum" => LossReduction.Sum,
            "mean" => LossReduction.Mean,
            string other => throw new NotSupportedException($"{name}: unknown reduction '{other}'"),
            null => throw new NotSupportedException($"{name}: reduction is null"),
        };
        Optimizer = config.TryGetProperty("optimizer", out JsonElement optimizer) && optimizer.ValueKind == JsonValueKind.Object ? optimizer : null;
        ClipMaxNorm = OptionalDouble(config, "clip_max_norm");
        ClipValue = OptionalDouble(config, "clip_value");
        TbpttChunk = config.TryGetProperty("tbptt_chunk", out JsonElement chunk) && chunk.ValueKind == JsonValueKind.Number ? chunk.GetInt32() : null;
        Float32TrajectoryComparable = !root.TryGetProperty("float32", out JsonElement float32) || float32.ValueKind != JsonValueKind.Object
            || !float32.TryGetProperty("trajectory_comparable", out JsonElement comparable) || comparable.GetBoolean();
    }

    public string Name { get; }

    public JsonElement Root { get; }

    public RecurrentModelOptions Options { get; }

    public int Steps { get; }

    public int Batch { get; }

    public int StateCount => Options.Layers * (Options.Bidirectional ? 2 : 1);

    public LossPlacement Placement { get; }

    public LossReduction Reduction { get; }

    public JsonElement? Optimizer { get; }

    public double? ClipMaxNorm { get; }

    public double? ClipValue { get; }

    public int? TbpttChunk { get; }

    public bool Float32TrajectoryComparable { get; }

    public JsonElement Expected => Root.GetProperty("expected");

    public static CellsReferenceCase Load(string path)
    {
        using FileStream stream = File.OpenRead(path);
        using JsonDocument document = JsonDocument.Parse(stream);
        return new CellsReferenceCase(Path.GetFileNameWithoutExtension(path), document.RootElement.Clone());
    }

    /// <summary>A model of this case's shape holding the case's initial parameters (rounded to T).</summary>
    public RecurrentModel<T> CreateModel<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var model = new RecurrentModel<T>(Options);
        SetParameters(model, Root.GetProperty("params"), Name);
        return model;
    }

    /// <summary>Copies a params object into the model by name; the names must be exactly the model's.</summary>
    public static void SetParameters<T>(RecurrentModel<T> model, JsonElement parameters, string label)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        AssertSameNames(model.Parameters, parameters, label);
        foreach (JsonProperty parameter in parameters.EnumerateObject())
        {
            Matrix<T> live = model.Parameter(parameter.Name);
            double[] values = ReferenceCase.Flatten(parameter.Value);
            values.Length.Should().Be(live.RowCount * live.ColumnCount, $"{label}: {parameter.Name} has the model's shape");
            for (int i = 0; i < live.RowCount; i++)
            {
                for (int j = 0; j < live.ColumnCount; j++)
                {
                    live[i, j] = T.CreateTruncating(values[(i * live.ColumnCount) + j]);
                }
            }
        }
    }

    /// <summary>The params object's names are the model's parameter names, in the same (state_dict) order.</summary>
    public static void AssertSameNames<T>(TensorSet<T> set, JsonElement parameters, string label)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string[] names = parameters.EnumerateObject().Select(p => p.Name).Where(n => n is not "h0" and not "c0").ToArray();
        names.Should().Equal(Enumerable.Range(0, set.Count).Select(set.GetName), $"{label}: the file's parameters are the model's, in state_dict order");
    }

    /// <summary>True for a token case: input_ids [T][B] and lengths [B] instead of inputs.</summary>
    public bool HasIds => Root.TryGetProperty("input_ids", out _);

    /// <summary>input_ids [T][B] as T arrays of B ids.</summary>
    public int[][] InputIds() =>
        Root.GetProperty("input_ids").EnumerateArray().Select(step => step.EnumerateArray().Select(id => id.GetInt32()).ToArray()).ToArray();

    /// <summary>lengths [B], or null when the file has none (every sequence has T steps).</summary>
    public int[]? Lengths() =>
        Root.TryGetProperty("lengths", out JsonElement lengths) ? lengths.EnumerateArray().Select(l => l.GetInt32()).ToArray() : null;

    /// <summary>inputs [T][B][I] as T matrices of I x B.</summary>
    public List<Matrix<T>> Inputs<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
        => Root.GetProperty("inputs").EnumerateArray().Select(ToMatrixTransposed<T>).ToList();

    /// <summary>A state array [L·D][B][H] (h0 or c0) as L·D matrices of H x B; null when the file has no such key.</summary>
    public List<Matrix<T>>? States<T>(string key)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Root.TryGetProperty(key, out JsonElement states) && states.ValueKind == JsonValueKind.Array
            ? states.EnumerateArray().Select(ToMatrixTransposed<T>).ToList()
            : null;

    /// <summary>The targets in RnnCore's form (the first <paramref name="steps"/> steps for all_steps; one step for last_step).</summary>
    public SequenceTargets<T> Targets<T>(int? steps = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        JsonElement targets = Root.GetProperty("targets");
        bool perStep = Placement == LossPlacement.EveryStep;
        int count = steps ?? Steps;
        if (Options.OutputActivation == OutputActivation.Softmax)
        {
            int[][] classes = perStep
                ? targets.EnumerateArray().Take(count).Select(step => step.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray()
                : [targets.EnumerateArray().Select(c => c.GetInt32()).ToArray()];
            return SequenceTargets<T>.FromClasses(classes);
        }

        List<Matrix<T>> values = perStep
            ? targets.EnumerateArray().Take(count).Select(ToMatrixTransposed<T>).ToList()
            : [ToMatrixTransposed<T>(targets)];
        return SequenceTargets<T>.FromValues(values);
    }

    /// <summary>A matrix flattened row-major (a bias is n x 1, so its rows are its elements).</summary>
    public static double[] RowMajor<T>(Matrix<T> matrix)
        where T : unmanaged, IFloatingPointIeee754<T>
        => ReferenceCase.RowMajor(matrix);

    /// <summary>H x B state matrices as the file lays them out, [L·D][B][H].</summary>
    public static double[] States<T>(IEnumerable<Matrix<T>> states)
        where T : unmanaged, IFloatingPointIeee754<T>
        => states.SelectMany(s => ReferenceCase.RowMajor(s.Transpose())).ToArray();

    private static double? OptionalDouble(JsonElement config, string name)
        => config.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    /// <summary>A [B][n] array as an n x B matrix (one column per sequence).</summary>
    private static Matrix<T> ToMatrixTransposed<T>(JsonElement rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[][] data = rows.EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        return Matrix<T>.Build.Dense(data[0].Length, data.Length, (i, j) => T.CreateTruncating(data[j][i]));
    }
}
