using System.Numerics;

namespace RnnCore.Kernels;

/// <summary>
/// The plain scalar GEMM: the algorithmic reference that every fast kernel is tested against, and the fallback.
/// Same contract as <see cref="Gemm"/>.Multiply.
/// </summary>
internal static class GemmReference
{
    /// <summary>C = alpha · op(A) · op(B) + beta · C (column-major), by the textbook triple loop.</summary>
    public static void Multiply<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < n; j++)
        {
            for (int i = 0; i < m; i++)
            {
                // c_ij = alpha · Σ_p op(A)_ip · op(B)_pj + beta · c_ij
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T aip = transposeA ? a[p + i * lda] : a[i + p * lda];
                    T bpj = transposeB ? b[j + p * ldb] : b[p + j * ldb];
                    sum += aip * bpj;
                }

                ref T cij = ref c[i + j * ldc];
                cij = beta == T.Zero ? alpha * sum : (alpha * sum) + (beta * cij);
            }
        }
    }
}
