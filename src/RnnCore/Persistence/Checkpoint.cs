using System.Numerics;
using RnnCore.Models;
using RnnCore.Optimizers;

namespace RnnCore.Persistence;

/// <summary>
/// What <see cref="ModelFile.LoadCheckpoint{T}(string)"/> returns: the network (a <see cref="RecurrentLayer{T}"/> for a
/// layer's file; a model with its dropout generator where it stood), and, when the file holds them, the optimizer's
/// state and the training position: everything a run needs to continue as if it had never stopped.
/// </summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Checkpoint<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    internal Checkpoint(RecurrentModel<T> model, OptimizerState<T>? optimizerState, TrainingPosition? position)
    {
        Model = model;
        OptimizerState = optimizerState;
        Position = position;
    }

    /// <summary>The network, with its options, parameters, dropout generator state and vocabulary (when the file holds one) as saved.</summary>
    public RecurrentModel<T> Model { get; }

    /// <summary>The optimizer's state as saved, or null when the file holds none.</summary>
    public OptimizerState<T>? OptimizerState { get; }

    /// <summary>The training position as saved, or null when the file holds none.</summary>
    public TrainingPosition? Position { get; }

    /// <summary>
    /// Puts the saved optimizer state into <paramref name="optimizer"/> (see <see cref="OptimizerBase{T}.RestoreState"/>):
    /// construct it with the same options as the optimizer that was saved.
    /// </summary>
    /// <param name="optimizer">The optimizer that continues the run: one of RnnCore's, which derive from <see cref="OptimizerBase{T}"/>.</param>
    /// <exception cref="InvalidOperationException">The file held no optimizer state.</exception>
    /// <exception cref="ArgumentException">The state belongs to another kind of optimizer or to other options, or the optimizer is not one of RnnCore's; nothing is changed.</exception>
    public void RestoreOptimizer(IOptimizer<T> optimizer) => ModelFileSections.RestoreOptimizer(OptimizerState, optimizer);
}
