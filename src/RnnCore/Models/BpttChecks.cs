using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Internal;

namespace RnnCore.Models;

/// <summary>
/// The argument checks shared by <see cref="Bptt{T}"/> and <see cref="Bptt{T}"/> (and by the truncated
/// BPTT of each); <c>owner</c> ("layer" or "model") words the messages. They allocate nothing unless they throw.
/// </summary>
internal static class BpttChecks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The constructor's loss placement and reduction are defined values.</summary>
    internal static void RequireDefined(LossPlacement placement, LossReduction reduction)
    {
        if (!Enum.IsDefined(placement))
        {
            throw new ArgumentOutOfRangeException(nameof(placement), placement, "expected EveryStep or LastStep.");
        }

        if (!Enum.IsDefined(reduction))
        {
            throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "expected Sum or Mean.");
        }
    }

    /// <summary>The cache was filled by the owner's own forward pass, and the targets are for its B sequences.</summary>
    internal static void RequireOwnCache(bool ownedByOwner, bool isFilled, int cacheBatch, SequenceTargets<T> targets, string owner)
    {
        if (!ownedByOwner)
        {
            throw new ArgumentException(
                isFilled
                    ? $"cache was filled by another {owner}'s forward pass; BPTT must walk a cache of the {owner} it differentiates."
                    : $"cache is empty: run the {owner}'s Forward with it first.",
                "cache");
        }

        if (targets.Batch != cacheBatch)
        {
            throw new ArgumentException($"targets are for {targets.Batch} sequences but the cache holds {cacheBatch}.", nameof(targets));
        }
    }

    /// <summary>Softmax: the targets are class indices in [0, O − 1].</summary>
    internal static void RequireClasses(SequenceTargets<T> targets, int o)
    {
        if (!targets.IsClasses)
        {
            throw new ArgumentException("targets hold values but a softmax output is trained with class indices (cross-entropy).", nameof(targets));
        }

        ReadOnlySpan<int> classes = targets.AllClasses;
        for (int i = 0; i < classes.Length; i++)
        {
            if (classes[i] >= o)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(targets), classes[i], $"class target at step {i / targets.Batch}, sequence {i % targets.Batch} is {classes[i]} but must be in [0, {o - 1}] (outputSize {o}; classes count from 0).");
            }
        }
    }

    /// <summary>Sigmoid or identity: the targets are values with O rows.</summary>
    internal static void RequireValues(SequenceTargets<T> targets, int o, OutputActivation activation, string owner)
    {
        if (targets.IsClasses || targets.ValueRows != o)
        {
            throw new ArgumentException(
                targets.IsClasses
                    ? $"targets hold class indices but a {activation} output is trained with value targets of length {o}."
                    : $"value targets have {targets.ValueRows} rows but the {owner}'s outputSize is {o}.",
                nameof(targets));
        }
    }

    /// <summary>Truncated BPTT: at least one step, every step an I x B matrix of finite values; returns B.</summary>
    internal static int RequireInputs(IReadOnlyList<Matrix<T>> inputs, int inputSize)
    {
        int steps = inputs.Count;
        if (steps == 0)
        {
            throw new ArgumentException("inputs is empty; a sequence needs at least one step.", nameof(inputs));
        }

        // Everything is validated before the first update, so a refused call trains nothing.
        int batch = inputs[0]?.ColumnCount ?? throw new ArgumentNullException(nameof(inputs), "inputs[0] is null.");
        for (int t = 0; t < steps; t++)
        {
            Guard.ValidateMatrix(inputs[t], inputSize, batch, nameof(inputs), t, "inputSize x batch");
        }

        return batch;
    }

    /// <summary>Truncated BPTT: one target per step, for the same B sequences as the inputs.</summary>
    internal static void RequireOneTargetPerStep(SequenceTargets<T> targets, int steps, int batch)
    {
        if (targets.Steps != steps || targets.Batch != batch)
        {
            throw new ArgumentException(
                $"targets cover {targets.Steps} steps of {targets.Batch} sequences but truncated BPTT needs one target per step: {steps} steps of {batch}.",
                nameof(targets));
        }
    }
}
