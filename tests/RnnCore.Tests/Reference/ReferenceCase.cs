using System.Text.Json;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;

namespace RnnCore.Tests.Reference;

/// <summary>
/// One PyTorch float64 reference file (format: ../shared/reference/README.md), parsed into RnnCore's shapes.
/// All arrays in the file are row-major nested lists; inputs are [T][B][I], so step t's I x B matrix has element
/// (i, b) = inputs[t][b][i].
/// </summary>
internal sealed class ReferenceCase
{
    private ReferenceCase(string name, JsonElement root)
    {
        Name = name;
        Root = root;
        JsonElement config = root.GetProperty("config");
        InputSize = config.GetProperty("input_size").GetInt32();
        HiddenSize = config.GetProperty("hidden_size").GetInt32();
        OutputSize = config.GetProperty("output_size").GetInt32();
        Steps = config.GetProperty("steps").GetInt32();
        Batch = config.GetProperty("batch").GetInt32();
        HiddenActivation = config.GetProperty("hidden_activation").GetString() switch
        {
            "tanh" => RnnCore.HiddenActivation.Tanh,
            "relu" => RnnCore.HiddenActivation.Relu,
            string other => throw new NotSupportedException($"{name}: unknown hidden_activation '{other}'"),
            null => throw new NotSupportedException($"{name}: hidden_activation is null"),
        };
        OutputActivation = config.GetProperty("output_activation").GetString() switch
        {
            "softmax" => RnnCore.OutputActivation.Softmax,
            "sigmoid" => RnnCore.OutputActivation.Sigmoid,
            "identity" => RnnCore.OutputActivation.Identity,
            string other => throw new NotSupportedException($"{name}: unknown output_activation '{other}'"),
            null => throw new NotSupportedException($"{name}: output_activation is null"),
        };
        string loss = config.GetProperty("loss").GetString()!;
        string expectedLoss = OutputActivation switch
        {
            RnnCore.OutputActivation.Softmax => "cross_entropy",
            RnnCore.OutputActivation.Sigmoid => "binary_cross_entropy",
            _ => "mse",
        };
        if (loss != expectedLoss)
        {
            throw new NotSupportedException($"{name}: loss '{loss}' with output '{OutputActivation}' is not a pairing RnnCore supports (expected '{expectedLoss}').");
        }

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
        JsonElement float32 = root.TryGetProperty("float32", out JsonElement f) ? f : default;
        Float32TrajectoryComparable = float32.ValueKind != JsonValueKind.Object
            || !float32.TryGetProperty("trajectory_comparable", out JsonElement comparable)
            || comparable.GetBoolean();
    }

    public string Name { get; }

    public JsonElement Root { get; }

    public int InputSize { get; }

    public int HiddenSize { get; }

    public int OutputSize { get; }

    public int Steps { get; }

    public int Batch { get; }

    public HiddenActivation HiddenActivation { get; }

    public OutputActivation OutputActivation { get; }

    public LossPlacement Placement { get; }

    public LossReduction Reduction { get; }

    public JsonElement? Optimizer { get; }

    public double? ClipMaxNorm { get; }

    public double? ClipValue { get; }

    public int? TbpttChunk { get; }

    public bool Float32TrajectoryComparable { get; }

    public JsonElement Expected => Root.GetProperty("expected");

    public static ReferenceCase Load(string path)
    {
        using FileStream stream = File.OpenRead(path);
        using JsonDocument document = JsonDocument.Parse(stream);
        return new ReferenceCase(Path.GetFileNameWithoutExtension(path), document.RootElement.Clone());
    }

