using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Models;

/// <summary>Seeded random problems for <see cref="RecurrentModel{T}"/> tests: inputs, initial states, targets.</summary>
internal static class ModelProblems
{
    public static RecurrentModelOptions Options(
        RecurrentCellKind cell, int layers, bool bidirectional, OutputActivation output, int inputSize = 3, int hiddenSize = 3, int outputSize = 3,
        double dropout = 0, int seed = 1)
        => new(inputSize, hiddenSize, outputSize)
        {
            Cell = cell,
            Layers = layers,
            Bidirectional = bidirectional,
            OutputActivation = output,
            Dropout = dropout,
            Seed = seed,
        };

    /// <summary>Random h_0 (the size of h: P for a projected LSTM) or, with <paramref name="cell"/>, c_0 (H) of every layer-direction.</summary>
    public static List<Matrix<T>> States<T>(Random random, RecurrentModel<T> model, int batch, bool cell = false)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Enumerable.Range(0, model.Layers * model.Directions)
            .Select(_ => RandomProblems.Hidden<T>(random, cell ? model.HiddenSize : model.StateSize, batch)).ToList();

    /// <summary>Targets suited to the model's output: classes for softmax, [0, 1] values for sigmoid, any values for identity.</summary>
    public static SequenceTargets<T> Targets<T>(Random random, RecurrentModel<T> model, int steps, int batch, LossPlacement placement)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int scored = placement == LossPlacement.EveryStep ? steps : 1;
        OutputActivation output = model.Options.OutputActivation;
        if (output == OutputActivation.Softmax)
        {
            return SequenceTargets<T>.FromClasses(
                Enumerable.Range(0, scored).Select(_ => Enumerable.Range(0, batch).Select(_ => random.Next(model.OutputSize)).ToArray()).ToArray());
        }

        bool binary = output == OutputActivation.Sigmoid;
        return SequenceTargets<T>.FromValues(Enumerable.Range(0, scored)
            .Select(_ => Matrix<T>.Build.Dense(model.OutputSize, batch, (_, _) => T.CreateTruncating(binary ? random.Next(2) : (2 * random.NextDouble()) - 1)))
            .ToList());
    }

    public static T[][] Snapshot<T>(RecurrentModel<T> model)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Enumerable.Range(0, model.Parameters.Count).Select(i => model.Parameters[i].ToArray()).ToArray();
}
