using MathNet.Numerics.LinearAlgebra;
using RnnCore.Internal;

namespace RnnCore;

/// <summary>
/// One training example for <see cref="Training.Trainer{T}"/>: a sequence of input vectors x_1..x_L (its own length L) and its
/// targets, either one per step (sequence to sequence) or one for the whole sequence (many to one, scored at its last step).
/// </summary>
/// <remarks>The data is copied at construction; later changes to the caller's vectors do not affect it.</remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Sequence<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private Sequence(int length, int inputSize, T[] inputs, int targetSteps, int targetSize, int[]? classes, T[]? values, int[]? ids = null)
    {
        Ids = ids;
        Length = length;
        InputSize = inputSize;
        Inputs = inputs;
        TargetSteps = targetSteps;
        TargetSize = targetSize;
        Classes = classes;
        Values = values;
    }

    /// <summary>L, the number of steps.</summary>
    public int Length { get; }

    /// <summary>I, the length of each input vector; 0 for a sequence of token ids (<see cref="IsTokens"/>).</summary>
    public int InputSize { get; }

    /// <summary>True for a sequence of token ids (<see cref="FromTokens(IReadOnlyList{int}, IReadOnlyList{int})"/>) rather than of vectors.</summary>
    public bool IsTokens => Ids is not null;

    /// <summary>True for class-index targets (softmax output); false for value targets.</summary>
    public bool IsClasses => Classes is not null;

    /// <summary>How many targets: <see cref="Length"/> (one per step) or 1 (one for the whole sequence).</summary>
    public int TargetSteps { get; }

    /// <summary>The length O of each value target; 0 for class targets.</summary>
    public int TargetSize { get; }

    // [I, L] column-major: x_t in column t (empty for a token sequence).
    internal T[] Inputs { get; }

    // [L] token ids, or null for a sequence of vectors.
    internal int[]? Ids { get; }

    // [TargetSteps] class indices, or null.
    internal int[]? Classes { get; }

    // [O, TargetSteps] column-major values, or null.
    internal T[]? Values { get; }

    /// <summary>A sequence with class targets: one per step, or a single class for the whole sequence.</summary>
    /// <param name="inputs">L ≥ 1 input vectors of the same length, finite.</param>
    /// <param name="classes">L class indices, or exactly one; each ≥ 0.</param>
    /// <returns>The sequence.</returns>
    /// <exception cref="ArgumentException">Empty, ragged or non-finite inputs, a negative class, or a target count other than 1 or L.</exception>
    [System.Runtime.CompilerServices.OverloadResolutionPriority(1)] // keeps WithClasses([], ...) meaning this overload, as before the array ones
    public static Sequence<T> WithClasses(IReadOnlyList<Vector<T>> inputs, IReadOnlyList<int> classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        (int length, int inputSize, T[] x) = CopyInputs(inputs);
        RequireTargetCount(classes.Count, length, nameof(classes));
        int[] copy = new int[classes.Count];
        for (int t = 0; t < copy.Length; t++)
        {
            copy[t] = classes[t] >= 0
                ? classes[t]
                : throw new ArgumentException($"classes[{t}] is {classes[t]}; a class index must be ≥ 0.", nameof(classes));
        }

        return new Sequence<T>(length, inputSize, x, copy.Length, 0, copy, null);
    }

    /// <summary>A sequence with value targets (sigmoid or identity output): one vector per step, or one for the whole sequence.</summary>
    /// <param name="inputs">L ≥ 1 input vectors of the same length, finite.</param>
    /// <param name="values">L target vectors of the same length O, or exactly one; finite.</param>
    /// <returns>The sequence.</returns>
    /// <exception cref="ArgumentException">Empty, ragged or non-finite inputs or targets, or a target count other than 1 or L.</exception>
    [System.Runtime.CompilerServices.OverloadResolutionPriority(1)] // keeps WithValues([], [...]) meaning this overload, as before the array ones
    public static Sequence<T> WithValues(IReadOnlyList<Vector<T>> inputs, IReadOnlyList<Vector<T>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        (int length, int inputSize, T[] x) = CopyInputs(inputs);
        RequireTargetCount(values.Count, length, nameof(values));
        int size = values[0]?.Count ?? throw new ArgumentNullException(nameof(values), "values[0] is null.");
        Guard.Positive(size, "values[0].Count");
        T[] copy = new T[size * values.Count];
        for (int t = 0; t < values.Count; t++)
        {
            Guard.CopyVector(values[t], size, copy.AsSpan(t * size, size), nameof(values), t, "target size");
        }

        return new Sequence<T>(length, inputSize, x, values.Count, size, null, copy);
    }

    private static (int Length, int InputSize, T[] Data) CopyInputs(IReadOnlyList<Vector<T>> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0)
        {
            throw new ArgumentException("inputs is empty; a sequence needs at least one step.", nameof(inputs));
        }

        int size = inputs[0]?.Count ?? throw new ArgumentNullException(nameof(inputs), "inputs[0] is null.");
        Guard.Positive(size, "inputs[0].Count");
        T[] data = new T[Guard.ElementCount<T>(size, inputs.Count, "inputs")];
        for (int t = 0; t < inputs.Count; t++)
        {
            Guard.CopyVector(inputs[t], size, data.AsSpan(t * size, size), nameof(inputs), t, "inputSize");
        }

        return (inputs.Count, size, data);
    }

    private static void RequireTargetCount(int count, int length, string paramName)
    {
        if (count != length && count != 1)
        {
            throw new ArgumentException(
                $"{paramName} has {count} targets but the sequence has {length} steps; give one target per step or one for the whole sequence.",
                paramName);
        }
    }
}
