using System.Numerics;
using RnnCore.Kernels;

namespace RnnCore.Tests.Kernels;

/// <summary>
/// The matrix-vector kernel (<see cref="Gemv"/>), which every product with one column takes: on every path, a product
/// of one column gives the same bits as that column of a wider product through the GEMM's tiles, for a plain and a
/// packed A, with x a column of B or a row of a transposed B, across k blocks (KC = 256), ragged row strips and vectors,
/// padded leading dimensions, alpha and beta; the vector paths give the scalar path's bits; beta = 0 never reads y.
/// </summary>
public abstract class GemvTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Wide = 16;

    /// <summary>Row counts on and off every vector width and strip height (8 to 32), and four strips at a time ± 1.</summary>
    public static TheoryData<int> Rows()
    {
        var data = new TheoryData<int>();
        foreach (int m in new[] { 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 96, 127, 128, 129, 130, 200, 257 })
        {
            data.Add(m);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void One_column_of_a_plain_A_matches_that_column_of_a_wide_product(int m)
    {
        var random = new Random(m);
        foreach (int k in new[] { 1, 37, 256, 257, 600 })
        {
            foreach (bool tb in new[] { false, true })
            {
                int padding = k % 3;
                (T[] a, T[] b, T[] c) = GemmTests<T>.Operands(random, false, tb, m, Wide, k, padding);
                int lda = m + padding, ldb = (tb ? Wide : k) + padding, ldc = m + padding;
                (T alpha, T beta) = Scalars(k);
                T[]? scalar = null;
                foreach (GemmPath path in GemmTests<T>.Paths)
                {
                    T[] wide = c.ToArray();
                    T[] narrow = c.ToArray();
                    GemmTests<T>.OnPath(path, () =>
                    {
                        Gemm.Multiply(false, tb, m, Wide, k, alpha, a, lda, b, ldb, beta, wide, ldc);
                        foreach (int j in Columns)
                        {
                            // Column j of op(B): b[p + j·ldb], or b[j + p·ldb] for a transposed B (x with stride ldb).
                            Gemm.Multiply(false, tb, m, 1, k, alpha, a, lda, b.AsSpan(tb ? j : j * ldb), ldb, beta, narrow.AsSpan(j * ldc), ldc);
                        }
                    });
                    CheckColumns(narrow, wide, ldc, m, $"plain {m}x{k}, B{(tb ? "ᵀ" : string.Empty)}, on {path}");
                    scalar ??= narrow;
                    narrow.Should().Equal(scalar, $"plain {m}x{k} on {path}: the scalar path's bits");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void One_column_of_a_packed_A_matches_that_column_of_a_wide_product(int m)
    {
        var random = new Random(100 + m);
        foreach (int k in new[] { 1, 37, 256, 257, 600 })
        {
            foreach (bool ta in new[] { false, true })
            {
                (T[] a, T[] b, T[] c) = GemmTests<T>.Operands(random, ta, false, m, Wide, k, 0);
                var packed = new PackedMatrix<T>(m, k);
                (T alpha, T beta) = Scalars(k + 1);
                T[]? scalar = null;
                foreach (GemmPath path in GemmTests<T>.Paths)
                {
                    T[] wide = c.ToArray();
                    T[] narrow = c.ToArray();
                    GemmTests<T>.OnPath(path, () =>
                    {
                        packed.Pack(ta, a, ta ? k : m);
                        Gemm.Multiply(packed, false, Wide, alpha, b, k, beta, wide, m);
                        foreach (int j in Columns)
                        {
                            Gemm.Multiply(packed, false, 1, alpha, b.AsSpan(j * k), k, beta, narrow.AsSpan(j * m), m);
                        }
                    });
                    CheckColumns(narrow, wide, m, m, $"packed {(ta ? "Aᵀ" : "A")} {m}x{k} on {path}");
                    scalar ??= narrow;
                    narrow.Should().Equal(scalar, $"packed {m}x{k} on {path}: the scalar path's bits");
                }
            }
        }
    }

    [Fact]
    public void Beta_zero_overwrites_y_without_reading_it()
    {
        var random = new Random(9);
        foreach ((int m, int k) in new[] { (1, 5), (17, 300), (70, 64), (129, 257) })
        {
            (T[] a, T[] b, T[] _) = GemmTests<T>.Operands(random, false, false, m, 1, k, 0);
            var packed = new PackedMatrix<T>(m, k);
            foreach (GemmPath path in GemmTests<T>.Paths)
            {
                T[] plain = Enumerable.Repeat(T.NaN, m).ToArray();
                T[] fromPacked = Enumerable.Repeat(T.NaN, m).ToArray();
                GemmTests<T>.OnPath(path, () =>
                {
                    Gemm.Multiply(false, false, m, 1, k, T.One, a, m, b, k, T.Zero, plain, m);
                    packed.Pack(false, a, m);
                    Gemm.Multiply(packed, false, 1, T.One, b, k, T.Zero, fromPacked, m);
                });
                Array.FindIndex(plain, x => !T.IsFinite(x)).Should().Be(-1, $"plain {m}x{k} on {path}: NaN in y must not leak through beta = 0");
                Array.FindIndex(fromPacked, x => !T.IsFinite(x)).Should().Be(-1, $"packed {m}x{k} on {path}");
            }
        }
    }

    private static readonly int[] Columns = [0, 5, Wide - 1];

    /// <summary>alpha and beta, different from one shape to the next (1 and 1 as in the recurrence, 0 as in a fresh product).</summary>
    private static (T Alpha, T Beta) Scalars(int k) => (k % 4) switch
    {
        0 => (T.One, T.One),
        1 => (T.CreateTruncating(0.75), T.CreateTruncating(-1.5)),
        2 => (T.CreateTruncating(-2), T.Zero),
        _ => (T.One, T.CreateTruncating(0.5)),
    };

    /// <summary>The checked columns' rows (and their padding rows, which neither product writes) are equal bit for bit.</summary>
    private static void CheckColumns(T[] narrow, T[] wide, int ldc, int m, string what)
    {
        foreach (int j in Columns)
        {
            narrow.AsSpan(j * ldc, ldc).ToArray().Should().Equal(wide.AsSpan(j * ldc, ldc).ToArray(), $"{what}, column {j}: one column gives the tiles' bits");
        }
    }
}

public sealed class GemvTestsSingle : GemvTests<float>;

public sealed class GemvTestsDouble : GemvTests<double>;
