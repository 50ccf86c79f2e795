using System.Numerics;

namespace RnnCore.Optimizers;

/// <summary>
/// A gradient-descent update rule with PyTorch's semantics: <see cref="Step"/> changes every parameter in place from its
/// gradient and from the state the optimizer keeps across steps (momentum buffers, squared-gradient averages, step count).
/// </summary>
/// <remarks>
/// An optimizer knows nothing about layers: it sees the parameters and gradients as two <see cref="TensorSet{T}"/> of the
/// same shape. State is created on the first step for the shape it sees and reused afterwards, so a steady-state step
/// allocates nothing. An optimizer instance is bound to one model and is not thread-safe.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public interface IOptimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The step size used by the next <see cref="Step"/> (PyTorch's <c>lr</c>). Learning-rate schedules set it between
    /// steps; the optimizer's state is kept.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative, NaN or infinite value (0 is allowed, as in PyTorch).</exception>
    double LearningRate { get; set; }

    /// <summary>Number of completed <see cref="Step"/> calls since construction or the last <see cref="Reset"/>.</summary>
    long StepCount { get; }

    /// <summary>Applies one update to <paramref name="parameters"/> from <paramref name="gradients"/>.</summary>
    /// <param name="parameters">The trainable tensors, changed in place.</param>
    /// <param name="gradients">dL/dparameter for each tensor, same shape as <paramref name="parameters"/>; not changed.</param>
    /// <exception cref="ArgumentException">
    /// The two sets differ in shape, or differ from the shape this optimizer's state was built for. Nothing is changed.
    /// </exception>
    void Step(TensorSet<T> parameters, TensorSet<T> gradients);

    /// <summary>Forgets all state (buffers and step count), as if newly constructed.</summary>
    void Reset();
}
