namespace RnnCore.Cells;

/// <summary>
/// How a cell maps onto an ONNX recurrent operator (opset 14): the operator, the order of its gate blocks, and the
/// attributes it needs beside <c>hidden_size</c> and <c>direction</c>. ONNX's W, R and B hold the cell's first four
/// tensors (W_ih, W_hh, then [b_ih ; b_hh]) with the gate blocks reordered.
/// </summary>
/// <param name="Operator">The ONNX operator: <c>RNN</c>, <c>LSTM</c> or <c>GRU</c>.</param>
/// <param name="GateOrder">ONNX's block j is the cell's (PyTorch's) block GateOrder[j].</param>
/// <param name="IntAttributes">Integer attributes, e.g. GRU's <c>linear_before_reset</c> = 1.</param>
/// <param name="ActivationsFromHiddenActivation">
/// True when the operator's <c>activations</c> attribute is the network's hidden activation, one per direction (the
/// vanilla cell's tanh or ReLU); false when the operator's defaults are the cell's.
/// </param>
internal sealed record OnnxCellMapping(
    string Operator, int[] GateOrder, IReadOnlyList<(string Name, long Value)> IntAttributes, bool ActivationsFromHiddenActivation);
