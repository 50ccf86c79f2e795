using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Storage;

namespace RnnCore.Internal;

/// <summary>
/// Argument checks for the public entry points. Every message names the argument, what was expected and what was given,
/// and every check runs before anything is written, so a refused call leaves the model unchanged.
/// </summary>
internal static class Guard
{
    /// <summary>Throws unless T is float or double, the element types RnnCore computes in.</summary>
    public static void RequireSupportedElementType<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException(
                $"RnnCore computes in float or double only; element type {typeof(T).Name} is not supported.");
        }
    }

    /// <summary>Throws unless value &gt; 0.</summary>
    public static void Positive(int value, string paramName)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(paramName, value, $"{paramName} must be positive, but was {value}.");
        }
    }

    /// <summary>The index of the first NaN or infinity in <paramref name="values"/>, or −1.</summary>
    public static int IndexOfNonFinite<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // x − x is 0 for every finite x and NaN for NaN and ±∞: one vector compare finds the block with the culprit.
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= values.Length - System.Numerics.Vector<T>.Count; i += System.Numerics.Vector<T>.Count)
            {
                var x = new System.Numerics.Vector<T>(values.Slice(i));
                if (!Vector.EqualsAll(x - x, System.Numerics.Vector<T>.Zero))
                {
                    break;
                }
            }
        }

        for (; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Checks that <paramref name="matrix"/> is rows x columns and finite, then copies it (column-major) into
    /// <paramref name="destination"/>. The argument is reported as <c>paramName[index]</c> (or <c>paramName</c> when
    /// index is −1); the label is built only when a check fails, so a valid call allocates nothing.
    /// </summary>
    public static void CopyMatrix<T>(
        Matrix<T>? matrix, int rows, int columns, Span<T> destination, string paramName, int index, string shapeMeaning)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (matrix is null || matrix.RowCount != rows || matrix.ColumnCount != columns)
        {
            RequireMatrix(matrix, rows, columns, Label(paramName, index), shapeMeaning, paramName);
        }

        if (matrix!.Storage is DenseColumnMajorMatrixStorage<T> dense)
        {
            dense.Data.AsSpan(0, rows * columns).CopyTo(destination);
        }
        else
        {
            for (int j = 0; j < columns; j++)
            {
                for (int i = 0; i < rows; i++)
                {
                    destination[i + (j * rows)] = matrix.At(i, j);
                }
            }
        }

        if (IndexOfNonFinite((ReadOnlySpan<T>)destination.Slice(0, rows * columns)) >= 0)
        {
            RequireFinite((ReadOnlySpan<T>)destination.Slice(0, rows * columns), rows, Label(paramName, index), paramName);
        }
    }

    /// <summary>
    /// Checks, without copying, that <paramref name="matrix"/> is rows x columns and finite (reported as in
    /// <see cref="CopyMatrix"/>): for calls that must refuse bad input before changing anything.
    /// </summary>
    public static void ValidateMatrix<T>(Matrix<T>? matrix, int rows, int columns, string paramName, int index, string shapeMeaning)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (matrix is null || matrix.RowCount != rows || matrix.ColumnCount != columns)
        {
            RequireMatrix(matrix, rows, columns, Label(paramName, index), shapeMeaning, paramName);
        }

        if (matrix!.Storage is DenseColumnMajorMatrixStorage<T> dense)
        {
            if (IndexOfNonFinite<T>(dense.Data.AsSpan(0, rows * columns)) >= 0)
            {
                RequireFinite<T>(dense.Data.AsSpan(0, rows * columns), rows, Label(paramName, index), paramName);
            }

            return;
        }

        for (int j = 0; j < columns; j++)
        {
            for (int i = 0; i < rows; i++)
            {
                if (!T.IsFinite(matrix.At(i, j)))
                {
                    throw new ArgumentException(
                        $"{Label(paramName, index)} contains {matrix.At(i, j)} at row {i}, column {j}; every value must be finite.", paramName);
                }
            }
        }
    }

    /// <summary>Checks that <paramref name="matrix"/> is non-null and rows x columns.</summary>
    public static void RequireMatrix<T>(Matrix<T>? matrix, int rows, int columns, string label, string shapeMeaning, string paramName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (matrix is null)
        {
            throw new ArgumentNullException(paramName, $"{label} is null; expected a {rows}x{columns} matrix ({shapeMeaning}).");
        }

        if (matrix.RowCount != rows || matrix.ColumnCount != columns)
        {
            throw new ArgumentException(
                $"{label} is {matrix.RowCount}x{matrix.ColumnCount} but the layer expects {rows}x{columns} ({shapeMeaning}).",
                paramName);
        }
    }

    /// <summary>Checks that a vector is non-null, of the given length and finite, then copies it (reported as in <see cref="CopyMatrix"/>).</summary>
    public static void CopyVector<T>(MathNet.Numerics.LinearAlgebra.Vector<T>? vector, int length, Span<T> destination, string paramName, int index, string meaning)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string label = Label(paramName, index);
        if (vector is null)
        {
            throw new ArgumentNullException(paramName, $"{label} is null; expected a vector of length {length} ({meaning}).");
        }

        if (vector.Count != length)
        {
            throw new ArgumentException(
                $"{label} has length {vector.Count} but the layer expects {length} ({meaning}).", paramName);
        }

        for (int i = 0; i < length; i++)
        {
            destination[i] = vector.At(i);
        }

        RequireFinite((ReadOnlySpan<T>)destination.Slice(0, length), length, label, paramName);
    }

    private static string Label(string paramName, int index) => index >= 0 ? $"{paramName}[{index}]" : paramName;

    /// <summary>Throws an <see cref="ArgumentException"/> at the first NaN or infinity, with its (row, column).</summary>
    public static void RequireFinite<T>(ReadOnlySpan<T> columnMajor, int rows, string label, string paramName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int bad = IndexOfNonFinite(columnMajor);
        if (bad >= 0)
        {
            throw new ArgumentException(
                $"{label} contains {columnMajor[bad]} at row {bad % rows}, column {bad / rows}; every value must be finite.",
                paramName);
        }
    }

    /// <summary>
    /// Refuses sizes whose element count would not fit one .NET array, saying how much memory the call would need,
    /// instead of letting an int multiplication overflow silently. The count is computed in 128 bits, so even
    /// int.MaxValue² x H is shown as the positive number it is. <paramref name="advice"/> replaces the default advice
    /// (fewer steps per call or a smaller batch), which suits a cache but not a weight matrix.
    /// </summary>
    public static int ElementCount<T>(long rows, long columns, string what, string? advice = null)
        where T : unmanaged
    {
        Int128 count = (Int128)rows * columns;
        if (count > Array.MaxLength)
        {
            double gib = (double)count * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() / (1024.0 * 1024 * 1024);
            string size = gib < 1e6 ? $"{gib:N1} GiB" : $"{gib:E2} GiB";
            throw new ArgumentOutOfRangeException(
                what,
                $"{what} would need {rows:N0} x {columns:N0} = {count:N0} elements ({size} of {typeof(T).Name}), " +
                $"more than one .NET array can hold ({Array.MaxLength:N0} elements). " +
                (advice ?? "Use fewer steps per call (truncated BPTT) or a smaller batch."));
        }

        return (int)count;
    }
}
