using System.Numerics;

namespace RnnCore.Optimizers;

/// <summary>
/// Gradient clipping as PyTorch does it, in place on a <see cref="TensorSet{T}"/> of gradients: by global norm
/// (<c>torch.nn.utils.clip_grad_norm_</c>) or by value (<c>torch.nn.utils.clip_grad_value_</c>).
/// </summary>
/// <remarks>Source: PyTorch 1.13.1 torch/nn/utils/clip_grad.py.</remarks>
public static class GradientClipping
{
    /// <summary>PyTorch's guard against division by zero in <c>clip_grad_norm_</c>.</summary>
    private const double NormEpsilon = 1e-6;

    /// <summary>
    /// Rescales all gradients together when their global L2 norm is too large:
    /// <c>total = sqrt(Σ g²)</c> over every element of every tensor, <c>coef = maxNorm / (total + 1e-6)</c>, and every
    /// element is multiplied by <c>coef</c> only when <c>coef &lt; 1</c> (otherwise the gradients stay bit-identical).
    /// </summary>
    /// <param name="gradients">The gradients, changed in place.</param>
    /// <param name="maxNorm">The largest global norm allowed; positive and finite.</param>
    /// <returns>
    /// The global norm before clipping. When a gradient is NaN or infinite the norm is NaN or infinite and the gradients
    /// are left unchanged (PyTorch would spread the NaN; an optimizer's <c>Step</c> refuses such gradients anyway).
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="gradients"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not positive and finite.</exception>
    public static double ClipByGlobalNorm<T>(TensorSet<T> gradients, double maxNorm)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(gradients);
        OptimizerGuard.PositiveFinite(maxNorm, nameof(maxNorm));

        double total = gradients.L2Norm();
        double coefficient = maxNorm / (total + NormEpsilon);
        if (coefficient < 1)
        {
            T scale = T.CreateTruncating(coefficient);
            for (int i = 0; i < gradients.Count; i++)
            {
                Span<T> tensor = gradients[i];
                for (int k = 0; k < tensor.Length; k++)
                {
                    tensor[k] *= scale;
                }
            }
        }

        return total;
    }

    /// <summary>Clamps every element of every gradient to <c>[-clipValue, clipValue]</c>; NaN stays NaN.</summary>
    /// <param name="gradients">The gradients, changed in place.</param>
    /// <param name="clipValue">The largest magnitude allowed; positive and finite.</param>
    /// <exception cref="ArgumentNullException"><paramref name="gradients"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipValue"/> is not positive and finite.</exception>
    public static void ClipByValue<T>(TensorSet<T> gradients, double clipValue)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(gradients);
        OptimizerGuard.PositiveFinite(clipValue, nameof(clipValue));

        T high = T.CreateTruncating(clipValue);
        T low = -high;
        for (int i = 0; i < gradients.Count; i++)
        {
            Span<T> tensor = gradients[i];
            for (int k = 0; k < tensor.Length; k++)
            {
                if (tensor[k] > high)
                {
                    tensor[k] = high;
                }
                else if (tensor[k] < low)
                {
                    tensor[k] = low;
                }
            }
        }
    }
}