    /// <summary>A layer of this case's sizes holding the case's initial parameters (rounded to T).</summary>
    public RecurrentLayer<T> CreateLayer<T>()
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var layer = new RecurrentLayer<T>(InputSize, HiddenSize, OutputSize, HiddenActivation, OutputActivation);
        SetParameters(layer, Root.GetProperty("params"));
        return layer;
    }

    /// <summary>Copies a params object ({W_x, W_h, W_y, b_h, b_y}) into the layer.</summary>
    public static void SetParameters<T>(RecurrentLayer<T> layer, JsonElement parameters)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        layer.Wx.SetSubMatrix(0, 0, ToMatrix<T>(parameters.GetProperty("W_x")));
        layer.Wh.SetSubMatrix(0, 0, ToMatrix<T>(parameters.GetProperty("W_h")));
        layer.Wy.SetSubMatrix(0, 0, ToMatrix<T>(parameters.GetProperty("W_y")));
        layer.Bh.SetSubVector(0, layer.HiddenSize, ToVector<T>(parameters.GetProperty("b_h")));
        layer.By.SetSubVector(0, layer.OutputSize, ToVector<T>(parameters.GetProperty("b_y")));
    }

    /// <summary>inputs [T][B][I] as T matrices of I x B.</summary>
    public List<Matrix<T>> Inputs<T>()
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        => Root.GetProperty("inputs").EnumerateArray().Select(ToMatrixTransposed<T>).ToList();

    /// <summary>h0 [B][H] as an H x B matrix.</summary>
    public Matrix<T> InitialHidden<T>()
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        => ToMatrixTransposed<T>(Root.GetProperty("h0"));

    /// <summary>The targets in RnnCore's form: per step for all_steps, one step for last_step.</summary>
    public SequenceTargets<T> Targets<T>()
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        JsonElement targets = Root.GetProperty("targets");
        bool perStep = Placement == LossPlacement.EveryStep;
        if (OutputActivation == RnnCore.OutputActivation.Softmax)
        {
            int[][] classes = perStep
                ? targets.EnumerateArray().Select(step => step.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray()
                : [targets.EnumerateArray().Select(c => c.GetInt32()).ToArray()];
            return SequenceTargets<T>.FromClasses(classes);
        }

        List<Matrix<T>> values = perStep
            ? targets.EnumerateArray().Select(ToMatrixTransposed<T>).ToList()
            : [ToMatrixTransposed<T>(targets)];
        return SequenceTargets<T>.FromValues(values);
    }

    /// <summary>
    /// Targets for every step, as truncated BPTT needs them (the first <paramref name="steps"/> steps, all when null).
    /// The files give last_step cases one target per sequence, for step T only; those cannot be chunked.
    /// </summary>
    public SequenceTargets<T> PerStepTargets<T>(int? steps = null)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (Placement != LossPlacement.EveryStep)
        {
            throw new NotSupportedException($"{Name}: truncated BPTT with last_step targets needs a target per step, which the format does not give.");
        }

        JsonElement targets = Root.GetProperty("targets");
        int count = steps ?? Steps;
        if (OutputActivation == RnnCore.OutputActivation.Softmax)
        {
            return SequenceTargets<T>.FromClasses(
                targets.EnumerateArray().Take(count).Select(step => step.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray());
        }

        return SequenceTargets<T>.FromValues(targets.EnumerateArray().Take(count).Select(ToMatrixTransposed<T>).ToList());
    }

    /// <summary>Every number of a nested array, flattened in row-major order.</summary>
    public static double[] Flatten(JsonElement element)
    {
        var values = new List<double>();
        Walk(element);
        return values.ToArray();

        void Walk(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement child in e.EnumerateArray())
                {
                    Walk(child);
                }
            }
            else
            {
                values.Add(e.GetDouble());
            }
        }
    }

    /// <summary>A matrix flattened row-major, to compare with a row-major JSON array.</summary>
    public static double[] RowMajor<T>(Matrix<T> matrix)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var values = new double[matrix.RowCount * matrix.ColumnCount];
        for (int i = 0; i < matrix.RowCount; i++)
        {
            for (int j = 0; j < matrix.ColumnCount; j++)
            {
                values[(i * matrix.ColumnCount) + j] = double.CreateTruncating(matrix[i, j]);
            }
        }

        return values;
    }

    private static double? OptionalDouble(JsonElement config, string name)
        => config.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    private static Matrix<T> ToMatrix<T>(JsonElement rows)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        double[][] data = rows.EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        return Matrix<T>.Build.Dense(data.Length, data[0].Length, (i, j) => T.CreateTruncating(data[i][j]));
    }

    /// <summary>A [B][n] array as an n x B matrix (one column per sequence).</summary>
    private static Matrix<T> ToMatrixTransposed<T>(JsonElement rows)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        => ToMatrix<T>(rows).Transpose();

    private static MathNet.Numerics.LinearAlgebra.Vector<T> ToVector<T>(JsonElement values)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(values.EnumerateArray().Select(v => T.CreateTruncating(v.GetDouble())).ToArray());
}
