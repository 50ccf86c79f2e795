using RnnCore.Internal;
using RnnCore.Models;

namespace RnnCore.Generation;

/// <summary>
/// Generates token sequences from a trained character- or token-level model (the char-rnn use case): the layer reads a
/// prefix one token at a time, then repeatedly samples the next token from its softmax output, sharpened or flattened
/// by a temperature and optionally restricted to the k most likely tokens, and feeds it back as the next input.
/// </summary>
/// <remarks>
/// Tokens are class indices 0..V−1, given to the network as ids (an embedding's rows, or W_ih's columns: the one-hot
/// input's result), so it must have a softmax output over V classes and read V ids (<c>InputSize</c>, or the embedding's
/// <c>VocabularySize</c>, equal to <c>OutputSize</c>). Sampling uses RnnCore's seeded generator: the same seed, layer and prefix
/// give the same tokens (the softmax's exponentials come from the platform's math library, so a draw that falls
/// exactly on a probability boundary could in principle go the other way on another machine). Not thread-safe: one
/// sampler per thread; the layer may be shared.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Sampler<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private readonly ForwardCache<T> _cache;
    private readonly double[] _weights;
    private readonly int[] _ranked;

    /// <summary>
    /// Creates a sampler for any network (a <see cref="RecurrentLayer{T}"/>, or a <see cref="RecurrentModel{T}"/> of vanilla, LSTM or GRU cells and any number of layers): every
    /// layer's h (and c for LSTM) is carried from token to token, and dropout is off (inference passes).
    /// </summary>
    /// <param name="model">A unidirectional model with a softmax output and as many inputs as outputs (one-hot tokens).</param>
    /// <exception cref="ArgumentException">The model's output is not softmax, its input and output sizes differ, or it is bidirectional (its reverse direction would need the tokens not yet generated).</exception>
    public Sampler(RecurrentModel<T> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        OutputActivation output = model.Options.OutputActivation;
        if (output != OutputActivation.Softmax || model.IdCount != model.OutputSize)
        {
            throw new ArgumentException(
                $"sampling feeds each token back as the next input, so it needs a softmax output with inputSize == outputSize (with an embedding: VocabularySize == outputSize); this {model.Noun} has a {output} output, {(model.HasEmbedding ? "VocabularySize " + model.VocabularySize : "inputSize " + model.InputSize)}, outputSize {model.OutputSize}.",
                nameof(model));
        }

        if (model.Options.Bidirectional)
        {
            throw new ArgumentException("model is bidirectional, but sampling goes one token at a time and a reverse direction would read tokens not yet generated; expected Bidirectional = false.", nameof(model));
        }

        Model = model;
        _cache = model.CreateCache(1, 1);
        _weights = new double[model.OutputSize];
        _ranked = new int[model.OutputSize];
    }

    /// <summary>The network sampled from.</summary>
    public RecurrentModel<T> Model { get; }

    /// <summary>
    /// Reads <paramref name="prefix"/> from h_0 = 0, then samples <paramref name="count"/> tokens, each from
    /// <c>p_i ∝ exp(z_i / temperature)</c> over the <paramref name="topK"/> largest logits z (all when 0).
    /// </summary>
    /// <param name="prefix">At least one token, each in [0, V).</param>
    /// <param name="count">How many tokens to generate; non-negative.</param>
    /// <param name="temperature">Positive and finite: below 1 sharpens the distribution towards the most likely token, above 1 flattens it.</param>
    /// <param name="topK">Sample among the k most likely tokens only (ties broken by the lower index); 0 for all, 1 for greedy decoding.</param>
    /// <param name="seed">Seed of the sampling generator.</param>
    /// <returns>The generated tokens (the prefix not included).</returns>
    /// <exception cref="ArgumentException">An argument is out of range.</exception>
    public int[] Generate(IReadOnlyList<int> prefix, int count, double temperature = 1.0, int topK = 0, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        int v = _weights.Length;
        if (prefix.Count == 0)
        {
            throw new ArgumentException("prefix is empty; at least one token is needed to predict the next.", nameof(prefix));
        }

        for (int i = 0; i < prefix.Count; i++)
        {
            if ((uint)prefix[i] >= (uint)v)
            {
                throw new ArgumentOutOfRangeException(nameof(prefix), prefix[i], $"prefix[{i}] is {prefix[i]} but tokens must be in [0, {v - 1}].");
            }
        }

        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!(temperature > 0) || !double.IsFinite(temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, $"temperature must be positive and finite, but was {temperature}.");
        }

        if (topK < 0 || topK > v)
        {
            throw new ArgumentOutOfRangeException(nameof(topK), topK, $"topK must be in [0, {v}] (0 = all tokens), but was {topK}.");
        }

        var random = new SeededRandom(seed);
        for (int i = 0; i < prefix.Count; i++)
        {
            Step(prefix[i], first: i == 0);
        }

        int[] generated = new int[count];
        for (int n = 0; n < count; n++)
        {
            generated[n] = Draw(temperature, topK == 0 ? v : topK, random);
            if (n < count - 1)
            {
                Step(generated[n], first: false);
            }
        }

        return generated;
    }

    /// <summary>
    /// One step of the recurrence fed the token's id (its embedding, or W_ih's column: the one-hot input's bits), from
    /// h_0 = 0 (the first step) or from the previous step's state.
    /// </summary>
    private void Step(int token, bool first)
    {
        ForwardCache<T> cache = _cache;
        RecurrentModel<T> model = Model;
        cache.EnsureIds()[0] = token;
        cache.IdInput = true;
        for (int ld = 0; ld < cache.Hiddens.Length; ld++)
        {
            // The states of a one-step cache: block 0 is the initial state, block 1 the state after the step.
            Span<T> h = cache.Hiddens[ld];
            Span<T> c = cache.Cells[ld];
            if (first)
            {
                h.Clear();
                c.Clear();
            }
            else
            {
                cache.StateBlock(cache.Hiddens[ld], 1).CopyTo(cache.StateBlock(cache.Hiddens[ld], 0));
                if (c.Length > 0)
                {
                    cache.StateBlock(cache.Cells[ld], 1).CopyTo(cache.StateBlock(cache.Cells[ld], 0));
                }
            }
        }

        cache.HasLengths = false;
        cache.Lengths[0] = 1;
        model.ForwardCore(cache, dropout: false);
    }

    /// <summary>Samples from softmax(z / τ) restricted to the k largest logits, in double.</summary>
    private int Draw(double temperature, int k, SeededRandom random)
    {
        ReadOnlySpan<T> logits = _cache.Logits;
        int v = logits.Length;
        for (int i = 0; i < v; i++)
        {
            _ranked[i] = i;
        }

        // Rank by logit, descending; equal logits keep the lower index first (insertion sort is stable, and V is small).
        for (int i = 1; i < v; i++)
        {
            int token = _ranked[i];
            int j = i - 1;
            while (j >= 0 && logits[_ranked[j]] < logits[token])
            {
                _ranked[j + 1] = _ranked[j];
                j--;
            }

            _ranked[j + 1] = token;
        }

        // p_i ∝ exp((z_i − z_max) / τ): subtracting the largest logit keeps every exponential in (0, 1].
        double max = double.CreateTruncating(logits[_ranked[0]]);
        double total = 0;
        for (int r = 0; r < k; r++)
        {
            _weights[r] = Math.Exp((double.CreateTruncating(logits[_ranked[r]]) - max) / temperature);
            total += _weights[r];
        }

        double u = random.NextDouble() * total;
        for (int r = 0; r < k - 1; r++)
        {
            u -= _weights[r];
            if (u < 0)
            {
                return _ranked[r];
            }
        }

        return _ranked[k - 1];
    }
}
