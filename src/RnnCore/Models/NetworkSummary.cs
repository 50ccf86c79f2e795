using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace RnnCore.Models;

/// <summary>
/// What a network is made of, as Keras's <c>model.summary()</c> or torchinfo print it: one row per recurrent layer and
/// one for the output head, each with its kind, directions, input and output features per step and parameter count,
/// and the total. <see cref="ToString"/> gives the table; the rows are there to read in code.
/// </summary>
/// <remarks>
/// Shapes are per batch: <c>[B, T, F]</c> is B sequences of T steps of F features. A layer-direction of a cell with G
/// gate blocks (1 vanilla, 4 LSTM, 3 GRU) over n_in inputs holds G·H·n_in + G·H·H weights and its biases: G·H for
/// <see cref="RecurrentLayer{T}"/> (one b_h), 2·G·H for <see cref="RecurrentModel{T}"/> (PyTorch's b_ih and b_hh).
/// The head holds O·n + O. The counts add up to the length of the network's <c>Parameters</c>.
/// </remarks>
public sealed class NetworkSummary
{
    private NetworkSummary(string network, IReadOnlyList<NetworkSummaryRow> rows, int bytesPerParameter)
    {
        Network = network;
        Rows = rows;
        TotalParameters = rows.Sum(r => r.Parameters);
        ParameterBytes = TotalParameters * bytesPerParameter;
    }

    /// <summary>The network in one line, e.g. <c>RecurrentModel&lt;float&gt;: LSTM, 2 layers, bidirectional, dropout 0.2</c>.</summary>
    public string Network { get; }

    /// <summary>The recurrent layers, bottom first, then the output head.</summary>
    public IReadOnlyList<NetworkSummaryRow> Rows { get; }

    /// <summary>Every parameter, all trainable.</summary>
    public long TotalParameters { get; }

    /// <summary>The memory the parameters take: <see cref="TotalParameters"/> times 4 (float) or 8 (double).</summary>
    public long ParameterBytes { get; }

    /// <summary>The table: a title line, a header, one line per row, the total.</summary>
    /// <returns>The summary as text, lines separated by <see cref="Environment.NewLine"/>.</returns>
    public override string ToString()
    {
        string[][] cells =
        [
            ["Layer", "Kind", "Directions", "Input", "Output", "Parameters"],
            .. Rows.Select(r => new[]
            {
                r.Name, r.Kind, r.Directions.ToString(CultureInfo.InvariantCulture), $"[B, T, {r.InputFeatures}]", $"[B, T, {r.OutputFeatures}]",
                r.Parameters.ToString("N0", CultureInfo.InvariantCulture),
            }),
        ];
        int[] widths = [.. Enumerable.Range(0, 6).Select(c => cells.Max(row => row[c].Length))];
        var text = new StringBuilder().Append(Network).AppendLine();
        foreach (string[] row in cells)
        {
            // Names and kinds left-aligned, numbers and shapes right-aligned, two spaces between columns.
            text.AppendLine(string.Join("  ", row.Select((cell, c) => c < 2 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd());
        }

        return text.Append(CultureInfo.InvariantCulture, $"Total: {TotalParameters:N0} parameters ({ParameterBytes:N0} bytes)").ToString();
    }

    /// <summary>
    /// The summary of a network: one row per layer (both directions together), then the head, each counting the
    /// network's own parameters (the layer's one b_h, a model's b_ih and b_hh). The layer keeps the design card's names:
    /// rows <c>recurrent</c> and <c>output</c>, titled by its hidden activation.
    /// </summary>
    internal static NetworkSummary Of<T>(RecurrentModel<T> network)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        RecurrentModelOptions options = network.Options;
        int h = options.HiddenSize, hs = network.StateSize, d = network.Directions;
        bool layer = network is RecurrentLayer<T>;
        Cells.CellDescription description = network.Cell.Description;
        string activation = options.HiddenActivation == HiddenActivation.Tanh ? "tanh" : "ReLU";
        string cell = description.SummaryTitle(options.HiddenActivation, options.ProjectionSize);
        var rows = new List<NetworkSummaryRow>();
        for (int k = 0; k < options.Layers; k++)
        {
            int inputs = k == 0 ? options.InputSize : d * hs;
            long parameters = 0;
            for (int ld = k * d; ld < (k + 1) * d; ld++)
            {
                foreach (int index in network.TensorIndices(ld))
                {
                    parameters += index >= 0 ? network.Parameters.GetLength(index) : 0;
                }
            }

            rows.Add(new NetworkSummaryRow(layer ? "recurrent" : $"rnn layer {k}", cell, d, inputs, d * hs, parameters));
        }

        long head = (long)network.Parameters.GetLength(network.HeadWeightIndex) + network.Parameters.GetLength(network.HeadBiasIndex);
        rows.Add(new NetworkSummaryRow(layer ? "output" : "head", $"Linear + {Output(options.OutputActivation)}", 1, d * hs, options.OutputSize, head));
        if (layer)
        {
            return new NetworkSummary($"RecurrentLayer<{TypeName<T>()}>: {activation}, hidden size {h}", rows, Unsafe.SizeOf<T>());
        }

        string layers = options.Layers == 1 ? "1 layer" : $"{options.Layers} layers";
        string shape = $"{cell}, {layers}, hidden size {h}{(d == 2 ? ", bidirectional" : string.Empty)}"
            + (options.Dropout > 0 ? string.Create(CultureInfo.InvariantCulture, $", dropout {options.Dropout}") : string.Empty);
        return new NetworkSummary($"RecurrentModel<{TypeName<T>()}>: {shape}", rows, Unsafe.SizeOf<T>());
    }

    private static string Output(OutputActivation activation) => activation switch
    {
        OutputActivation.Softmax => "softmax",
        OutputActivation.Sigmoid => "sigmoid",
        _ => "identity",
    };

    private static string TypeName<T>() => typeof(T) == typeof(float) ? "float" : "double";
}

/// <summary>One row of a <see cref="NetworkSummary"/>: a recurrent layer (all its directions) or the output head.</summary>
public sealed class NetworkSummaryRow
{
    internal NetworkSummaryRow(string name, string kind, int directions, int inputFeatures, int outputFeatures, long parameters)
    {
        Name = name;
        Kind = kind;
        Directions = directions;
        InputFeatures = inputFeatures;
        OutputFeatures = outputFeatures;
        Parameters = parameters;
    }

    /// <summary>The row's name: <c>recurrent</c> and <c>output</c> for a layer; <c>rnn layer k</c> and <c>head</c> for a model.</summary>
    public string Name { get; }

    /// <summary>What computes it, e.g. <c>LSTM</c>, <c>GRU</c>, <c>Elman RNN (tanh)</c>, <c>Linear + softmax</c>.</summary>
    public string Kind { get; }

    /// <summary>1, or 2 for a bidirectional layer (whose output joins both directions' h).</summary>
    public int Directions { get; }

    /// <summary>Features per step coming in.</summary>
    public int InputFeatures { get; }

    /// <summary>Features per step going out: D·H for a recurrent layer, O for the head.</summary>
    public int OutputFeatures { get; }

    /// <summary>The row's parameter count, every direction included.</summary>
    public long Parameters { get; }
}
