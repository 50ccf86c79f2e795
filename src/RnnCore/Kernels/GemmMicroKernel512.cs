using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnCore.Kernels;

/// <summary>
/// The 512-bit (AVX-512F) kernels of <see cref="GemmMicroKernel"/>: MR = two vectors (32 floats or 16 doubles), NR = 8.
/// </summary>
/// <remarks>
/// Per step p: two vector loads of op(A), eight broadcasts of op(B) (folded into the FMAs as embedded broadcasts),
/// sixteen FMAs into sixteen accumulators. Sixteen independent chains cover the FMA latency (4 cycles) of two FMA pipes
/// twice over, and 8 columns divide the batch sizes the training steps use (32, 64, 128), so the per-step products
/// <c>W_h h_{t−1}</c> have no ragged column strip.
/// </remarks>
internal static unsafe class GemmMicroKernel512
{
    /// <summary>Columns per tile (NR).</summary>
    public const int Columns = 8;


    /// <summary>
    /// The MR x 8 kernel; step p's MR values of op(A) are at <c>a + p · aStride</c> (MR for a packed strip) and its eight
    /// values of op(B) at <c>b + p · bStride</c> (8 for a packed strip). With <paramref name="bCopy"/>, the eight values
    /// of op(B) read at each step are also written there, 8 per step: a strip read in place is packed by the first tile
    /// that uses it, for the tiles that follow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FullTile<T>(int kc, T* a, int aStride, T* b, int bStride, T* c, int ldc, T alpha, T beta, T* bCopy = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c10 = default, c01 = default, c11 = default, c02 = default, c12 = default;
        Vector512<T> c03 = default, c13 = default, c04 = default, c14 = default, c05 = default, c15 = default;
        Vector512<T> c06 = default, c16 = default, c07 = default, c17 = default;
        // C is read (beta ≠ 0, as in every k block after the first) and written only after the loop: fetch its two
        // lines per column now, so that they arrive while the FMAs run instead of stalling the stores.
        for (int j = 0; j < Columns; j++)
        {
            Sse.Prefetch0(c + ((long)j * ldc));
            Sse.Prefetch0(c + ((long)j * ldc) + w);
        }

        for (int p = 0; p < kc; p++)
        {
            Vector512<T> a0 = Vector512.Load(a);
            Vector512<T> a1 = Vector512.Load(a + w);
            c00 = MultiplyAdd(a0, Vector512.Create(b[0]), c00);
            c10 = MultiplyAdd(a1, Vector512.Create(b[0]), c10);
            c01 = MultiplyAdd(a0, Vector512.Create(b[1]), c01);
            c11 = MultiplyAdd(a1, Vector512.Create(b[1]), c11);
            c02 = MultiplyAdd(a0, Vector512.Create(b[2]), c02);
            c12 = MultiplyAdd(a1, Vector512.Create(b[2]), c12);
            c03 = MultiplyAdd(a0, Vector512.Create(b[3]), c03);
            c13 = MultiplyAdd(a1, Vector512.Create(b[3]), c13);
            c04 = MultiplyAdd(a0, Vector512.Create(b[4]), c04);
            c14 = MultiplyAdd(a1, Vector512.Create(b[4]), c14);
            c05 = MultiplyAdd(a0, Vector512.Create(b[5]), c05);
            c15 = MultiplyAdd(a1, Vector512.Create(b[5]), c15);
            c06 = MultiplyAdd(a0, Vector512.Create(b[6]), c06);
            c16 = MultiplyAdd(a1, Vector512.Create(b[6]), c16);
            c07 = MultiplyAdd(a0, Vector512.Create(b[7]), c07);
            c17 = MultiplyAdd(a1, Vector512.Create(b[7]), c17);
            if (bCopy != null)
            {
                // One well-predicted branch per step, beside sixteen FMAs: with it, the kernel ran as fast as a twin
                // without it in the same process (209-213 against 209-214 GFLOP/s on cache-resident strips).
                CopyEight(b, bCopy);
                bCopy += Columns;
            }

            a += aStride;
            b += bStride;
        }

