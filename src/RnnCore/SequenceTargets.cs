using MathNet.Numerics.LinearAlgebra;
using RnnCore.Internal;

namespace RnnCore;

/// <summary>
/// What the network should output: class indices (for softmax + cross-entropy) or values (for sigmoid + binary
/// cross-entropy, identity + squared error), for each scored step of a batch of B sequences.
/// </summary>
/// <remarks>
/// With <see cref="LossPlacement.EveryStep"/> the targets hold one entry per step of the sequence. With
/// <see cref="LossPlacement.LastStep"/> they hold either one step (the last step's targets) or one per step, of which only
/// the last is read. The data is copied at construction; later changes to the caller's arrays do not affect it.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class SequenceTargets<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    // Class targets: _classes[step * Batch + b]. Value targets: _values holds one rows x Batch column-major block per step.
    private readonly int[]? _classes;
    private readonly T[]? _values;

    private SequenceTargets(int steps, int batch, int valueRows, int[]? classes, T[]? values)
    {
        Steps = steps;
        Batch = batch;
        ValueRows = valueRows;
        _classes = classes;
        _values = values;
    }

    /// <summary>Number of steps the targets cover.</summary>
    public int Steps { get; private set; }

    /// <summary>Number of sequences B.</summary>
    public int Batch { get; }

    /// <summary>True for class-index targets; false for value targets.</summary>
    public bool IsClasses => _classes is not null;

    /// <summary>Rows of each value target (the output size O); 0 for class targets.</summary>
    public int ValueRows { get; }

    /// <summary>Class targets for a batch: <c>classes[step][b]</c> is the class index of sequence b at that step.</summary>
    /// <param name="classes">Steps x B class indices; every row the same length B.</param>
    /// <exception cref="ArgumentException">Empty, ragged, or negative entries.</exception>
    public static SequenceTargets<T> FromClasses(int[][] classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.Length == 0)
        {
            throw new ArgumentException("classes is empty; expected at least one step.", nameof(classes));
        }

        int batch = classes[0]?.Length ?? throw new ArgumentNullException(nameof(classes), "classes[0] is null.");
        Guard.Positive(batch, "classes[0].Length");
        int[] flat = new int[classes.Length * batch];
        for (int t = 0; t < classes.Length; t++)
        {
            int[] row = classes[t] ?? throw new ArgumentNullException(nameof(classes), $"classes[{t}] is null.");
            if (row.Length != batch)
            {
                throw new ArgumentException(
                    $"classes[{t}] has {row.Length} entries but classes[0] has {batch}; every step needs one class per sequence.",
                    nameof(classes));
            }

            for (int b = 0; b < batch; b++)
            {
                if (row[b] < 0)
                {
                    throw new ArgumentException($"classes[{t}][{b}] is {row[b]}; a class index must be ≥ 0.", nameof(classes));
                }

                flat[(t * batch) + b] = row[b];
            }
        }

        return new SequenceTargets<T>(classes.Length, batch, 0, flat, null);
    }

    /// <summary>Class targets for one sequence (B = 1): <c>classPerStep[t]</c> is the class at step t.</summary>
    /// <param name="classPerStep">One class index per step.</param>
    public static SequenceTargets<T> FromClassSequence(IReadOnlyList<int> classPerStep)
    {
        ArgumentNullException.ThrowIfNull(classPerStep);
        int[][] rows = new int[classPerStep.Count][];
        for (int t = 0; t < rows.Length; t++)
        {
            rows[t] = [classPerStep[t]];
        }

        return classPerStep.Count == 0
            ? throw new ArgumentException("classPerStep is empty; expected at least one step.", nameof(classPerStep))
            : FromClasses(rows);
    }

    /// <summary>
    /// Value targets for a batch: <c>values[step]</c> is an O x B matrix, column b the target of sequence b.
    /// </summary>
    /// <param name="values">One O x B matrix per step, all the same shape, all finite.</param>
    public static SequenceTargets<T> FromValues(IReadOnlyList<Matrix<T>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("values is empty; expected at least one step.", nameof(values));
        }

        Matrix<T> first = values[0] ?? throw new ArgumentNullException(nameof(values), "values[0] is null.");
        int rows = first.RowCount;
        int batch = first.ColumnCount;
        int block = rows * batch;
        T[] flat = new T[values.Count * block];
        for (int t = 0; t < values.Count; t++)
        {
            Guard.CopyMatrix(values[t], rows, batch, flat.AsSpan(t * block, block), nameof(values), t, "outputSize x batch");
        }

        return new SequenceTargets<T>(values.Count, batch, rows, null, flat);
    }

    /// <summary>Value targets for one sequence (B = 1): <c>valuePerStep[t]</c> is the length-O target at step t.</summary>
    /// <param name="valuePerStep">One vector per step, all the same length, all finite.</param>
    public static SequenceTargets<T> FromValueSequence(IReadOnlyList<Vector<T>> valuePerStep)
    {
        ArgumentNullException.ThrowIfNull(valuePerStep);
        if (valuePerStep.Count == 0)
        {
            throw new ArgumentException("valuePerStep is empty; expected at least one step.", nameof(valuePerStep));
        }

        int rows = valuePerStep[0]?.Count ?? throw new ArgumentNullException(nameof(valuePerStep), "valuePerStep[0] is null.");
        T[] flat = new T[valuePerStep.Count * rows];
        for (int t = 0; t < valuePerStep.Count; t++)
        {
            Guard.CopyVector(valuePerStep[t], rows, flat.AsSpan(t * rows, rows), nameof(valuePerStep), t, "outputSize");
        }

        return new SequenceTargets<T>(valuePerStep.Count, 1, rows, null, flat);
    }

    /// <summary>The same targets in another element type (class indices are shared; values are converted).</summary>
    internal SequenceTargets<TOther> ConvertTo<TOther>()
        where TOther : unmanaged, System.Numerics.IFloatingPointIeee754<TOther>
    {
        TOther[]? values = _values is null ? null : Array.ConvertAll(_values, TOther.CreateTruncating);
        return SequenceTargets<TOther>.Create(Steps, Batch, ValueRows, _classes, values);
    }

    /// <summary>Wraps already validated arrays.</summary>
    internal static SequenceTargets<T> Create(int steps, int batch, int valueRows, int[]? classes, T[]? values)
        => new(steps, batch, valueRows, classes, values);

    /// <summary>Covers the first <paramref name="steps"/> steps of buffers made for more (the Trainer's reused batch buffers).</summary>
    internal void UseSteps(int steps) => Steps = steps;

    /// <summary>The B class indices of step <paramref name="step"/>.</summary>
    internal ReadOnlySpan<int> ClassesAt(int step) => _classes.AsSpan(step * Batch, Batch);

    /// <summary>The O x B value block of step <paramref name="step"/>.</summary>
    internal ReadOnlySpan<T> ValuesAt(int step) => _values.AsSpan(step * ValueRows * Batch, ValueRows * Batch);

    /// <summary>All class indices (step-major), for range checks.</summary>
    internal ReadOnlySpan<int> AllClasses => _classes.AsSpan(0, _classes is null ? 0 : Steps * Batch);

    /// <summary>All values (step blocks), for range checks.</summary>
    internal ReadOnlySpan<T> AllValues => _values.AsSpan(0, _values is null ? 0 : Steps * ValueRows * Batch);
}
