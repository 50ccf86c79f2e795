using MathNet.Numerics.LinearAlgebra;

namespace RnnCore;

/// <summary>What <see cref="TruncatedBptt{T}.Train"/> measured, chunk by chunk.</summary>
/// <typeparam name="T">The element type.</typeparam>
public sealed class TruncatedBpttResult<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    internal TruncatedBpttResult(T[] chunkLosses, double[] gradientNorms, Matrix<T> finalHidden)
    {
        ChunkLosses = chunkLosses;
        GradientNormsBeforeClipping = gradientNorms;
        FinalHidden = finalHidden;
    }

    /// <summary>Each chunk's loss, measured before its update.</summary>
    public IReadOnlyList<T> ChunkLosses { get; }

    /// <summary>Each chunk's global gradient norm before clipping (a growing norm is the first sign of exploding gradients).</summary>
    public IReadOnlyList<double> GradientNormsBeforeClipping { get; }

    /// <summary>The hidden state after the last step (H x B), to carry into the next call (stateful training).</summary>
    public Matrix<T> FinalHidden { get; }
}
