using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnCore.Kernels;

/// <summary>
/// The register-blocked inner kernel of the GEMM: one MR x NR tile of C from an MR-row strip of packed op(A) and an
/// NR-column strip of packed op(B) (see <see cref="GemmPacking"/>), <c>C_tile = alpha · Σ_p a_p b_pᵀ + beta · C_tile</c>.
/// This class picks the path (<see cref="GemmPath"/>) and its tile shape, handles the ragged edges, and holds the scalar
/// kernel; the vector kernels are <see cref="GemmMicroKernel512"/> and <see cref="GemmMicroKernel256"/>.
/// </summary>
/// <remarks>
/// <para>
/// Every element is accumulated the same way on every path: <c>acc = fma(a_ip, b_pj, acc)</c> for p in order, starting
/// from zero, then <c>alpha · acc</c> (plus <c>beta · c</c> when beta ≠ 0, unfused). The 512-bit, 256-bit and scalar
/// kernels therefore give bit-identical results, and so does any split of the work between threads along the tile grid.
/// </para>
/// <para>
/// The widest path the machine has is the default: on the 2-core Zen 5 this library is benchmarked on, 512-bit FMAs
/// retire at twice the rate of 256-bit ones (measured: 215-223 against 105-109 GFLOP/s on one core).
/// </para>
/// </remarks>
internal static unsafe class GemmMicroKernel
{
    /// <summary>The widest path this machine runs.</summary>
    public static readonly GemmPath Fastest =
        Avx512F.IsSupported && Vector512.IsHardwareAccelerated ? GemmPath.Vector512
        : Fma.IsSupported && Vector256.IsHardwareAccelerated ? GemmPath.Vector256
        : GemmPath.Scalar;

    [ThreadStatic]
    private static GemmPath? t_forcedPath;

    /// <summary>
    /// The path for products started on this thread: <see cref="Fastest"/> unless a test forced another one (per thread,
    /// so that it changes only the caller's own products; their parts carry the path to the worker threads).
    /// </summary>
    public static GemmPath Current => t_forcedPath ?? Fastest;

    /// <summary>Tests set this to run the products started on this thread on a narrower path than the machine's fastest.</summary>
    internal static GemmPath? ForcedPath
    {
        get => t_forcedPath;
        set => t_forcedPath = value is { } path && path > Fastest
            ? throw new PlatformNotSupportedException($"The {path} GEMM path needs instructions this machine lacks (fastest: {Fastest}).")
            : value;
    }

    /// <summary>Rows per tile (MR) on <paramref name="path"/>: two vectors of T (the scalar path uses the 256-bit shape).</summary>
    public static int Rows<T>(GemmPath path)
        where T : unmanaged => path == GemmPath.Vector512 ? 2 * Vector512<T>.Count : 2 * Vector256<T>.Count;

    /// <summary>Columns per tile (NR) on <paramref name="path"/>.</summary>
    public static int Columns(GemmPath path) => path == GemmPath.Vector512 ? GemmMicroKernel512.Columns : GemmMicroKernel256.Columns;

