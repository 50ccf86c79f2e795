namespace RnnCore.Persistence;

/// <summary>
/// How <see cref="OnnxExport"/> lays out the graph's inputs and outputs. The defaults give a graph with one input,
/// <see cref="OnnxExport.InputName"/> in PyTorch's sequence-first layout, full-length sequences from zero states.
/// </summary>
/// <remarks>
/// Every input the graph lists is one the caller feeds: the graph holds no initializer that is also an input (ONNX's
/// "overridable initializers", on which ONNX Runtime logs a warning per initializer each time it loads the model).
/// </remarks>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// PyTorch's <c>batch_first</c>: the input is [batch, S, I] and the per-step outputs (<c>output</c>, <c>logits</c>,
    /// <c>hidden_states</c>) are [batch, S, ·]; the final states stay [L·D, batch, H], as PyTorch's h_n does. Default
    /// false (sequence-first, [S, batch, I]).
    /// </summary>
    public bool BatchFirst { get; init; }

    /// <summary>
    /// Adds the input <see cref="OnnxExport.SequenceLengthsName"/>, int32 [batch], which must then be fed: each
    /// sequence's length in 1..S for a padded batch (a length above S is read as S). Default false (every sequence S steps long).
    /// </summary>
    public bool SequenceLengths { get; init; }

    /// <summary>
    /// Adds the inputs <see cref="OnnxExport.InitialHiddenName"/> (and, for an LSTM, <see cref="OnnxExport.InitialCellName"/>),
    /// float32 [L·D, batch, H], which must then be fed. Default false (zero initial
    /// states).
    /// </summary>
    public bool InitialStates { get; init; }
}
