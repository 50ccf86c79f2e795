namespace RnnCore;

/// <content>
/// Sequences of token ids: what a network with an embedding reads, or a network without one reads as one-hot vectors
/// (see <see cref="Models.RecurrentModel{T}.Forward(IReadOnlyList{int[]}, Models.ForwardCache{T}, IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}}?, IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}}?, IReadOnlyList{int}?, bool)"/>).
/// The ids are checked against the network when it reads them (the trainer checks a whole dataset before training).
/// </content>
public sealed partial class Sequence<T>
{
    /// <summary>A sequence of token ids with class targets: one per step (e.g. tagging, a language model), or one for the whole sequence (e.g. text classification).</summary>
    /// <param name="ids">L ≥ 1 token ids, each ≥ 0 (and below the network's vocabulary or input size).</param>
    /// <param name="classes">L class indices, or exactly one; each ≥ 0.</param>
    /// <returns>The sequence, with <see cref="IsTokens"/> true and <see cref="InputSize"/> 0.</returns>
    /// <exception cref="ArgumentException">Empty ids, a negative id or class (the message names its position), or a target count other than 1 or L.</exception>
    public static Sequence<T> FromTokens(IReadOnlyList<int> ids, IReadOnlyList<int> classes)
    {
        int[] copy = CopyIds(ids);
        ArgumentNullException.ThrowIfNull(classes);
        RequireTargetCount(classes.Count, copy.Length, nameof(classes));
        int[] targets = new int[classes.Count];
        for (int t = 0; t < targets.Length; t++)
        {
            targets[t] = classes[t] >= 0
                ? classes[t]
                : throw new ArgumentException($"classes[{t}] is {classes[t]}; a class index must be ≥ 0.", nameof(classes));
        }

        return new Sequence<T>(copy.Length, 0, [], targets.Length, 0, targets, null, copy);
    }

    /// <summary>A sequence of token ids with one target vector for the whole sequence (e.g. a score of a text, regression).</summary>
    /// <param name="ids">L ≥ 1 token ids, each ≥ 0 (and below the network's vocabulary or input size).</param>
    /// <param name="target">The target, of length O ≥ 1; finite.</param>
    /// <returns>The sequence, with <see cref="IsTokens"/> true and <see cref="InputSize"/> 0.</returns>
    /// <exception cref="ArgumentException">Empty ids, a negative id (the message names its position), or an empty or non-finite target.</exception>
    public static Sequence<T> FromTokensWithValue(IReadOnlyList<int> ids, params T[] target)
    {
        int[] copy = CopyIds(ids);
        return new Sequence<T>(copy.Length, 0, [], 1, RequireTargetSize(target, nameof(target)), null, CopyFinite(target, nameof(target)), copy);
    }

    /// <summary>A sequence of token ids with a target vector per step (rows of the same length O), or one for the whole sequence.</summary>
    /// <param name="ids">L ≥ 1 token ids, each ≥ 0 (and below the network's vocabulary or input size).</param>
    /// <param name="values">L rows of length O ≥ 1, or exactly one; finite.</param>
    /// <returns>The sequence, with <see cref="IsTokens"/> true and <see cref="InputSize"/> 0.</returns>
    /// <exception cref="ArgumentException">Empty ids, a negative id (the message names its position), ragged or non-finite targets, or a target count other than 1 or L.</exception>
    public static Sequence<T> FromTokensWithValues(IReadOnlyList<int> ids, T[][] values)
    {
        int[] copy = CopyIds(ids);
        ArgumentNullException.ThrowIfNull(values);
        RequireTargetCount(values.Length, copy.Length, nameof(values));
        (_, int size, T[] y) = CopyRows(values, nameof(values));
        return new Sequence<T>(copy.Length, 0, [], values.Length, size, null, y, copy);
    }

    private static int[] CopyIds(IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            throw new ArgumentException("ids is empty; a sequence needs at least one step.", nameof(ids));
        }

        int[] copy = new int[ids.Count];
        for (int t = 0; t < copy.Length; t++)
        {
            copy[t] = ids[t] >= 0
                ? ids[t]
                : throw new ArgumentOutOfRangeException(nameof(ids), ids[t], $"ids[{t}] is {ids[t]}; a token id must be ≥ 0.");
        }

        return copy;
    }
}
