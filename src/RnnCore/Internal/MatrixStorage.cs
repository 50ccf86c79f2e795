using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Storage;

namespace RnnCore.Internal;

/// <summary>Zero-copy access to the column-major array behind the dense matrices the library creates.</summary>
internal static class MatrixStorage
{
    /// <summary>The column-major elements of a dense matrix, without copying.</summary>
    public static ReadOnlySpan<T> AsColumnMajorSpan<T>(this Matrix<T> matrix)
        where T : struct, IEquatable<T>, IFormattable
        => ((DenseColumnMajorMatrixStorage<T>)matrix.Storage).Data;
}