    /// <summary>
    /// One tile: <paramref name="rows"/> ≤ MR rows and <paramref name="columns"/> ≤ NR columns of C at
    /// <paramref name="c"/> (leading dimension <paramref name="ldc"/>), from kc steps of the packed strips.
    /// </summary>
    public static void Tile<T>(GemmPath path, int kc, T* a, T* b, T* c, int ldc, int rows, int columns, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Tile(path, kc, a, Rows<T>(path), b, Columns(path), c, ldc, rows, columns, alpha, beta);

    /// <summary>
    /// One tile whose strips may be read in place: MR values of op(A) per step, <paramref name="aStride"/> elements apart
    /// from one step to the next (MR for a packed strip, lda for a plain op(A) in its own storage), and NR values of
    /// op(B), <paramref name="bStride"/> apart (NR packed, ldb for a transposed op(B)). Strips in place only on the
    /// 512-bit path.
    /// </summary>
    public static void Tile<T>(GemmPath path, int kc, T* a, int aStride, T* b, int bStride, T* c, int ldc, int rows, int columns, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = Rows<T>(path);
        if (path == GemmPath.Scalar)
        {
            Scalar(kc, a, b, c, ldc, rows, columns, alpha, beta, mr, Columns(path));
            return;
        }

        if (rows == mr)
        {
            WriteColumns(path, kc, a, aStride, b, bStride, c, ldc, columns, alpha, beta);
            return;
        }

        // A ragged bottom edge: compute the full-height tile into registers' worth of scratch (alpha = 1, beta = 0
        // copies the accumulators exactly), then apply the same epilogue to the rows that exist.
        T* tile = stackalloc T[mr * Columns(path)];
        WriteColumns(path, kc, a, aStride, b, bStride, tile, mr, columns, T.One, T.Zero);
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
    /// A whole MC-block of rows against a ragged strip of fewer than NR columns (the last columns of C; a product of one
    /// column goes to <see cref="Gemv"/>, which runs the same one-column kernels). One column against one strip is a chain of dependent FMAs, bound by their latency; four
    /// strips at a time keep eight independent chains in flight. Each element's sum is formed exactly as in
    /// the tiles.
    /// </summary>
    public static void NarrowPanel<T>(GemmPath path, int kc, T* a, int rows, T* b, T* c, int ldc, int columns, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = Rows<T>(path);
        int nr = Columns(path);
        int fullStrips = path == GemmPath.Scalar ? 0 : rows / mr;
        long stripSize = (long)mr * kc;
        for (int j = 0; j < columns; j++)
        {
            T* cColumn = c + ((long)j * ldc);
            int s = 0;
            for (; s + 4 <= fullStrips; s += 4)
            {
                T* aStrips = a + (s * stripSize);
                if (path == GemmPath.Vector512)
                {
                    GemmMicroKernel512.FourStripsOneColumn(kc, aStrips, stripSize, b + j, nr, cColumn + (s * mr), alpha, beta);
                }
                else
                {
                    GemmMicroKernel256.FourStripsOneColumn(kc, aStrips, stripSize, b + j, nr, cColumn + (s * mr), alpha, beta);
                }
            }

            for (; s < fullStrips; s++)
            {
                OneColumn(path, kc, a + (s * stripSize), b + j, nr, cColumn + (s * mr), alpha, beta);
            }
        }

        for (int ir = fullStrips * mr; ir < rows; ir += mr)
        {
            Tile(path, kc, a + ((long)ir * kc), b, c + ir, ldc, Math.Min(mr, rows - ir), Math.Min(columns, nr), alpha, beta);
        }
    }

    /// <summary>c = alpha · acc (+ beta · c): the one place the result is formed, shared by every kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static T Epilogue<T>(T acc, T c, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
        => beta == T.Zero ? alpha * acc : (alpha * acc) + (beta * c);

    private static void WriteColumns<T>(GemmPath path, int kc, T* a, int aStride, T* b, int bStride, T* c, int ldc, int columns, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (columns == Columns(path))
        {
            if (path == GemmPath.Vector512)
            {
                GemmMicroKernel512.FullTile(kc, a, aStride, b, bStride, c, ldc, alpha, beta);
            }
            else
            {
                GemmMicroKernel256.FullTile(kc, a, b, c, ldc, alpha, beta);
            }

            return;
        }

        for (int j = 0; j < columns; j++)
        {
            OneColumn(path, kc, a, b + j, Columns(path), c + ((long)j * ldc), alpha, beta);
        }
    }

    /// <summary>One MR-row strip of packed op(A) against one column whose values lie <paramref name="bStride"/> apart, on a vector path.</summary>
    internal static void OneColumn<T>(GemmPath path, int kc, T* a, T* b, int bStride, T* c, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (path == GemmPath.Vector512)
        {
            GemmMicroKernel512.OneColumn(kc, a, b, bStride, c, alpha, beta);
        }
        else
        {
            GemmMicroKernel256.OneColumn(kc, a, b, bStride, c, alpha, beta);
        }
    }

    /// <summary>
    /// The same tile in plain scalar code, accumulating each element in the same order with the same fused rounding:
    /// the path for machines without AVX2/FMA, and the kernel tests compare the vector ones with, bit for bit.
    /// </summary>
    private static void Scalar<T>(int kc, T* a, T* b, T* c, int ldc, int rows, int columns, T alpha, T beta, int mr, int nr)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < columns; j++)
        {
            for (int i = 0; i < rows; i++)
            {
                T acc = T.Zero;
                for (int p = 0; p < kc; p++)
                {
                    acc = T.FusedMultiplyAdd(a[((long)p * mr) + i], b[((long)p * nr) + j], acc);
                }

                ref T cij = ref c[i + ((long)j * ldc)];
                cij = Epilogue(acc, cij, alpha, beta);
            }
        }
    }
}
