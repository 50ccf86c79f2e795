using System.Numerics;
using RnnCore.Optimizers;

namespace RnnCore.Models;

/// <summary>Conveniences for using an <see cref="IOptimizer{T}"/> with a network.</summary>
public static class OptimizerExtensions
{
    /// <summary>
    /// One update of every parameter of a network (a <see cref="RecurrentLayer{T}"/> or any <see cref="RecurrentModel{T}"/>)
    /// from BPTT's gradients: <c>optimizer.Step(network.Parameters, gradients.ParameterGradients)</c>.
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="optimizer">The update rule.</param>
    /// <param name="network">The network whose parameters change.</param>
    /// <param name="gradients">Gradients computed by <see cref="Bptt{T}"/> for this network.</param>
    public static void Step<T>(this IOptimizer<T> optimizer, RecurrentModel<T> network, RecurrentGradients<T> gradients)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(gradients);
        optimizer.Step(network.Parameters, gradients.ParameterGradients);
    }
}
