using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnCore.Kernels;

/// <summary>
/// The register-blocked inner kernel of the GEMM: one MR x NR tile of C from an MR-row strip of packed op(A) and an
/// NR-column strip of packed op(B) (see <see cref="GemmPacking"/>), <c>C_tile = alpha · Σ_p a_p b_pᵀ + beta · C_tile</c>.
/// </summary>
/// <remarks>
/// <para>
/// MR is two 256-bit vectors (16 floats or 8 doubles) and NR is 6, so the tile's 12 accumulators, two A vectors and one
/// broadcast B value fill the 16 AVX2 registers without spilling; each step p issues 12 FMAs for 8 loads. Measured on
/// the 2-core Zen 4 this library is benchmarked on, Vector256 and Vector512 reach the same FMA throughput, so AVX2
/// is the one vector path.
/// </para>
/// <para>
/// Every element is accumulated the same way on every path: <c>acc = fma(a_ip, b_pj, acc)</c> for p in order, starting
/// from zero, then <c>alpha · acc</c> (plus <c>beta · c</c> when beta ≠ 0, unfused). The vector kernels, the one-column
/// kernel used for ragged tile edges and the scalar kernel for machines without FMA therefore give bit-identical
/// results, and so does any split of the work between threads along the tile grid.
/// </para>
/// </remarks>
internal static unsafe class GemmMicroKernel
{
    /// <summary>Columns per tile (NR).</summary>
    public const int Columns = 6;

    /// <summary>Rows per tile (MR): two 256-bit vectors of T.</summary>
    public static int Rows<T>()
        where T : unmanaged => 2 * Vector256<T>.Count;

    /// <summary>True where the vector kernels run: AVX2-class 256-bit vectors with fused multiply-add.</summary>
    public static bool IsVectorized => Vector256.IsHardwareAccelerated && Fma.IsSupported && !ForceScalar;

    /// <summary>
    /// Tests set this to run the scalar kernel on a machine that has the vector one, to compare the two. Per thread, so
    /// that it changes only the caller's own products (and only those small enough to stay on the calling thread).
    /// </summary>
    internal static bool ForceScalar
    {
        get => t_forceScalar;
        set => t_forceScalar = value;
    }

    [ThreadStatic]
    private static bool t_forceScalar;

    /// <summary>
    /// One tile: <paramref name="rows"/> ≤ MR rows and <paramref name="columns"/> ≤ NR columns of C at
    /// <paramref name="c"/> (leading dimension <paramref name="ldc"/>), from kc steps of the packed strips.
    /// </summary>
    public static void Tile<T>(int kc, T* a, T* b, T* c, int ldc, int rows, int columns, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = Rows<T>();
        if (!IsVectorized)
        {
            Scalar(kc, a, b, c, ldc, rows, columns, alpha, beta, mr);
            return;
        }

        if (rows == mr)
        {
            WriteColumns(kc, a, b, c, ldc, columns, alpha, beta);
            return;
        }

        // A ragged bottom edge: compute the full-height tile into registers' worth of scratch (alpha = 1, beta = 0
        // copies the accumulators exactly), then apply the same epilogue to the rows that exist.
        T* tile = stackalloc T[mr * Columns];
        WriteColumns(kc, a, b, tile, mr, columns, T.One, T.Zero);
        for (int j = 0; j < columns; j++)
        {
            for (int i = 0; i < rows; i++)
            {
                ref T cij = ref c[i + ((long)j * ldc)];
                cij = Epilogue(tile[i + (j * mr)], cij, alpha, beta);
            }
        }
    }

    /// <summary>
    /// A whole MC-block of rows against a ragged strip of fewer than NR columns (n = 1 in a matrix-vector step, or the
    /// last columns of C). One column against one strip is a chain of dependent FMAs, bound by their latency; four
    /// strips at a time keep eight independent chains in flight. Each element's sum is formed exactly as in
    /// <see cref="Tile{T}"/>.
    /// </summary>
    public static void NarrowPanel<T>(int kc, T* a, int rows, T* b, T* c, int ldc, int columns, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = Rows<T>();
        int fullStrips = IsVectorized ? rows / mr : 0;
        long stripSize = (long)mr * kc;
        for (int j = 0; j < columns; j++)
        {
            T* cColumn = c + ((long)j * ldc);
            int s = 0;
            for (; s + 4 <= fullStrips; s += 4)
            {
                FourStripsOneColumn(kc, a + (s * stripSize), stripSize, b + j, cColumn + (s * mr), alpha, beta);
            }

            for (; s < fullStrips; s++)
            {
                OneColumn(kc, a + (s * stripSize), b + j, cColumn + (s * mr), alpha, beta);
            }
        }

        for (int ir = fullStrips * mr; ir < rows; ir += mr)
        {
            Tile(kc, a + ((long)ir * kc), b, c + ir, ldc, Math.Min(mr, rows - ir), columns, alpha, beta);
        }
    }

    /// <summary>c = alpha · acc (+ beta · c): the one place the result is formed, shared by every kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Epilogue<T>(T acc, T c, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
        => beta == T.Zero ? alpha * acc : (alpha * acc) + (beta * c);

    private static void WriteColumns<T>(int kc, T* a, T* b, T* c, int ldc, int columns, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (columns == Columns)
        {
            FullTile(kc, a, b, c, ldc, alpha, beta);
            return;
        }

        for (int j = 0; j < columns; j++)
        {
            OneColumn(kc, a, b + j, c + ((long)j * ldc), alpha, beta);
        }
    }

    /// <summary>The MR x 6 kernel: per step p, two vector loads of op(A), six broadcasts of op(B), twelve FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FullTile<T>(int kc, T* a, T* b, T* c, int ldc, T alpha, T beta)
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

    /// <summary>The MR x 1 kernel for the ragged right edge (and for n = 1): column j of a packed op(B) strip, stride NR.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OneColumn<T>(int kc, T* a, T* b, T* c, T alpha, T beta)
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
            b += Columns;
        }

        StoreColumn(c, c0, c1, alpha, beta);
    }

    /// <summary>Four consecutive MR-row strips of packed op(A) (<paramref name="stripSize"/> apart) against one column.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FourStripsOneColumn<T>(int kc, T* a, long stripSize, T* b, T* c, T alpha, T beta)
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
            b += Columns;
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
    private static Vector256<T> MultiplyAdd<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return Fma.MultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        }

        return Fma.MultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    /// <summary>
    /// The same tile in plain scalar code, accumulating each element in the same order with the same fused rounding:
    /// the path for machines without AVX2/FMA, and the kernel tests compare the vector ones with, bit for bit.
    /// </summary>
    private static void Scalar<T>(int kc, T* a, T* b, T* c, int ldc, int rows, int columns, T alpha, T beta, int mr)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < columns; j++)
        {
            for (int i = 0; i < rows; i++)
            {
                T acc = T.Zero;
                for (int p = 0; p < kc; p++)
                {
                    acc = T.FusedMultiplyAdd(a[((long)p * mr) + i], b[((long)p * Columns) + j], acc);
                }

                ref T cij = ref c[i + ((long)j * ldc)];
                cij = Epilogue(acc, cij, alpha, beta);
            }
        }
    }
}
