using System.Numerics;
using RnnCore.Activations;

namespace RnnCore.Losses;

/// <summary>
/// Binary cross-entropy on sigmoid outputs, computed from the logits (PyTorch's <c>BCEWithLogitsLoss</c> form):
/// <c>l = −[t log σ(z) + (1 − t) log(1 − σ(z))] = max(z, 0) − z t + log(1 + e^−|z|)</c>.
/// Forward and backward side by side; the backward is fused with the sigmoid: <c>dl/dz = σ(z) − t</c>.
/// </summary>
internal static class SigmoidBinaryCrossEntropy
{
    /// <summary>Σ of l over every element of a logits block, in double; stable for any z.</summary>
    public static double Forward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            double z = double.CreateTruncating(logits[i]);
            double t = double.CreateTruncating(targets[i]);
            sum += Math.Max(z, 0) - (z * t) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
        }

        return sum;
    }

    /// <summary>dL/dz = scale · (σ(z) − t), elementwise, with σ(z) computed from the logits as the forward defines it.</summary>
    public static void Backward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, T scale, Span<T> logitGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < logits.Length; i++)
        {
            logitGradient[i] = scale * (SigmoidFunction.Of(logits[i]) - targets[i]);
        }
    }
}
