using System.Numerics;

namespace RnnCore.Kernels;

/// <summary>
/// General matrix multiply on column-major storage, the shape every product of the forward pass and of BPTT takes:
/// <c>C = alpha · op(A) · op(B) + beta · C</c>, where <c>op(X)</c> is <c>X</c> or <c>Xᵀ</c>.
/// </summary>
/// <remarks>
/// Conventions are BLAS's <c>?gemm</c>: <c>op(A)</c> is m x k, <c>op(B)</c> is k x n, <c>C</c> is m x n; element (i, j) of a
/// stored matrix X lives at <c>x[i + j * ldx]</c>, where the leading dimension <c>ldx</c> is the stored matrix's row count
/// (or more, for a sub-block). MathNet's dense storage is exactly this layout with <c>ld = RowCount</c>.
/// When <c>beta</c> is zero, C is overwritten without being read (so NaN garbage in C does not leak).
/// The three variants the RNN needs: forward <c>a = Wx·x</c> (NN), weight gradients <c>dW += δ·hᵀ</c> (NT) and the
/// backward of a product <c>dh = Whᵀ·δ</c> (TN).
/// </remarks>
internal static class Gemm
{
    /// <summary>C = alpha · op(A) · op(B) + beta · C (column-major).</summary>
    public static void Multiply<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
        => GemmReference.Multiply(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
