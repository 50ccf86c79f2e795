using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnCore.Kernels;

/// <summary>
/// The 256-bit (AVX2 + FMA) kernels of <see cref="GemmMicroKernel"/>: MR = two vectors (16 floats or 8 doubles),
/// NR = 6, so the tile's 12 accumulators, two A vectors and one broadcast B value fill the 16 ymm registers without
/// spilling; each step p issues 12 FMAs for 8 loads.
/// </summary>
internal static unsafe class GemmMicroKernel256
{
    /// <summary>Columns per tile (NR).</summary>
    public const int Columns = 6;

    /// <summary>The MR x 6 kernel: per step p, two vector loads of op(A), six broadcasts of op(B), twelve FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FullTile<T>(int kc, T* a, T* b, T* c, int ldc, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        Vector256<T> c00 = default, c10 = default, c01 = default, c11 = default, c02 = default, c12 = default;
        Vector256<T> c03 = default, c13 = default, c04 = default, c14 = default, c05 = default, c15 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<T> a0 = Vector256.Load(a);
            Vector256<T> a1 = Vector256.Load(a + w);
            Vector256<T> bj = Vector256.Create(b[0]);
            c00 = MultiplyAdd(a0, bj, c00);
            c10 = MultiplyAdd(a1, bj, c10);
            bj = Vector256.Create(b[1]);
            c01 = MultiplyAdd(a0, bj, c01);
            c11 = MultiplyAdd(a1, bj, c11);
            bj = Vector256.Create(b[2]);
            c02 = MultiplyAdd(a0, bj, c02);
            c12 = MultiplyAdd(a1, bj, c12);
            bj = Vector256.Create(b[3]);
            c03 = MultiplyAdd(a0, bj, c03);
            c13 = MultiplyAdd(a1, bj, c13);
            bj = Vector256.Create(b[4]);
            c04 = MultiplyAdd(a0, bj, c04);
            c14 = MultiplyAdd(a1, bj, c14);
            bj = Vector256.Create(b[5]);
            c05 = MultiplyAdd(a0, bj, c05);
            c15 = MultiplyAdd(a1, bj, c15);
            a += 2 * w;
            b += Columns;
        }

        StoreColumn(c, c00, c10, alpha, beta);
        StoreColumn(c + ldc, c01, c11, alpha, beta);
        StoreColumn(c + (2L * ldc), c02, c12, alpha, beta);
        StoreColumn(c + (3L * ldc), c03, c13, alpha, beta);
        StoreColumn(c + (4L * ldc), c04, c14, alpha, beta);
        StoreColumn(c + (5L * ldc), c05, c15, alpha, beta);
    }

    /// <summary>
    /// The MR x 1 kernel for the ragged right edge and for a matrix-vector product: one column of op(B), its values
    /// <paramref name="bStride"/> apart (NR in a packed op(B) strip, incx for a vector read where it lies).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void OneColumn<T>(int kc, T* a, T* b, int bStride, T* c, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        Vector256<T> c0 = default, c1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<T> bj = Vector256.Create(*b);
            c0 = MultiplyAdd(Vector256.Load(a), bj, c0);
            c1 = MultiplyAdd(Vector256.Load(a + w), bj, c1);
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
        int w = Vector256<T>.Count;
        T* a1 = a + stripSize, a2 = a1 + stripSize, a3 = a2 + stripSize;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<T> c20 = default, c21 = default, c30 = default, c31 = default;
        for (long offset = 0; offset < (long)kc * 2 * w; offset += 2 * w)
        {
            Vector256<T> bj = Vector256.Create(*b);
            c00 = MultiplyAdd(Vector256.Load(a + offset), bj, c00);
            c01 = MultiplyAdd(Vector256.Load(a + offset + w), bj, c01);
            c10 = MultiplyAdd(Vector256.Load(a1 + offset), bj, c10);
            c11 = MultiplyAdd(Vector256.Load(a1 + offset + w), bj, c11);
            c20 = MultiplyAdd(Vector256.Load(a2 + offset), bj, c20);
            c21 = MultiplyAdd(Vector256.Load(a2 + offset + w), bj, c21);
            c30 = MultiplyAdd(Vector256.Load(a3 + offset), bj, c30);
            c31 = MultiplyAdd(Vector256.Load(a3 + offset + w), bj, c31);
            b += bStride;
        }

        StoreColumn(c, c00, c01, alpha, beta);
        StoreColumn(c + (2 * w), c10, c11, alpha, beta);
        StoreColumn(c + (4 * w), c20, c21, alpha, beta);
        StoreColumn(c + (6 * w), c30, c31, alpha, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreColumn<T>(T* c, Vector256<T> low, Vector256<T> high, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> va = Vector256.Create(alpha);
        T* c1 = c + Vector256<T>.Count;
        if (beta == T.Zero)
        {
            Vector256.Store(va * low, c);
            Vector256.Store(va * high, c1);
        }
        else
        {
            Vector256<T> vb = Vector256.Create(beta);
            Vector256.Store((va * low) + (vb * Vector256.Load(c)), c);
            Vector256.Store((va * high) + (vb * Vector256.Load(c1)), c1);
        }
    }

    /// <summary>a · b + c with one rounding (vfmadd231ps / vfmadd231pd); the type test folds away per instantiation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<T> MultiplyAdd<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return Fma.MultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        }

        return Fma.MultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }
}
