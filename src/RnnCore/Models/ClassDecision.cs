using System.Numerics;

namespace RnnCore.Models;

/// <summary>
/// The class a network's output predicts, for every <c>PredictClass</c>: argmax of the probabilities for softmax
/// (the first of equal maxima, as the Trainer's accuracy counts), p ≥ threshold for a sigmoid of one output (as
/// <see cref="Training.Metric.Accuracy"/>). Other outputs have no class to predict and are refused before any work.
/// </summary>
internal readonly struct ClassDecision
{
    private readonly bool _softmax;
    private readonly double _threshold;

    private ClassDecision(bool softmax, double threshold)
    {
        _softmax = softmax;
        _threshold = threshold;
    }

    /// <summary>The rule of a network with this output; refuses an identity output, a multi-label sigmoid and a threshold outside (0, 1).</summary>
    public static ClassDecision For(OutputActivation activation, int outputSize, double threshold, string owner)
    {
        if (!(threshold > 0 && threshold < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, $"threshold must be in (0, 1), but was {threshold}.");
        }

        return activation switch
        {
            OutputActivation.Softmax => new ClassDecision(true, threshold),
            OutputActivation.Sigmoid when outputSize == 1 => new ClassDecision(false, threshold),
            OutputActivation.Sigmoid => throw new InvalidOperationException(
                $"the {owner}'s sigmoid output has {outputSize} independent labels, so there is no one class to predict: read PredictLast's probabilities and compare each with a threshold."),
            _ => throw new InvalidOperationException(
                $"the {owner}'s output is {activation}, which predicts values, not classes: PredictClass needs a softmax output (or a sigmoid of one output); use PredictLast."),
        };
    }

    /// <summary>The class of one output vector y.</summary>
    public int Of<T>(ReadOnlySpan<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!_softmax)
        {
            return double.CreateTruncating(y[0]) >= _threshold ? 1 : 0;
        }

        int best = 0;
        for (int c = 1; c < y.Length; c++)
        {
            best = y[c] > y[best] ? c : best;
        }

        return best;
    }

    /// <summary>The class of each output vector.</summary>
    public int[] Of<T>(T[][] outputs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var classes = new int[outputs.Length];
        for (int n = 0; n < outputs.Length; n++)
        {
            classes[n] = Of<T>(outputs[n]);
        }

        return classes;
    }
}
