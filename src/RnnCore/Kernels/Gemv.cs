using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace RnnCore.Kernels;

/// <summary>
/// The matrix-vector product <c>y = alpha · A · x + beta · y</c>, the shape every product takes with one column (a step of
/// one stream, a batch of one): <see cref="Gemm"/> hands it every product with n = 1 whose A is packed or plain (not
/// transposed). A is read once, where it lies, and x where it lies (incx apart: 1 for a column, ldb
/// for a row of a transposed B); nothing is packed, no pack buffer is rented.
/// </summary>
/// <remarks>
/// <para>
/// Each y_i is formed exactly as the GEMM's tiles form it, so a product gives the same bits with one column as with
/// many: k block by k block (KC = <see cref="GemmBlocking.DepthBlock"/>), <c>acc = fma(a_ip, x_p, acc)</c> for p in
/// the block in order, from zero, then <c>y_i = alpha · acc + beta · y_i</c> (unfused; beta = 1 after the first block,
/// and y is not read while beta = 0).
/// </para>
/// <para>
/// The rows sit in the vector lanes, so every chain of dependent FMAs is one vector of rows; several row vectors at a
/// time (eight on a packed A, four on a plain one) keep enough independent chains in flight to cover the FMA latency.
/// A packed A's strips run through the micro-kernels' own one-column kernels (<see cref="GemmMicroKernel512.FourStripsOneColumn{T}"/>
/// and its kin), with x's values incx apart where the GEMM's narrow panels read them NR apart.
/// The scalar path (<see cref="GemmPath.Scalar"/>) is the same sum row by row in plain code: the reference the tests
/// compare the vector paths with, bit for bit.
/// </para>
/// </remarks>
internal static unsafe class Gemv
{
    /// <summary>
    /// Rows [i0, i1) of y = alpha · A · x + beta · y over k. A is <paramref name="packed"/> when not null (the
    /// <see cref="PackedMatrix{T}"/> layout of <paramref name="path"/>, <paramref name="packedRows"/> rows after
    /// rounding, i0 on a strip boundary), else plain column-major <paramref name="a"/> with leading dimension
    /// <paramref name="lda"/>.
    /// </summary>
    public static void Multiply<T>(
        GemmPath path, int k, T alpha, T* a, int lda, T* packed, int packedRows, T* x, int incx, T beta, T* y, int i0, int i1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int kcMax = GemmBlocking.DepthBlock;
        for (int pc = 0; pc < k; pc += kcMax)
        {
            int kc = Math.Min(kcMax, k - pc);
            // Later k blocks add to what the first one wrote: y = alpha·acc₁ + beta·y, then y = alpha·acc₂ + y, …
            T betaBlock = pc == 0 ? beta : T.One;
            T* xBlock = x + ((long)pc * incx);
            if (packed is not null)
            {
                PackedBlock(path, kc, packed + ((long)pc * packedRows), xBlock, incx, alpha, betaBlock, y, i0, i1);
            }
            else
            {
                PlainBlock(path, kc, a + ((long)pc * lda), lda, xBlock, incx, alpha, betaBlock, y, i0, i1);
            }
        }
    }

    /// <summary>One k block of a packed A: strip s (MR rows) at <c>s · MR · kc</c>, MR values per step.</summary>
    private static void PackedBlock<T>(GemmPath path, int kc, T* block, T* x, int incx, T alpha, T beta, T* y, int i0, int i1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = GemmMicroKernel.Rows<T>(path);
        long stripSize = (long)mr * kc;
        if (path == GemmPath.Scalar)
        {
            for (int r = i0; r < i1; r++)
            {
                // Row r is lane r mod MR of strip r / MR.
                T* row = block + ((r / mr) * stripSize) + (r % mr);
                y[r] = GemmMicroKernel.Epilogue(ScalarSum(kc, row, mr, x, incx), y[r], alpha, beta);
            }

            return;
        }

        int i = i0;
        for (; i + (4 * mr) <= i1; i += 4 * mr)
        {
            if (path == GemmPath.Vector512)
            {
                GemmMicroKernel512.FourStripsOneColumn(kc, block + ((long)i * kc), stripSize, x, incx, y + i, alpha, beta);
            }
            else
            {
                GemmMicroKernel256.FourStripsOneColumn(kc, block + ((long)i * kc), stripSize, x, incx, y + i, alpha, beta);
            }
        }

        if (i + (2 * mr) <= i1)
        {
            // Two of the last strips together: twice the chains of one strip at a time, in half the time (at H = 64
            // the whole of a vanilla cell's W_hh, two float strips).
            TwoStrips(path, kc, block + ((long)i * kc), stripSize, x, incx, y + i, alpha, beta);
            i += 2 * mr;
        }

        if (i + mr <= i1)
        {
            GemmMicroKernel.OneColumn(path, kc, block + ((long)i * kc), x, incx, y + i, alpha, beta);
            i += mr;
        }

        if (i < i1)
        {
            // A ragged last strip (its padding rows are zeros): the full strip into scratch (alpha = 1, beta = 0 keeps
            // the accumulators exactly), then the epilogue on the rows that exist.
            T* scratch = stackalloc T[mr];
            GemmMicroKernel.OneColumn(path, kc, block + ((long)i * kc), x, incx, scratch, T.One, T.Zero);
            for (int r = 0; r < i1 - i; r++)
            {
                y[i + r] = GemmMicroKernel.Epilogue(scratch[r], y[i + r], alpha, beta);
            }
        }
    }

