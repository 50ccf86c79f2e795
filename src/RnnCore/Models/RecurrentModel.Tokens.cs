using System.Numerics.Tensors;
using MathNet.Numerics.LinearAlgebra;

namespace RnnCore.Models;

/// <content>
/// Token ids as input, and the two lookups that make them layer 0's input, each beside its backward twin:
/// <code>
/// embedding (V &gt; 0):   x_t = E[id_t, :]                      dE[v, :] += Σ_{t: id_t = v} dL/dx_t   (v ≠ padding id)
/// no embedding:        u_t = W_ih[:, id_t] + b_ih                dW_ih[:, v] += Σ_{t: id_t = v} δu_t
/// </code>
/// The second is the one-hot product W_ih e_id + b_ih without the product: the same bits (adding W_ih's other columns
/// times zero adds zeros), at the cost of a copy. Neither backward forms a product with a V-wide operand: only the
/// columns (rows) that the batch's ids name are touched.
/// </content>
public partial class RecurrentModel<T>
{
    /// <summary>The embedding table's parameter name, PyTorch's (<c>nn.Embedding</c> as a module named <c>embedding</c>).</summary>
    internal const string EmbeddingName = NetworkTensors.EmbeddingName;

    /// <summary>Runs an inference forward pass (no dropout) over token ids into a new cache. See the overload with a cache.</summary>
    /// <param name="ids">T arrays of B ids (ids[t][b]: sequence b's token at position t).</param>
    /// <param name="initialHidden">h_0: L·D matrices of H x B (index layer·D + direction); zeros when null.</param>
    /// <param name="initialCell">c_0 for LSTM, as <paramref name="initialHidden"/>; zeros when null.</param>
    /// <returns>The filled cache.</returns>
    public ForwardCache<T> Forward(IReadOnlyList<int[]> ids, IReadOnlyList<Matrix<T>>? initialHidden = null, IReadOnlyList<Matrix<T>>? initialCell = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            throw new ArgumentException("ids is empty; a sequence needs at least one step.", nameof(ids));
        }

