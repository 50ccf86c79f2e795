using System.Numerics;

namespace RnnCore.Cells;

/// <summary>
/// What a cell is, for everything outside its step: its names (in messages, in the model file, in PyTorch and
/// safetensors), its gates, whether it carries c, its parameter tensors per layer-direction and its ONNX mapping. The
/// network, the model file, safetensors, ONNX, the summary, the initializers and the gradient check read this; none of
/// them names a cell. Each cell file declares its own; <see cref="CellRegistry"/> lists them.
/// </summary>
internal abstract class CellDescription
{
    private readonly string? _summaryName;

    /// <summary>The <see cref="RecurrentCellKind"/> that selects this cell in <c>RecurrentModelOptions.Cell</c>.</summary>
    public required RecurrentCellKind Kind { get; init; }

    /// <summary>The cell's name in messages and summaries: "vanilla", "LSTM", "GRU".</summary>
    public required string DisplayName { get; init; }

    /// <summary>The cell's name in a network summary's Kind column: "Elman RNN", "LSTM", "GRU" (the display name unless set).</summary>
    public string SummaryName
    {
        get => _summaryName ?? DisplayName;
        init => _summaryName = value;
    }

    /// <summary>The cell's code in the model file's header (byte 22 of format version 2); never reused for another cell.</summary>
    public required byte FileCode { get; init; }

    /// <summary>The PyTorch module the cell reproduces: <c>nn.RNN</c>, <c>nn.LSTM</c>, <c>nn.GRU</c>.</summary>
    public required string PyTorchModule { get; init; }

    /// <summary>The cell's name in a safetensors file's <c>__metadata__</c> (<c>cell</c>): <c>rnn</c>, <c>lstm</c>, <c>gru</c>.</summary>
    public required string SafeTensorsName { get; init; }

    /// <summary>G, the number of gate blocks of H rows in W_ih, W_hh, b_ih and b_hh.</summary>
    public required int Gates { get; init; }

    /// <summary>True when the cell carries a cell state c beside h (LSTM).</summary>
    public bool HasCellState { get; init; }

    /// <summary>
    /// True when h is a projection of P values (the network's <c>ProjectionSize</c>, PyTorch's <c>proj_size</c>) and the
    /// cell needs P: the LSTM with projections. A kind has at most one cell with and one without.
    /// </summary>
    public bool HasProjection { get; init; }

    /// <summary>True when the network's <see cref="HiddenActivation"/> is the cell's nonlinearity (vanilla); gated cells have fixed activations.</summary>
    public bool UsesHiddenActivation { get; init; }

    /// <summary>
    /// The cell's parameter tensors per layer-direction, in <c>state_dict</c> order: the first four are W_ih, W_hh, b_ih
    /// and b_hh (<see cref="CellTensor.PyTorchStandard"/>), which the model multiplies; a cell may list more after them.
    /// </summary>
    public required IReadOnlyList<CellTensor> Tensors { get; init; }

    /// <summary>The forget and input gate blocks of a cell that has them (LSTM: f = 1, i = 0), for forget-gate bias initialization; null otherwise.</summary>
    public (int Input, int Forget)? ForgetGate { get; init; }

    /// <summary>The ONNX operator the cell maps onto, or null when ONNX has none.</summary>
    public OnnxCellMapping? Onnx { get; init; }

    /// <summary>S, the size of h for hidden size H: P for a cell with a projection, H for every other.</summary>
    /// <exception cref="ArgumentNullException">The cell has a projection and <paramref name="projectionSize"/> is null.</exception>
    public int StateSize(int hidden, int? projectionSize) =>
        !HasProjection ? hidden : projectionSize ?? throw new ArgumentNullException(nameof(projectionSize), $"the {DisplayName} cell needs P.");

    /// <summary>The cell in a summary's Kind column: "Elman RNN (tanh)", "LSTM", "LSTM with projections (P = 5)".</summary>
    public string SummaryTitle(HiddenActivation hidden, int? projectionSize) =>
        UsesHiddenActivation ? $"{SummaryName} ({(hidden == HiddenActivation.Tanh ? "tanh" : "ReLU")})"
        : HasProjection ? $"{SummaryName} (projection {projectionSize})"
        : SummaryName;

    /// <summary>The cell as a message names it; the hidden activation belongs to a cell that uses it.</summary>
    public string Describe(HiddenActivation hidden) => UsesHiddenActivation ? $"{DisplayName} cell with {hidden}" : $"{DisplayName} cell";

    /// <summary>The step of this cell in element type <typeparamref name="T"/>; <paramref name="projectionSize"/> is P for a cell with a projection.</summary>
    public abstract RecurrentCell<T> Create<T>(HiddenActivation hiddenActivation, int? projectionSize = null)
        where T : unmanaged, IFloatingPointIeee754<T>;
}
