namespace RnnCore.Models;

// Online inference: a pool of streams stepped one input at a time (RecurrentStreams), opened on any unidirectional network.
public partial class RecurrentModel<T>
{
    /// <summary>
    /// Opens a pool of <paramref name="streams"/> streams for online inference: each stream carries its own state (h, and
    /// c for an LSTM, per layer) from one step to the next, so a new input costs one step whatever the length of the
    /// history. Every stream starts from the zero state, as <c>Forward</c> does without initial states, and its outputs are
    /// bit-identical to <c>Forward</c>'s over the whole sequence at every step. See <see cref="RecurrentStreams{T}"/>.
    /// </summary>
    /// <param name="streams">N, the number of streams in the pool; positive.</param>
    /// <param name="maxBatch">
    /// The most streams one <see cref="RecurrentStreams{T}.Step(ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/> call may step
    /// together (the pool's working buffers are sized for it); positive; capped at <paramref name="streams"/>.
    /// </param>
    /// <returns>The pool, holding a packed copy of the weights as they are now.</returns>
    /// <exception cref="NotSupportedException">The model is bidirectional.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="streams"/> or <paramref name="maxBatch"/> is less than 1.</exception>
    public RecurrentStreams<T> OpenStreams(int streams, int maxBatch = 64) => new(this, streams, maxBatch);

    /// <summary>b_ih of layer-direction <paramref name="ld"/> (the fused b_h of a <see cref="RecurrentLayer{T}"/>).</summary>
    internal T[] InputBias(int ld) => _inputBiases[ld];

    /// <summary>b_hh of layer-direction <paramref name="ld"/> (zeros when the network fuses its biases).</summary>
    internal T[] RecurrentBias(int ld) => _recurrentBiases[ld];
}
