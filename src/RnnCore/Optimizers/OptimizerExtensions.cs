using System.Numerics;

namespace RnnCore.Optimizers;

/// <summary>Conveniences for using an <see cref="IOptimizer{T}"/> with a <see cref="RecurrentLayer{T}"/>.</summary>
public static class OptimizerExtensions
{
    /// <summary>
    /// One update of the layer's five parameters from BPTT's gradients:
    /// <c>optimizer.Step(layer.Parameters, gradients.ParameterGradients)</c>.
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="optimizer">The update rule.</param>
    /// <param name="layer">The layer whose parameters change.</param>
    /// <param name="gradients">Gradients computed by <see cref="Bptt{T}"/> for this layer.</param>
    public static void Step<T>(this IOptimizer<T> optimizer, RecurrentLayer<T> layer, RecurrentGradients<T> gradients)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(gradients);
        optimizer.Step(layer.Parameters, gradients.ParameterGradients);
    }
}
