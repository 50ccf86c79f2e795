namespace RnnCore.Cells;

/// <summary>
/// One parameter tensor of a cell in one layer-direction, as PyTorch's <c>state_dict</c> names it without its layer
/// suffix (<c>weight_ih</c>, <c>bias_hh</c>, …): its shape as a function of the layer's input rows n_in, the hidden
/// size H and the state size S (the size of h: H, or P for the LSTM with projections), and the bound b of its default
/// initialization U(−b, b) as a function of H.
/// </summary>
/// <param name="Name">The name before the layer suffix: <c>weight_ih</c> becomes <c>rnn.weight_ih_l0</c>, <c>rnn.weight_ih_l1_reverse</c>, ….</param>
/// <param name="Shape">(rows, columns) from (n_in, H, S); a bias has one column.</param>
/// <param name="IsVector">True for a bias, which files store as a 1-D tensor [rows].</param>
/// <param name="Bound">b from H (PyTorch's recurrent modules: 1/√H for every tensor).</param>
internal sealed record CellTensor(string Name, Func<long, long, long, (long Rows, long Columns)> Shape, bool IsVector, Func<int, double> Bound)
{
    /// <summary>PyTorch's default bound for every tensor of nn.RNN, nn.LSTM and nn.GRU: 1/√H.</summary>
    public static double PyTorchBound(int hidden) => 1.0 / Math.Sqrt(hidden);

    /// <summary>
    /// The four tensors every PyTorch recurrent cell has, in <c>state_dict</c> order, for G gate blocks:
    /// W_ih [G·H, n_in], W_hh [G·H, S], b_ih [G·H], b_hh [G·H]. The model computes u = W_ih x + b_ih and
    /// v = W_hh h + b_hh from the first four tensors of every cell, in this order.
    /// </summary>
    public static CellTensor[] PyTorchStandard(int gates) =>
    [
        new("weight_ih", (inputRows, hidden, _) => (gates * hidden, inputRows), false, PyTorchBound),
        new("weight_hh", (_, hidden, state) => (gates * hidden, state), false, PyTorchBound),
        new("bias_ih", (_, hidden, _) => (gates * hidden, 1), true, PyTorchBound),
        new("bias_hh", (_, hidden, _) => (gates * hidden, 1), true, PyTorchBound),
    ];
}
