namespace RnnCore;

/// <summary>The recurrent cell of a <see cref="Models.RecurrentModel{T}"/>: what one step computes from x_t and the previous state.</summary>
public enum RecurrentCellKind
{
    /// <summary>
    /// The vanilla (Elman) cell, PyTorch's <c>nn.RNN</c>: <c>h' = f(W_ih x + b_ih + W_hh h + b_hh)</c>, f = tanh or ReLU
    /// (<see cref="Models.RecurrentModelOptions.HiddenActivation"/>). One gate block (G = 1).
    /// </summary>
    Vanilla,

    /// <summary>
    /// Long short-term memory, PyTorch's <c>nn.LSTM</c>: four gate blocks in the order i, f, g, o (G = 4) and a cell state
    /// c carried beside h: <c>c' = f ⊙ c + i ⊙ g</c>, <c>h' = o ⊙ tanh(c')</c>.
    /// </summary>
    Lstm,

    /// <summary>
    /// Gated recurrent unit, PyTorch's <c>nn.GRU</c>: three gate blocks in the order r, z, n (G = 3):
    /// <c>n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))</c>, <c>h' = (1 − z) ⊙ n + z ⊙ h</c>.
    /// </summary>
    Gru,
}
