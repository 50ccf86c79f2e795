using MathNet.Numerics.LinearAlgebra;
using RnnCore.Internal;

namespace RnnCore.Models;

/// <summary>
/// Prediction inputs of every shape (a series, rows, an array, vectors, a training sequence) converted to the flat
/// [I, L] column-major layout a <see cref="Sequence{T}"/> keeps (or, for a token sequence, its ids), checked against an
/// input size (or the ids the network reads); shared by
/// <see cref="RecurrentLayer{T}"/> and <see cref="RecurrentModel{T}"/>.
/// </summary>
internal readonly struct PredictionInputs<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private readonly int _inputSize;
    private readonly int _idCount;
    private readonly string _owner;

    /// <param name="inputSize">I.</param>
    /// <param name="idCount">How many token ids the network reads (V with an embedding, else I).</param>
    /// <param name="owner">"layer" or "model", for messages.</param>
    public PredictionInputs(int inputSize, int idCount, string owner)
    {
        _inputSize = inputSize;
        _idCount = idCount;
        _owner = owner;
    }

    /// <summary>Converts each of many sequences with <paramref name="convert"/>, naming it <c>paramName[n]</c> in messages.</summary>
    public static (T[] Inputs, int[]? Ids, int Length)[] FromMany<TSequence>(
        IReadOnlyList<TSequence> sequences, string paramName, Func<TSequence, string, int, (T[] Inputs, int[]? Ids, int Length)> convert)
    {
        ArgumentNullException.ThrowIfNull(sequences, paramName);
        if (sequences.Count == 0)
        {
            throw new ArgumentException($"{paramName} is empty; give at least one sequence.", paramName);
        }

        var converted = new (T[] Inputs, int[]? Ids, int Length)[sequences.Count];
        for (int n = 0; n < converted.Length; n++)
        {
            converted[n] = convert(sequences[n], paramName, n);
        }

        return converted;
    }

    /// <summary>A univariate series, one value per step, as [1, L].</summary>
    public (T[] Inputs, int[]? Ids, int Length) FromSeries(T[] series, string paramName, int index)
    {
        string name = Label(paramName, index);
        ArgumentNullException.ThrowIfNull(series, paramName);
        if (_inputSize != 1)
        {
            throw new ArgumentException(
                $"{name} is a univariate series (one value per step) but the {_owner}'s inputSize is {_inputSize}; give steps × features (T[][] or T[,]) instead.",
                paramName);
        }

        RequireSteps(series.Length, name, paramName);
        RequireFinite(series, name, paramName, 1);
        return ((T[])series.Clone(), null, series.Length);
    }

    /// <summary>Rows x_t of length I, as [I, L].</summary>
    public (T[] Inputs, int[]? Ids, int Length) FromRows(T[][] steps, string paramName, int index)
    {
        string name = Label(paramName, index);
        ArgumentNullException.ThrowIfNull(steps, paramName);
        RequireSteps(steps.Length, name, paramName);
        int i = _inputSize;
        T[] data = new T[Guard.ElementCount<T>(i, steps.Length, name)];
        for (int t = 0; t < steps.Length; t++)
        {
            T[] row = steps[t] ?? throw new ArgumentNullException(paramName, $"{name}[{t}] is null.");
            if (row.Length != i)
            {
                throw new ArgumentException($"{name}[{t}] has {row.Length} features but the {_owner}'s inputSize is {i}.", paramName);
            }

            row.CopyTo(data, t * i);
        }

        RequireFinite(data, name, paramName, i);
        return (data, null, steps.Length);
    }

    /// <summary>An L x I array (row t = x_t), as [I, L].</summary>
    public (T[] Inputs, int[]? Ids, int Length) FromArray(T[,] steps, string paramName)
    {
        ArgumentNullException.ThrowIfNull(steps, paramName);
        int length = steps.GetLength(0), i = _inputSize;
        RequireSteps(length, paramName, paramName);
        if (steps.GetLength(1) != i)
        {
            throw new ArgumentException($"{paramName} is {length}x{steps.GetLength(1)} (steps x features) but the {_owner}'s inputSize is {i}.", paramName);
        }

        // A row-major L x I array is already [I, L] column-major: x_t is elements t·I .. t·I + I − 1.
        T[] data = new T[Guard.ElementCount<T>(i, length, paramName)];
        int k = 0;
        foreach (T value in steps)
        {
            data[k++] = value;
        }

        RequireFinite(data, paramName, paramName, i);
        return (data, null, length);
    }

    /// <summary>MathNet vectors x_t of length I, as [I, L].</summary>
    public (T[] Inputs, int[]? Ids, int Length) FromVectors(IReadOnlyList<Vector<T>> sequence, string paramName, int index)
    {
        string name = Label(paramName, index);
        ArgumentNullException.ThrowIfNull(sequence, paramName);
        RequireSteps(sequence.Count, name, paramName);
        int i = _inputSize;
        T[] data = new T[Guard.ElementCount<T>(i, sequence.Count, name)];
        for (int t = 0; t < sequence.Count; t++)
        {
            Vector<T> x = sequence[t] ?? throw new ArgumentNullException(paramName, $"{name}[{t}] is null.");
            if (x.Count != i)
            {
                throw new ArgumentException($"{name}[{t}] has {x.Count} features but the {_owner}'s inputSize is {i}.", paramName);
            }

            for (int k = 0; k < i; k++)
            {
                data[(t * i) + k] = x.At(k);
            }
        }

        RequireFinite(data, name, paramName, i);
        return (data, null, sequence.Count);
    }

    /// <summary>A training sequence's inputs (already validated and copied when it was built).</summary>
    public (T[] Inputs, int[]? Ids, int Length) FromSequence(Sequence<T> sequence, string paramName, int index)
    {
        string name = Label(paramName, index);
        if (sequence is null)
        {
            throw new ArgumentNullException(paramName, $"{name} is null.");
        }

        if (sequence.Ids is int[] ids)
        {
            for (int t = 0; t < ids.Length; t++)
            {
                if (ids[t] >= _idCount)
                {
                    throw new ArgumentOutOfRangeException(
                        paramName, ids[t], $"{name}: the token id at step {t} is {ids[t]} but the {_owner} reads ids in [0, {_idCount}).");
                }
            }

            return ([], ids, sequence.Length);
        }

        if (sequence.InputSize != _inputSize)
        {
            throw new ArgumentException($"{name} has input size {sequence.InputSize} but the {_owner}'s inputSize is {_inputSize}.", paramName);
        }

        return (sequence.Inputs, null, sequence.Length);
    }

    private static string Label(string paramName, int index) => index < 0 ? paramName : $"{paramName}[{index}]";

    private static void RequireSteps(int steps, string name, string paramName)
    {
        if (steps == 0)
        {
            throw new ArgumentException($"{name} is empty; a sequence needs at least one step.", paramName);
        }
    }

    private static void RequireFinite(ReadOnlySpan<T> data, string name, string paramName, int inputSize)
    {
        int bad = Guard.IndexOfNonFinite(data);
        if (bad >= 0)
        {
            throw new ArgumentException(
                $"{name} holds {data[bad]} at step {bad / inputSize}, feature {bad % inputSize}; inputs must be finite.", paramName);
        }
    }
}