    /// <summary>
    /// One k block of a plain A, column-major: rows in vector lanes, four vectors of rows at a time, then one; a ragged
    /// tail shorter than a vector is recomputed as the last whole vector of rows (the same sums, so the same bits) and
    /// only its new rows are written; a product shorter than one vector goes row by row.
    /// </summary>
    private static void PlainBlock<T>(GemmPath path, int kc, T* a, int lda, T* x, int incx, T alpha, T beta, T* y, int i0, int i1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = i0;
        if (path != GemmPath.Scalar)
        {
            int w = path == GemmPath.Vector512 ? Vector512<T>.Count : Vector256<T>.Count;
            for (; i + (4 * w) <= i1; i += 4 * w)
            {
                if (path == GemmPath.Vector512)
                {
                    PlainFour512(kc, a + i, lda, x, incx, y + i, alpha, beta);
                }
                else
                {
                    PlainFour256(kc, a + i, lda, x, incx, y + i, alpha, beta);
                }
            }

            for (; i + w <= i1; i += w)
            {
                PlainOne(path, kc, a + i, lda, x, incx, y + i, alpha, beta);
            }

            if (i < i1 && i1 >= w)
            {
                T* scratch = stackalloc T[w];
                PlainOne(path, kc, a + (i1 - w), lda, x, incx, scratch, T.One, T.Zero);
                for (int r = i - (i1 - w); r < w; r++)
                {
                    y[i1 - w + r] = GemmMicroKernel.Epilogue(scratch[r], y[i1 - w + r], alpha, beta);
                }

                return;
            }
        }

        for (; i < i1; i++)
        {
            y[i] = GemmMicroKernel.Epilogue(ScalarSum(kc, a + i, lda, x, incx), y[i], alpha, beta);
        }
    }

    /// <summary>acc = fma(a_p, x_p, acc) for p = 0 … kc−1 from zero, a_p at <c>a + p · stride</c>: one element's k block.</summary>
    private static T ScalarSum<T>(int kc, T* a, long stride, T* x, int incx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T acc = T.Zero;
        for (int p = 0; p < kc; p++)
        {
            acc = T.FusedMultiplyAdd(a[p * stride], x[(long)p * incx], acc);
        }

        return acc;
    }

    /// <summary>Two consecutive packed strips (<paramref name="stripSize"/> apart): four independent chains.</summary>
    private static void TwoStrips<T>(GemmPath path, int kc, T* a, long stripSize, T* x, int incx, T* y, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* a1 = a + stripSize;
        if (path == GemmPath.Vector512)
        {
            int w = Vector512<T>.Count;
            Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default;
            for (int p = 0; p < kc; p++)
            {
                Vector512<T> xp = Vector512.Create(*x);
                c00 = GemmMicroKernel512.MultiplyAdd(Vector512.Load(a), xp, c00);
                c01 = GemmMicroKernel512.MultiplyAdd(Vector512.Load(a + w), xp, c01);
                c10 = GemmMicroKernel512.MultiplyAdd(Vector512.Load(a1), xp, c10);
                c11 = GemmMicroKernel512.MultiplyAdd(Vector512.Load(a1 + w), xp, c11);
                a += 2 * w;
                a1 += 2 * w;
                x += incx;
            }

            Store(y, c00, alpha, beta);
            Store(y + w, c01, alpha, beta);
            Store(y + (2 * w), c10, alpha, beta);
            Store(y + (3 * w), c11, alpha, beta);
        }
        else
        {
            int w = Vector256<T>.Count;
            Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default;
            for (int p = 0; p < kc; p++)
            {
                Vector256<T> xp = Vector256.Create(*x);
                c00 = GemmMicroKernel256.MultiplyAdd(Vector256.Load(a), xp, c00);
                c01 = GemmMicroKernel256.MultiplyAdd(Vector256.Load(a + w), xp, c01);
                c10 = GemmMicroKernel256.MultiplyAdd(Vector256.Load(a1), xp, c10);
                c11 = GemmMicroKernel256.MultiplyAdd(Vector256.Load(a1 + w), xp, c11);
                a += 2 * w;
                a1 += 2 * w;
                x += incx;
            }

            Store(y, c00, alpha, beta);
            Store(y + w, c01, alpha, beta);
            Store(y + (2 * w), c10, alpha, beta);
            Store(y + (3 * w), c11, alpha, beta);
        }
    }