        StoreColumn(c, c00, c10, alpha, beta);
        StoreColumn(c + ldc, c01, c11, alpha, beta);
        StoreColumn(c + (2L * ldc), c02, c12, alpha, beta);
        StoreColumn(c + (3L * ldc), c03, c13, alpha, beta);
        StoreColumn(c + (4L * ldc), c04, c14, alpha, beta);
        StoreColumn(c + (5L * ldc), c05, c15, alpha, beta);
        StoreColumn(c + (6L * ldc), c06, c16, alpha, beta);
        StoreColumn(c + (7L * ldc), c07, c17, alpha, beta);
    }

    /// <summary>
    /// The MR x 1 kernel for the ragged right edge and for a matrix-vector product: one column of op(B), its values
    /// <paramref name="bStride"/> apart (NR in a packed op(B) strip, incx for a vector read where it lies).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void OneColumn<T>(int kc, T* a, T* b, int bStride, T* c, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        Vector512<T> c0 = default, c1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> bj = Vector512.Create(*b);
            c0 = MultiplyAdd(Vector512.Load(a), bj, c0);
            c1 = MultiplyAdd(Vector512.Load(a + w), bj, c1);
            a += 2 * w;
            b += bStride;
        }

        StoreColumn(c, c0, c1, alpha, beta);
    }

    /// <summary>
    /// Four consecutive MR-row strips of packed op(A) (<paramref name="stripSize"/> apart) against one column, its values
    /// <paramref name="bStride"/> apart: eight independent chains.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FourStripsOneColumn<T>(int kc, T* a, long stripSize, T* b, int bStride, T* c, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        T* a1 = a + stripSize, a2 = a1 + stripSize, a3 = a2 + stripSize;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default, c30 = default, c31 = default;
        for (long offset = 0; offset < (long)kc * 2 * w; offset += 2 * w)
        {
            Vector512<T> bj = Vector512.Create(*b);
            c00 = MultiplyAdd(Vector512.Load(a + offset), bj, c00);
            c01 = MultiplyAdd(Vector512.Load(a + offset + w), bj, c01);
            c10 = MultiplyAdd(Vector512.Load(a1 + offset), bj, c10);
            c11 = MultiplyAdd(Vector512.Load(a1 + offset + w), bj, c11);
            c20 = MultiplyAdd(Vector512.Load(a2 + offset), bj, c20);
            c21 = MultiplyAdd(Vector512.Load(a2 + offset + w), bj, c21);
            c30 = MultiplyAdd(Vector512.Load(a3 + offset), bj, c30);
            c31 = MultiplyAdd(Vector512.Load(a3 + offset + w), bj, c31);
            b += bStride;
        }

        StoreColumn(c, c00, c01, alpha, beta);
        StoreColumn(c + (2 * w), c10, c11, alpha, beta);
        StoreColumn(c + (4 * w), c20, c21, alpha, beta);
        StoreColumn(c + (6 * w), c30, c31, alpha, beta);
    }

    /// <summary>Copies eight elements (one 256-bit vector of floats or one 512-bit vector of doubles).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyEight<T>(T* source, T* destination)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            Vector256.Store(Vector256.Load((float*)source), (float*)destination);
        }
        else
        {
            Vector512.Store(Vector512.Load((double*)source), (double*)destination);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreColumn<T>(T* c, Vector512<T> low, Vector512<T> high, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> va = Vector512.Create(alpha);
        T* c1 = c + Vector512<T>.Count;
        if (beta == T.Zero)
        {
            Vector512.Store(va * low, c);
            Vector512.Store(va * high, c1);
        }
        else
        {
            Vector512<T> vb = Vector512.Create(beta);
            Vector512.Store((va * low) + (vb * Vector512.Load(c)), c);
            Vector512.Store((va * high) + (vb * Vector512.Load(c1)), c1);
        }
    }

    /// <summary>a · b + c with one rounding (vfmadd231ps / vfmadd231pd); the type test folds away per instantiation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<T> MultiplyAdd<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return Avx512F.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        }

        return Avx512F.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }
}
