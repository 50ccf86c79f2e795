using System.Numerics;
using MathNet.Numerics.LinearAlgebra;

namespace RnnCore.Models;

/// <summary>What <see cref="TruncatedBptt{T}"/>.Train measured, chunk by chunk, and the states it ended with.</summary>
/// <typeparam name="T">The element type.</typeparam>
public sealed class TruncatedBpttResult<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    internal TruncatedBpttResult(T[] chunkLosses, double[] gradientNorms, IReadOnlyList<Matrix<T>> finalHidden, IReadOnlyList<Matrix<T>>? finalCell)
    {
        ChunkLosses = chunkLosses;
        GradientNormsBeforeClipping = gradientNorms;
        FinalHidden = finalHidden;
        FinalCell = finalCell;
    }

    /// <summary>Each chunk's loss, measured before its update.</summary>
    public IReadOnlyList<T> ChunkLosses { get; }

    /// <summary>Each chunk's global gradient norm before clipping.</summary>
    public IReadOnlyList<double> GradientNormsBeforeClipping { get; }

    /// <summary>Every layer's hidden state after the last step (L matrices of H x B), to pass as the next call's h_0.</summary>
    public IReadOnlyList<Matrix<T>> FinalHidden { get; }

    /// <summary>Every layer's cell state after the last step (LSTM), to pass as the next call's c_0; null for other cells.</summary>
    public IReadOnlyList<Matrix<T>>? FinalCell { get; }
}
