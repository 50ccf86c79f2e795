using RnnCore.Internal;

namespace RnnCore;

/// <content>
/// Sequences from plain arrays: a univariate series (<c>T[]</c>, one value per step), steps × features (<c>T[][]</c>, row
/// t = x_t) or an L x I array (<c>T[,]</c>). Each is copied and validated as the MathNet factories do. And read access
/// to a sequence's inputs and targets.
/// </content>
public sealed partial class Sequence<T>
{
    /// <summary>x_t, the input at 0-based step <paramref name="step"/>, of length <see cref="InputSize"/> (a read-only view).</summary>
    /// <param name="step">0 to <see cref="Length"/> − 1.</param>
    /// <returns>The input vector.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The step is out of range.</exception>
    public ReadOnlySpan<T> Input(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(step, Length);
        return Inputs.AsSpan(step * InputSize, InputSize);
    }

    /// <summary>
    /// Value target <paramref name="index"/> (of <see cref="TargetSteps"/>: the target of step <paramref name="index"/>,
    /// or 0 for the whole sequence's), of length <see cref="TargetSize"/> (a read-only view).
    /// </summary>
    /// <param name="index">0 to <see cref="TargetSteps"/> − 1.</param>
    /// <returns>The target vector.</returns>
    /// <exception cref="InvalidOperationException">The sequence has class targets (see <see cref="TargetClass"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    public ReadOnlySpan<T> Target(int index)
    {
        T[] values = Values ?? throw new InvalidOperationException("the sequence has class targets; read them with TargetClass.");
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, TargetSteps);
        return values.AsSpan(index * TargetSize, TargetSize);
    }

    /// <summary>Class target <paramref name="index"/> (of <see cref="TargetSteps"/>).</summary>
    /// <param name="index">0 to <see cref="TargetSteps"/> − 1.</param>
    /// <returns>The class index.</returns>
    /// <exception cref="InvalidOperationException">The sequence has value targets (see <see cref="Target"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    public int TargetClass(int index)
    {
        int[] classes = Classes ?? throw new InvalidOperationException("the sequence has value targets; read them with Target.");
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, TargetSteps);
        return classes[index];
    }

    /// <summary>A univariate series (I = 1) with one class for the whole sequence (scored at its last step).</summary>
    /// <param name="series">x_1..x_L, one value per step; L ≥ 1, finite.</param>
    /// <param name="class">The class index, ≥ 0.</param>
    /// <returns>The sequence.</returns>
    /// <exception cref="ArgumentException">Empty or non-finite input, or a negative class.</exception>
    public static Sequence<T> WithClass(T[] series, int @class) => WithClasses(series, [@class]);

    /// <summary>A sequence of steps × features with one class for the whole sequence (scored at its last step).</summary>
    /// <param name="steps">L ≥ 1 rows of the same length I; finite.</param>
    /// <param name="class">The class index, ≥ 0.</param>
    /// <returns>The sequence.</returns>
    /// <exception cref="ArgumentException">Empty, ragged or non-finite input, or a negative class.</exception>
    public static Sequence<T> WithClass(T[][] steps, int @class) => WithClasses(steps, [@class]);

    /// <summary>A sequence given as an L x I array (row t = x_t) with one class for the whole sequence.</summary>
    /// <param name="steps">L x I, L ≥ 1 and I ≥ 1; finite.</param>
    /// <param name="class">The class index, ≥ 0.</param>
    /// <returns>The sequence.</returns>
    /// <exception cref="ArgumentException">An empty or non-finite array, or a negative class.</exception>
    public static Sequence<T> WithClass(T[,] steps, int @class)
    {
        (int length, int inputSize, T[] x) = CopyArray(steps, nameof(steps));
        return new Sequence<T>(length, inputSize, x, 1, 0, [RequireClass(@class, nameof(@class), -1)], null);
    }

    /// <summary>A univariate series (I = 1) with a class per step, or one for the whole sequence.</summary>
    /// <param name="series">x_1..x_L; L ≥ 1, finite.</param>
    /// <param name="classes">L class indices, or exactly one; each ≥ 0.</param>
    /// <returns>The sequence.</returns>
    /// <exception cref="ArgumentException">Empty or non-finite input, a negative class, or a target count other than 1 or L.</exception>
    public static Sequence<T> WithClasses(T[] series, IReadOnlyList<int> classes)
    {
        (int length, T[] x) = CopySeries(series, nameof(series));
        return new Sequence<T>(length, 1, x, RequireTargetCountOf(classes, length), 0, CopyClasses(classes), null);
    }

    /// <summary>A sequence of steps × features with a class per step, or one for the whole sequence.</summary>
    /// <param name="steps">L ≥ 1 rows of the same length I; finite.</param>
    /// <param name="classes">L class indices, or exactly one; each ≥ 0.</param>
    /// <returns>The sequence.</returns>
    /// <exception cref="ArgumentException">Empty, ragged or non-finite input, a negative class, or a target count other than 1 or L.</exception>
    public static Sequence<T> WithClasses(T[][] steps, IReadOnlyList<int> classes)
    {
        (int length, int inputSize, T[] x) = CopyRows(steps, nameof(steps));
        return new Sequence<T>(length, inputSize, x, RequireTargetCountOf(classes, length), 0, CopyClasses(classes), null);
    }

    /// <summary>A univariate series (I = 1) with one target vector for the whole sequence, e.g. the next value of a forecast.</summary>
    /// <param name="series">x_1..x_L; L ≥ 1, finite.</param>
    /// <param name="target">The target, of length O ≥ 1; finite.</param>
    /// <returns>The sequence.</returns>
    /// <exception cref="ArgumentException">Empty or non-finite input or target.</exception>
    public static Sequence<T> WithValue(T[] series, params T[] target)
    {
        (int length, T[] x) = CopySeries(series, nameof(series));
        return new Sequence<T>(length, 1, x, 1, RequireTargetSize(target, nameof(target)), null, CopyFinite(target, nameof(target)));
    }

    /// <summary>A sequence of steps × features with one target vector for the whole sequence.</summary>
    /// <param name="steps">L ≥ 1 rows of the same length I; finite.</param>
    /// <param name="target">The target, of length O ≥ 1; finite.</param>
    /// <returns>The sequence.</returns>
    /// <exception cref="ArgumentException">Empty, ragged or non-finite input, or an empty or non-finite target.</exception>
    public static Sequence<T> WithValue(T[][] steps, params T[] target)
    {
        (int length, int inputSize, T[] x) = CopyRows(steps, nameof(steps));
        return new Sequence<T>(length, inputSize, x, 1, RequireTargetSize(target, nameof(target)), null, CopyFinite(target, nameof(target)));
    }

    /// <summary>A sequence given as an L x I array with one target vector for the whole sequence.</summary>
    /// <param name="steps">L x I, L ≥ 1 and I ≥ 1; finite.</param>
    /// <param name="target">The target, of length O ≥ 1; finite.</param>
    /// <returns>The sequence.</returns>
    /// <exception cref="ArgumentException">An empty or non-finite array, or an empty or non-finite target.</exception>
    public static Sequence<T> WithValue(T[,] steps, params T[] target)
    {
        (int length, int inputSize, T[] x) = CopyArray(steps, nameof(steps));
        return new Sequence<T>(length, inputSize, x, 1, RequireTargetSize(target, nameof(target)), null, CopyFinite(target, nameof(target)));
    }

    /// <summary>A univariate series (I = 1) with one scalar target per step (O = 1), e.g. the next value at every step.</summary>
    /// <param name="series">x_1..x_L; L ≥ 1, finite.</param>
    /// <param name="values">L targets; finite.</param>
    /// <returns>The sequence.</returns>
    /// <exception cref="ArgumentException">Empty or non-finite input or targets, or a target count other than L.</exception>
    public static Sequence<T> WithValues(T[] series, T[] values)
    {
        (int length, T[] x) = CopySeries(series, nameof(series));
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != length)
        {
            throw new ArgumentException($"values has {values.Length} targets but the series has {length} steps; give one per step (or use WithValue for one target).", nameof(values));
        }

        return new Sequence<T>(length, 1, x, length, 1, null, CopyFinite(values, nameof(values)));
    }

    /// <summary>A sequence of steps × features with a target vector per step (rows of the same length O), or one for the whole sequence.</summary>
    /// <param name="steps">L ≥ 1 rows of the same length I; finite.</param>
    /// <param name="values">L rows of length O ≥ 1, or exactly one; finite.</param>
    /// <returns>The sequence.</returns>
    /// <exception cref="ArgumentException">Empty, ragged or non-finite input or targets, or a target count other than 1 or L.</exception>
    public static Sequence<T> WithValues(T[][] steps, T[][] values)
    {
        (int length, int inputSize, T[] x) = CopyRows(steps, nameof(steps));
        ArgumentNullException.ThrowIfNull(values);
        RequireTargetCount(values.Length, length, nameof(values));
        (_, int size, T[] y) = CopyRows(values, nameof(values));
        return new Sequence<T>(length, inputSize, x, values.Length, size, null, y);
    }

    private static (int Length, T[] Data) CopySeries(T[] series, string paramName)
    {
        ArgumentNullException.ThrowIfNull(series, paramName);
        if (series.Length == 0)
        {
            throw new ArgumentException($"{paramName} is empty; a sequence needs at least one step.", paramName);
        }

        return (series.Length, CopyFinite(series, paramName));
    }

    private static (int Length, int Width, T[] Data) CopyRows(T[][] rows, string paramName)
    {
        ArgumentNullException.ThrowIfNull(rows, paramName);
        if (rows.Length == 0)
        {
            throw new ArgumentException($"{paramName} is empty; a sequence needs at least one step.", paramName);
        }

        int width = rows[0]?.Length ?? throw new ArgumentNullException(paramName, $"{paramName}[0] is null.");
        if (width == 0)
        {
            throw new ArgumentException($"{paramName}[0] is empty; each step needs at least one value.", paramName);
        }

        T[] data = new T[Guard.ElementCount<T>(width, rows.Length, paramName)];
        for (int t = 0; t < rows.Length; t++)
        {
            T[] row = rows[t] ?? throw new ArgumentNullException(paramName, $"{paramName}[{t}] is null.");
            if (row.Length != width)
            {
                throw new ArgumentException($"{paramName}[{t}] has {row.Length} values but {paramName}[0] has {width}; every step needs the same number.", paramName);
            }

            row.CopyTo(data, t * width);
        }

        RequireFiniteValues(data, width, paramName);
        return (rows.Length, width, data);
    }

    private static (int Length, int Width, T[] Data) CopyArray(T[,] array, string paramName)
    {
        ArgumentNullException.ThrowIfNull(array, paramName);
        int length = array.GetLength(0), width = array.GetLength(1);
        if (length == 0 || width == 0)
        {
            throw new ArgumentException($"{paramName} is {length}x{width}; a sequence needs at least one step of at least one value.", paramName);
        }

        // Row-major L x I is [I, L] column-major: x_t at t·I.
        T[] data = new T[Guard.ElementCount<T>(width, length, paramName)];
        int k = 0;
        foreach (T value in array)
        {
            data[k++] = value;
        }

        RequireFiniteValues(data, width, paramName);
        return (length, width, data);
    }

    private static T[] CopyFinite(T[] values, string paramName)
    {
        ArgumentNullException.ThrowIfNull(values, paramName);
        RequireFiniteValues(values, 1, paramName);
        return (T[])values.Clone();
    }

    private static void RequireFiniteValues(ReadOnlySpan<T> data, int width, string paramName)
    {
        int bad = Guard.IndexOfNonFinite(data);
        if (bad >= 0)
        {
            string where = width == 1 ? $"[{bad}]" : $"[{bad / width}][{bad % width}]";
            throw new ArgumentException($"{paramName}{where} is {data[bad]}; values must be finite.", paramName);
        }
    }

    private static int RequireTargetSize(T[] target, string paramName)
    {
        ArgumentNullException.ThrowIfNull(target, paramName);
        return target.Length > 0 ? target.Length : throw new ArgumentException($"{paramName} is empty; a target needs at least one value.", paramName);
    }

    private static int RequireTargetCountOf(IReadOnlyList<int> classes, int length)
    {
        ArgumentNullException.ThrowIfNull(classes);
        RequireTargetCount(classes.Count, length, nameof(classes));
        return classes.Count;
    }

    private static int[] CopyClasses(IReadOnlyList<int> classes)
    {
        int[] copy = new int[classes.Count];
        for (int t = 0; t < copy.Length; t++)
        {
            copy[t] = RequireClass(classes[t], nameof(classes), t);
        }

        return copy;
    }

    private static int RequireClass(int value, string paramName, int index) => value >= 0
        ? value
        : throw new ArgumentException($"{(index < 0 ? paramName : $"{paramName}[{index}]")} is {value}; a class index must be ≥ 0.", paramName);
}