        int[] first = ids[0] ?? throw new ArgumentNullException(nameof(ids), "ids[0] is null.");
        ForwardCache<T> cache = CreateCache(ids.Count, Math.Max(first.Length, 1));
        Forward(ids, cache, initialHidden, initialCell);
        return cache;
    }

    /// <summary>
    /// Runs the forward pass over B sequences of T token ids, overwriting <paramref name="cache"/>, exactly as the dense
    /// overload does with x_t = the id's embedding vector (a network with an embedding) or x_t = the one-hot vector
    /// e_id of length I (a network without one: u_t = W_ih[:, id] + b_ih, bit-identical to feeding the one-hot vectors).
    /// A steady-state call allocates nothing.
    /// </summary>
    /// <param name="ids">
    /// T arrays of B ids: ids[t][b] is sequence b's token at position t, in [0, V) with an embedding, else in [0, I).
    /// Entries at padded positions (t ≥ lengths[b]) are not read.
    /// </param>
    /// <param name="cache">A cache from <see cref="CreateCache"/> of this model for exactly T steps and B sequences.</param>
    /// <param name="initialHidden">h_0: L·D matrices of H x B, index layer·D + direction; zeros when null.</param>
    /// <param name="initialCell">c_0 (LSTM only), as <paramref name="initialHidden"/>; zeros when null.</param>
    /// <param name="lengths">B lengths in 1..T for a padded batch, as in the dense overload; null for full-length sequences.</param>
    /// <param name="training">True for a training pass (dropout between layers), as in the dense overload.</param>
    /// <exception cref="ArgumentException">A shape is wrong, or an id is out of range (the message names its step and sequence); the model and its generator are unchanged.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produced a NaN or infinity.</exception>
    public void Forward(
        IReadOnlyList<int[]> ids, ForwardCache<T> cache, IReadOnlyList<Matrix<T>>? initialHidden = null,
        IReadOnlyList<Matrix<T>>? initialCell = null, IReadOnlyList<int>? lengths = null, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        RequireCache(cache, nameof(cache));
        if (ids.Count != cache.Steps)
        {
            throw new ArgumentException($"ids has {ids.Count} steps but cache was created for {cache.Steps}; create a cache with CreateCache({ids.Count}, batch).", nameof(ids));
        }

        ValidateStates(initialHidden, initialCell, cache.Batch);
        ValidateLengths(lengths, cache.Batch, ids.Count);
        int batch = cache.Batch;
        for (int t = 0; t < ids.Count; t++)
        {
            int[] step = ids[t] ?? throw new ArgumentNullException(nameof(ids), $"ids[{t}] is null.");
            if (step.Length != batch)
            {
                throw new ArgumentException($"ids[{t}] has {step.Length} entries but the batch holds {batch} sequences.", nameof(ids));
            }

            for (int b = 0; b < batch; b++)
            {
                if (lengths is null || t < lengths[b])
                {
                    RequireId(step[b], nameof(ids), t, b);
                }
            }
        }

        // Everything is checked: from here on the pass cannot fail on its arguments.
        cache.Owner = null;
        int[] copy = cache.EnsureIds();
        for (int t = 0; t < ids.Count; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                copy[(t * batch) + b] = lengths is null || t < lengths[b] ? ids[t][b] : -1;
            }
        }

        cache.IdInput = true;
        CopyStates(cache, initialHidden, initialCell);
        cache.HasLengths = lengths is not null;
        for (int b = 0; b < batch; b++)
        {
            cache.Lengths[b] = lengths is null ? cache.Steps : lengths[b];
        }

        bool dropout = training && Options.Dropout > 0 && Layers > 1;
        if (dropout)
        {
            DrawDropoutMasks(cache);
        }

        ForwardCore(cache, dropout);
    }

    /// <summary>The embedding table, V x E column-major (token v's vector at v, v + V, …); empty without an embedding.</summary>
    internal T[] EmbeddingTable => _embedding;

    /// <summary>The number of distinct ids the network reads: V with an embedding, else I (one-hot width).</summary>
    internal int IdCount => HasEmbedding ? VocabularySize : InputSize;

    /// <summary>Throws unless <paramref name="id"/> is in [0, <see cref="IdCount"/>), naming its step and sequence.</summary>
    internal void RequireId(int id, string paramName, int step, int sequence)
    {
        if ((uint)id >= (uint)IdCount)
        {
            throw new ArgumentOutOfRangeException(
                paramName, id,
                $"{paramName}: the token id at step {step}, sequence {sequence} is {id} but must be in [0, {IdCount}) ({(HasEmbedding ? "the embedding's VocabularySize" : "the input size: ids index W_ih's columns")}).");
        }
    }

    /// <summary>Throws when a network with an embedding is given dense vectors: it reads token ids only.</summary>
    internal void RequireDenseInput(string paramName)
    {
        if (HasEmbedding)
        {
            throw new ArgumentException(
                $"{paramName} holds dense vectors but this {Noun} has an embedding (VocabularySize {VocabularySize}); give it token ids.", paramName);
        }
    }

    /// <summary>Checks B lengths in 1..<paramref name="steps"/>, or none.</summary>
    internal static void ValidateLengths(IReadOnlyList<int>? lengths, int batch, int steps)
    {
        if (lengths is null)
        {
            return;
        }

        if (lengths.Count != batch)
        {
            throw new ArgumentException($"lengths has {lengths.Count} entries but the batch holds {batch} sequences.", nameof(lengths));
        }

        for (int b = 0; b < lengths.Count; b++)
        {
            if (lengths[b] < 1 || lengths[b] > steps)
            {
                throw new ArgumentOutOfRangeException(nameof(lengths), lengths[b], $"lengths[{b}] is {lengths[b]} but must be in [1, {steps}] (the number of steps).");
            }
        }
    }

    /// <summary>
    /// Embedding forward: x = E[id, :] for every column of the cache's ids into the cache's inputs, [E, T·B]; zeros at
    /// padded positions (id −1).
    /// </summary>
    internal void GatherEmbedding(ForwardCache<T> cache)
    {
        int e = InputSize;
        int v = VocabularySize;
        ReadOnlySpan<int> ids = cache.Ids.AsSpan(0, cache.Columns);
        Span<T> x = cache.Inputs.AsSpan(0, e * cache.Columns);
        for (int c = 0; c < ids.Length; c++)
        {
            Span<T> column = x.Slice(c * e, e);
            int id = ids[c];
            if (id < 0)
            {
                column.Clear();
                continue;
            }

            for (int i = 0; i < e; i++)
            {
                column[i] = _embedding[id + (i * v)];
            }
        }
    }

    /// <summary>
    /// Embedding backward, the twin of <see cref="GatherEmbedding"/>: dE = 0, then dE[id, :] += dL/dx of every column whose
    /// id is real and not the padding id, in position order. <paramref name="inputGradient"/> is dL/dx, [E, T·B].
    /// </summary>
    internal void ScatterEmbeddingGradient(ForwardCache<T> cache, ReadOnlySpan<T> inputGradient, Span<T> embeddingGradient)
    {
        int e = InputSize;
        int v = VocabularySize;
        int padding = Options.PaddingId ?? -1;
        ReadOnlySpan<int> ids = cache.Ids.AsSpan(0, cache.Columns);
        embeddingGradient.Clear();
        for (int c = 0; c < ids.Length; c++)
        {
            int id = ids[c];
            if (id < 0 || id == padding)
            {
                continue;
            }

            ReadOnlySpan<T> column = inputGradient.Slice(c * e, e);
            for (int i = 0; i < e; i++)
            {
                embeddingGradient[id + (i * v)] += column[i];
            }
        }
    }

    /// <summary>
    /// Layer 0's input projection from ids, without an embedding: u_c = b_ih + W_ih[:, id_c] for every column c of
    /// layer-direction <paramref name="ld"/> in its processing order (a reverse direction reads sequence b's step s at
    /// position length_b − 1 − s); u = b_ih at padding. The same sum, in the same order, as the product with e_id.
    /// </summary>
    internal void GatherInputProjection(ForwardCache<T> cache, int ld, int dir, Span<T> u)
    {
        int gh = Cell.Gates * HiddenSize;
        int b = cache.Batch;
        ReadOnlySpan<T> weights = _inputWeights[ld];
        ReadOnlySpan<T> bias = _inputBiases[ld];
        for (int s = 0; s < cache.Steps; s++)
        {
            for (int j = 0; j < b; j++)
            {
                int id = cache.Ids[dir == 0 ? (s * b) + j : SequenceOrder.ReversedColumn(s, j, b, cache.Lengths[j])];
                Span<T> column = u.Slice(((s * b) + j) * gh, gh);
                if (id < 0)
                {
                    bias.CopyTo(column);
                }
                else
                {
                    TensorPrimitives.Add(bias, weights.Slice(id * gh, gh), column);
                }
            }
        }
    }

    /// <summary>
    /// The twin of <see cref="GatherInputProjection"/>: dW_ih[:, id_c] += δu_c for the columns of processing steps
    /// <paramref name="start"/>..<paramref name="end"/>−1 (δu of the chunk, [G·H, (end − start)·B]). The caller clears
    /// dW_ih before the first chunk.
    /// </summary>
    internal void ScatterInputWeightGradient(ForwardCache<T> cache, int dir, ReadOnlySpan<T> deltaU, int start, int end, Span<T> gradient)
    {
        int gh = Cell.Gates * HiddenSize;
        int b = cache.Batch;
        for (int s = start; s < end; s++)
        {
            for (int j = 0; j < b; j++)
            {
                int id = cache.Ids[dir == 0 ? (s * b) + j : SequenceOrder.ReversedColumn(s, j, b, cache.Lengths[j])];
                if (id >= 0)
                {
                    Span<T> to = gradient.Slice(id * gh, gh);
                    TensorPrimitives.Add(to, deltaU.Slice(((s - start) * b + j) * gh, gh), to);
                }
            }
        }
    }

    /// <summary>Sets row <paramref name="id"/> of a V x E column-major table to zero.</summary>
    private void ClearEmbeddingRow(Span<T> table, int id)
    {
        for (int i = 0; i < InputSize; i++)
        {
            table[id + (i * VocabularySize)] = T.Zero;
        }
    }
}