    /// <summary>Four vectors of rows of a plain A (column p at <c>a + p · lda</c>): four independent chains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PlainFour512<T>(int kc, T* a, int lda, T* x, int incx, T* y, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        Vector512<T> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> xp = Vector512.Create(*x);
            c0 = GemmMicroKernel512.MultiplyAdd(Vector512.Load(a), xp, c0);
            c1 = GemmMicroKernel512.MultiplyAdd(Vector512.Load(a + w), xp, c1);
            c2 = GemmMicroKernel512.MultiplyAdd(Vector512.Load(a + (2 * w)), xp, c2);
            c3 = GemmMicroKernel512.MultiplyAdd(Vector512.Load(a + (3 * w)), xp, c3);
            a += lda;
            x += incx;
        }

        Store(y, c0, alpha, beta);
        Store(y + w, c1, alpha, beta);
        Store(y + (2 * w), c2, alpha, beta);
        Store(y + (3 * w), c3, alpha, beta);
    }

    /// <summary>The 256-bit twin of <see cref="PlainFour512{T}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PlainFour256<T>(int kc, T* a, int lda, T* x, int incx, T* y, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        Vector256<T> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<T> xp = Vector256.Create(*x);
            c0 = GemmMicroKernel256.MultiplyAdd(Vector256.Load(a), xp, c0);
            c1 = GemmMicroKernel256.MultiplyAdd(Vector256.Load(a + w), xp, c1);
            c2 = GemmMicroKernel256.MultiplyAdd(Vector256.Load(a + (2 * w)), xp, c2);
            c3 = GemmMicroKernel256.MultiplyAdd(Vector256.Load(a + (3 * w)), xp, c3);
            a += lda;
            x += incx;
        }

        Store(y, c0, alpha, beta);
        Store(y + w, c1, alpha, beta);
        Store(y + (2 * w), c2, alpha, beta);
        Store(y + (3 * w), c3, alpha, beta);
    }

    /// <summary>One vector of rows of a plain A: one chain (a small head's whole product, or the rows after the fours).</summary>
    private static void PlainOne<T>(GemmPath path, int kc, T* a, int lda, T* x, int incx, T* y, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (path == GemmPath.Vector512)
        {
            Vector512<T> c = default;
            for (int p = 0; p < kc; p++)
            {
                c = GemmMicroKernel512.MultiplyAdd(Vector512.Load(a), Vector512.Create(*x), c);
                a += lda;
                x += incx;
            }

            Store(y, c, alpha, beta);
        }
        else
        {
            Vector256<T> c = default;
            for (int p = 0; p < kc; p++)
            {
                c = GemmMicroKernel256.MultiplyAdd(Vector256.Load(a), Vector256.Create(*x), c);
                a += lda;
                x += incx;
            }

            Store(y, c, alpha, beta);
        }
    }

    /// <summary>y = alpha · acc (+ beta · y), lane by lane as <see cref="GemmMicroKernel.Epilogue{T}"/> forms it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* y, Vector512<T> acc, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> scaled = Vector512.Create(alpha) * acc;
        Vector512.Store(beta == T.Zero ? scaled : scaled + (Vector512.Create(beta) * Vector512.Load(y)), y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* y, Vector256<T> acc, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<T> scaled = Vector256.Create(alpha) * acc;
        Vector256.Store(beta == T.Zero ? scaled : scaled + (Vector256.Create(beta) * Vector256.Load(y)), y);
    }
}
