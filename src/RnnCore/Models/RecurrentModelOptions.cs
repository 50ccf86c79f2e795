namespace RnnCore.Models;

/// <summary>
/// The shape of a <see cref="RecurrentModel{T}"/>: sizes, cell, number of stacked layers, directions, dropout between
/// layers and activations. Checked by the model's constructor.
/// </summary>
/// <param name="InputSize">
/// I, the length of each input vector x_t; positive. With an embedding (<see cref="VocabularySize"/> &gt; 0) it is E, the
/// length of each token's embedding vector, which is what layer 0 reads.
/// </param>
/// <param name="HiddenSize">H, the length of each direction's hidden state; positive.</param>
/// <param name="OutputSize">O, the length of each output y_t (the number of classes for softmax); positive.</param>
public sealed record RecurrentModelOptions(int InputSize, int HiddenSize, int OutputSize)
{
    /// <summary>The recurrent cell of every layer (PyTorch's <c>nn.RNN</c>, <c>nn.LSTM</c> or <c>nn.GRU</c>). Default LSTM.</summary>
    public RecurrentCellKind Cell { get; init; } = RecurrentCellKind.Lstm;

    /// <summary>L, the number of stacked layers (PyTorch's <c>num_layers</c>); at least 1.</summary>
    public int Layers { get; init; } = 1;

    /// <summary>True for bidirectional layers (D = 2): a reverse direction beside the forward one, outputs concatenated.</summary>
    public bool Bidirectional { get; init; }

    /// <summary>
    /// p, the dropout probability applied to every layer's output except the last, while training (PyTorch's
    /// <c>dropout</c>); in [0, 1). Kept values are scaled by 1/(1 − p).
    /// </summary>
    public double Dropout { get; init; }

    /// <summary>f of the vanilla cell: tanh (default) or ReLU (PyTorch's <c>nonlinearity</c>). Ignored by LSTM and GRU.</summary>
    public HiddenActivation HiddenActivation { get; init; } = HiddenActivation.Tanh;

    /// <summary>g, which also chooses the loss: softmax (default, cross-entropy), sigmoid (binary cross-entropy) or identity (squared error).</summary>
    public OutputActivation OutputActivation { get; init; } = OutputActivation.Softmax;

    /// <summary>
    /// P, the size of h for an LSTM with projections (PyTorch's <c>proj_size</c>), or null (the default) for none. With P
    /// the LSTM's output is projected, <c>h' = W_hr (o ⊙ tanh c')</c> with W_hr (P x H, <c>rnn.weight_hr_l{k}</c>) per
    /// layer-direction: h, h_0 and h_n have P values, c keeps H, W_hh is 4H x P, and a layer above and the head read D·P
    /// values. Only for <see cref="RecurrentCellKind.Lstm"/>; 0 &lt; P &lt; H.
    /// </summary>
    public int? ProjectionSize { get; init; }

    /// <summary>Seed of the initialization and of the dropout masks.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// V, the number of tokens of an embedding table in front of layer 0 (PyTorch's <c>nn.Embedding(V, E)</c>, E =
    /// <see cref="InputSize"/>), or 0 (the default) for none. With an embedding the network reads token ids in [0, V)
    /// only; x_t is row id_t of the V x E parameter <c>embedding.weight</c>, drawn from N(0, 1).
    /// </summary>
    public int VocabularySize { get; init; }

    /// <summary>
    /// The embedding's padding id (PyTorch's <c>padding_idx</c>): its row starts at zero and gets no gradient, so it stays
    /// zero. Null (the default) for none; only with <see cref="VocabularySize"/> &gt; 0, and then in [0, V).
    /// </summary>
    public int? PaddingId { get; init; }
}
