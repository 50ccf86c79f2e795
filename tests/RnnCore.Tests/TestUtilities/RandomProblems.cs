using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;

namespace RnnCore.Tests.TestUtilities;

/// <summary>Seeded random batches, targets and layers for tests.</summary>
internal static class RandomProblems
{
    public static List<Matrix<T>> Inputs<T>(Random random, int inputSize, int steps, int batch, double scale = 1.0)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Enumerable.Range(0, steps)
            .Select(_ => Matrix<T>.Build.Dense(inputSize, batch, (_, _) => T.CreateTruncating(scale * ((2 * random.NextDouble()) - 1))))
            .ToList();

    public static Matrix<T> Hidden<T>(Random random, int hiddenSize, int batch)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Matrix<T>.Build.Dense(hiddenSize, batch, (_, _) => T.CreateTruncating((2 * random.NextDouble()) - 1));

    /// <summary>Targets suited to the layer's output: classes for softmax, [0, 1] values for sigmoid, any values for identity.</summary>
    public static SequenceTargets<T> Targets<T>(Random random, RecurrentLayer<T> layer, int steps, int batch, LossPlacement placement)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int scored = placement == LossPlacement.EveryStep ? steps : 1;
        if (layer.OutputActivation == OutputActivation.Softmax)
        {
            return SequenceTargets<T>.FromClasses(
                Enumerable.Range(0, scored).Select(_ => Enumerable.Range(0, batch).Select(_ => random.Next(layer.OutputSize)).ToArray()).ToArray());
        }

        bool binary = layer.OutputActivation == OutputActivation.Sigmoid;
        return SequenceTargets<T>.FromValues(Enumerable.Range(0, scored)
            .Select(_ => Matrix<T>.Build.Dense(layer.OutputSize, batch, (_, _) =>
                T.CreateTruncating(binary ? random.Next(2) : (2 * random.NextDouble()) - 1)))
            .ToList());
    }

    /// <summary>Every step's outputs y_t of a filled cache, step after step (each O x B block column-major).</summary>
    public static T[] AllOutputs<T>(ForwardCache<T> cache)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Enumerable.Range(0, cache.Steps).SelectMany(t => cache.Output(t).ToColumnMajorArray()).ToArray();

    /// <summary>A copy of every parameter, to check that a refused call changed nothing.</summary>
    public static T[][] Snapshot<T>(RecurrentModel<T> layer)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Enumerable.Range(0, layer.Parameters.Count).Select(i => layer.Parameters[i].ToArray()).ToArray();

    public static void ShouldBeUnchanged<T>(RecurrentModel<T> layer, T[][] snapshot)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < snapshot.Length; i++)
        {
            layer.Parameters[i].ToArray().Should().Equal(snapshot[i], $"parameter {layer.Parameters.GetName(i)} must be unchanged");
        }
    }
}
