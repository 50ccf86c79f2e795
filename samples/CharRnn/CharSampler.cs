using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;

namespace RnnCore.Samples.CharRnn;

/// <summary>
/// Generates text from a trained model one character at a time: feed a character, read the softmax y_t, sharpen or
/// flatten it with the temperature, keep the k most likely characters, draw one with the seeded generator, feed it back.
/// </summary>
public static class CharSampler
{
    /// <summary>
    /// Draws a class from <paramref name="probabilities"/> after temperature and top-k:
    /// p_i ∝ exp(log(p_i) / temperature) over the k largest p_i (all when <paramref name="topK"/> is 0).
    /// Temperature 1 samples the model's own distribution; towards 0 it approaches the most likely class.
    /// </summary>
    public static int Choose(ReadOnlySpan<double> probabilities, double temperature, int topK, SampleRandom random)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "the temperature must be positive and finite.");
        }

        if (topK < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(topK), topK, "top-k must be 0 (no limit) or positive.");
        }

        int count = probabilities.Length;
        int[] order = Enumerable.Range(0, count).ToArray();
        double[] p = probabilities.ToArray();

        // Most likely first; equal probabilities keep their class order, so the draw depends on the seed alone.
        Array.Sort(order, (a, b) => p[a] != p[b] ? p[b].CompareTo(p[a]) : a.CompareTo(b));
        int kept = topK == 0 ? count : Math.Min(topK, count);

        // Temperature in log space, relative to the largest kept log-probability so that exp cannot overflow.
        double top = Math.Log(p[order[0]]);
        var weights = new double[kept];
        double total = 0;
        for (int i = 0; i < kept; i++)
        {
            double logP = Math.Log(p[order[i]]);
            weights[i] = double.IsNegativeInfinity(logP) ? 0 : Math.Exp((logP - top) / temperature);
            total += weights[i];
        }

        double u = random.NextDouble() * total;
        for (int i = 0; i < kept; i++)
        {
            u -= weights[i];
            if (u < 0)
            {
                return order[i];
            }
        }

        return order[0]; // only reached through rounding when u lands on the total
    }

    /// <summary>
    /// Primes the model with <paramref name="prime"/> (its characters must be in the vocabulary) and generates
    /// <paramref name="length"/> more characters.
    /// </summary>
    public static string Generate(
        RecurrentModel<float> network, string vocabulary, string prime, int length, double temperature, int topK, SampleRandom random)
    {
        ArgumentNullException.ThrowIfNull(network);
        ForwardCache<float> cache = network.CreateCache(1, 1);
        bool hasCell = network.Options.Cell == RecurrentCellKind.Lstm;
        IReadOnlyList<Matrix<float>>? h = null, c = null;
        return Generate(
            (input, first) =>
            {
                network.Forward([input], cache, first ? null : h, first ? null : c);
                h = cache.FinalHiddens();
                c = hasCell ? cache.FinalCells() : null;
                return cache.Output(0);
            },
            vocabulary, prime, length, temperature, topK, random);
    }

    /// <summary>
    /// Primes the model with <paramref name="prime"/> (its characters must be in the vocabulary) and generates
    /// <paramref name="length"/> more characters.
    /// </summary>
    public static string Generate(
        CharModel model, string vocabulary, string prime, int length, double temperature, int topK, SampleRandom random)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Generate(model.Step, vocabulary, prime, length, temperature, topK, random);
    }

    /// <summary>The loop both overloads share: <paramref name="step"/> feeds one one-hot character (first: from a zero state) and returns y_t.</summary>
    private static string Generate(
        Func<Matrix<float>, bool, Matrix<float>> step, string vocabulary, string prime, int length, double temperature, int topK, SampleRandom random)
    {
        if (prime.Length == 0)
        {
            throw new ArgumentException("the prime needs at least one character.", nameof(prime));
        }

        int vocabularySize = vocabulary.Length;
        Matrix<float> input = Matrix<float>.Build.Dense(vocabularySize, 1);
        var probabilities = new double[vocabularySize];
        var text = new System.Text.StringBuilder(length);
        bool first = true;

        int Step(int code)
        {
            input.Clear();
            input[code, 0] = 1;
            Matrix<float> y = step(input, first);
            first = false;
            for (int i = 0; i < vocabularySize; i++)
            {
                probabilities[i] = y[i, 0];
            }

            return Choose(probabilities, temperature, topK, random);
        }

        int next = 0;
        foreach (char c in prime)
        {
            int code = vocabulary.IndexOf(c, StringComparison.Ordinal);
            if (code < 0)
            {
                throw new ArgumentException($"the prime's character '{c}' is not in the vocabulary.", nameof(prime));
            }

            next = Step(code);
        }

        for (int i = 0; i < length; i++)
        {
            text.Append(vocabulary[next]);
            next = Step(next);
        }

        return text.ToString();
    }
}
