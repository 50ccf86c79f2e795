using System.Numerics;
using RnnCore.Kernels;

namespace RnnCore.Tests.Kernels;

/// <summary>
/// The GEMM core against the scalar triple loop (<see cref="GemmReference"/>) on sizes that hit every edge of the tiles
/// (MR = 32 floats or 16 doubles with NR = 8 on the 512-bit path, MR = 16 or 8 with NR = 6 on the 256-bit and scalar
/// paths), of the cache blocks (KC = 256, MC = 128 or 64) and of odd leading dimensions, for all four transpose variants,
/// on every path this machine runs; and the kernels' promises: every path gives the same bits, packed and unpacked A
/// bit-identical, beta = 0 never reads C.
/// </summary>
public abstract class GemmTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>1..70 has every remainder modulo MR and NR; the primes and block sizes ± 1 cross the cache blocks.</summary>
    public static TheoryData<int> EdgeSizes()
    {
        var data = new TheoryData<int>();
        foreach (int s in Enumerable.Range(1, 70).Concat([97, 127, 128, 129, 131, 255, 256, 257, 263]))
        {
            data.Add(s);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EdgeSizes))]
    public void Square_products_match_the_reference_in_every_variant(int size)
    {
        foreach ((bool ta, bool tb) in Variants)
        {
            Check(ta, tb, size, size, size, alpha: 1, beta: 0, padding: 0, seed: size);
        }
    }

    [Theory]
    [MemberData(nameof(EdgeSizes))]
    public void Rectangular_products_with_alpha_beta_and_padded_leading_dimensions_match(int size)
    {
        var random = new Random(1000 + size);
        foreach ((bool ta, bool tb) in Variants)
        {
            // One dimension is the edge size under test, the other two random: every edge meets every role.
            int other1 = random.Next(1, 40);
            int other2 = random.Next(1, 300);
            Check(ta, tb, size, other1, other2, alpha: 0.75, beta: -1.5, padding: 3, seed: size);
            Check(ta, tb, other1, size, other2, alpha: -2, beta: 1, padding: 1, seed: size + 1);
            Check(ta, tb, other2 % 80 + 1, other1, size, alpha: 1, beta: 0.5, padding: 0, seed: size + 2);
        }
    }

    [Fact]
    public void Products_wider_than_a_column_block_and_taller_than_a_row_block_match()
    {
        // NC is 1536 floats / 768 doubles wide: 3100 columns cross it; 300 rows cross MC; 300 deep crosses KC.
        Check(false, false, 300, 3100, 7, alpha: 1, beta: 1, padding: 0, seed: 1);
        Check(false, true, 20, 1600, 300, alpha: 1, beta: 0, padding: 0, seed: 2);
    }

    [Fact]
    public void Narrow_products_reading_a_plain_A_in_place_match_across_k_blocks()
    {
        // n ≤ 4·NR (a multiple of NR) with op(A) plain: the 512-bit path reads full row strips of A where they lie (lda
        // apart) and packs only a ragged last strip; several row and k blocks, padded leading dimensions, alpha and beta.
        Check(false, false, 300, 32, 600, alpha: 0.5, beta: -1, padding: 2, seed: 7);
        Check(false, true, 77, 24, 513, alpha: 1, beta: 0, padding: 0, seed: 8);
        Check(false, false, 32, 8, 1030, alpha: -1, beta: 0.25, padding: 5, seed: 9);
    }

    [Fact]
    public void Short_products_reading_a_transposed_B_in_place_match_across_k_blocks()
    {
        // m ≤ 4·MC with op(B) transposed: on the 512-bit path each full strip of B is read where it lies (ldb apart) by
        // its first tile, which copies it for the strip's other tiles and the later row blocks; only the ragged strip
        // is packed, and with fewer rows than one tile the strip is read in place by that tile alone. Several k blocks
        // (beta = 1 after the first: each block's copy replaces the last), padded leading dimensions, full and ragged
        // tiles, one row block or several; ldb of 1024 floats (4 KB, as H's in XL's dW_y). Check compares every path.
        Check(false, true, 64, 40, 600, alpha: 0.5, beta: -1, padding: 2, seed: 3);
        Check(false, true, 300, 33, 520, alpha: 1, beta: 1, padding: 1, seed: 6);
        Check(true, true, 128, 67, 513, alpha: 1, beta: 0, padding: 0, seed: 4);
        Check(false, true, 37, 16, 1030, alpha: -1, beta: 0.25, padding: 5, seed: 5);
        Check(false, true, 20, 24, 300, alpha: 1, beta: 0.5, padding: 3, seed: 10);
        Check(false, true, 160, 1024, 260, alpha: 1, beta: 0, padding: 0, seed: 11);
    }

    [Fact]
    public void Every_path_gives_identical_bits()
    {
        // Below the parallel threshold, so every tile runs on this thread; shapes on and off both paths' tile grids.
        var random = new Random(7);
        foreach ((bool ta, bool tb) in Variants)
        {
            foreach ((int m, int n, int k) in new[] { (37, 23, 61), (16, 6, 256), (32, 8, 256), (70, 1, 257), (1, 70, 33), (64, 17, 9) })
            {
                (T[] a, T[] b, T[] c) = Operands(random, ta, tb, m, n, k, 0);
                T[] fastest = c.ToArray();
                Gemm.Multiply(ta, tb, m, n, k, T.CreateTruncating(0.5), a, ta ? k : m, b, tb ? n : k, T.One, fastest, m);
                foreach (GemmPath path in Paths)
                {
                    T[] other = c.ToArray();
                    OnPath(path, () => Gemm.Multiply(ta, tb, m, n, k, T.CreateTruncating(0.5), a, ta ? k : m, b, tb ? n : k, T.One, other, m));
                    other.Should().Equal(fastest, $"op {Name(ta, tb)} {m}x{n}x{k} on {path}: every path accumulates fma by fma in the same order");
                }
            }
        }
    }

    [Fact]
    public void Every_path_this_machine_has_is_tested()
    {
        // The paths up to the fastest: on an AVX-512 machine all three run in every test of this class.
        Paths.Should().StartWith(GemmPath.Scalar).And.EndWith(GemmMicroKernel.Fastest);
        Paths.Should().HaveCount((int)GemmMicroKernel.Fastest + 1);
    }

    [Fact]
    public void A_path_the_machine_lacks_cannot_be_forced()
    {
        if (GemmMicroKernel.Fastest == GemmPath.Vector512)
        {
            GemmMicroKernel.ForcedPath.Should().BeNull();
            return;
        }

        Action force = () => GemmMicroKernel.ForcedPath = GemmPath.Vector512;
        force.Should().Throw<PlatformNotSupportedException>();
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 5)]
    [InlineData(false, 64)]
    [InlineData(true, 1)]
    [InlineData(true, 37)]
    public void Packed_A_gives_the_same_bits_as_unpacked_A(bool transposeA, int n)
    {
        var random = new Random(11);
        const int m = 133, k = 300;
        (T[] a, T[] b, T[] c) = Operands(random, transposeA, false, m, n, k, 0);
        T[] unpacked = c.ToArray();
        T[] packed = c.ToArray();
        Gemm.Multiply(transposeA, false, m, n, k, T.One, a, transposeA ? k : m, b, k, T.One, unpacked, m);
        var packedA = new PackedMatrix<T>(m, k);
        packedA.Pack(transposeA, a, transposeA ? k : m);
        Gemm.Multiply(packedA, false, n, T.One, b, k, T.One, packed, m);
        packed.Should().Equal(unpacked);

        // One buffer repacked in each path's strip layout (MR differs between paths) gives the same bits every time.
        foreach (GemmPath path in Paths)
        {
            T[] onPath = c.ToArray();
            OnPath(path, () =>
            {
                packedA.Pack(transposeA, a, transposeA ? k : m);
                Gemm.Multiply(packedA, false, n, T.One, b, k, T.One, onPath, m);
            });
            packedA.Path.Should().Be(path);
            onPath.Should().Equal(unpacked, $"A packed for {path}");
        }
    }

    [Fact]
    public void Beta_zero_overwrites_C_without_reading_it()
    {
        var random = new Random(3);
        foreach ((int m, int n, int k) in new[] { (17, 7, 5), (16, 6, 3), (5, 3, 0) })
        {
            (T[] a, T[] b, T[] _) = Operands(random, false, false, m, n, k, 0);
            T[] c = Enumerable.Repeat(T.NaN, m * n).ToArray();
            Gemm.Multiply(false, false, m, n, k, T.One, a, m, b, Math.Max(1, k), T.Zero, c, m);
            Array.FindIndex(c, x => !T.IsFinite(x)).Should().Be(-1, $"{m}x{n}x{k}: NaN in C must not leak through beta = 0");
        }
    }

    [Fact]
    public void Operands_too_short_for_their_shape_are_refused_by_name()
    {
        T[] a = new T[6 * 5], b = new T[5 * 4], c = new T[6 * 4];
        Action shortC = () => Gemm.Multiply(false, false, 6, 4, 5, T.One, a, 6, b, 5, T.Zero, c.AsSpan(1), 6);
        Action smallLd = () => Gemm.Multiply(false, false, 6, 4, 5, T.One, a, 5, b, 5, T.Zero, c, 6);
        shortC.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("c");
        smallLd.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("a");
    }

    [Fact]
    public void Concurrent_large_products_from_eight_threads_match_single_threaded_results()
    {
        var random = new Random(5);
        const int m = 200, n = 150, k = 180;
        var problems = Enumerable.Range(0, 8).Select(_ => Operands(random, false, true, m, n, k, 0)).ToArray();
        T[][] expected = problems.Select(p =>
        {
            T[] c = p.C.ToArray();
            Gemm.Multiply(false, true, m, n, k, T.One, p.A, m, p.B, n, T.One, c, m);
            return c;
        }).ToArray();

        T[][] actual = new T[8][];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            for (int repeat = 0; repeat < 5; repeat++)
            {
                T[] c = problems[i].C.ToArray();
                Gemm.Multiply(false, true, m, n, k, T.One, problems[i].A, m, problems[i].B, n, T.One, c, m);
                actual[i] = c;
            }
        });

        for (int i = 0; i < 8; i++)
        {
            actual[i].Should().Equal(expected[i], $"thread {i}'s product");
        }
    }

    /// <summary>Every path this machine runs, narrowest first.</summary>
    internal static readonly GemmPath[] Paths = Enum.GetValues<GemmPath>().Where(p => p <= GemmMicroKernel.Fastest).ToArray();

    /// <summary>Runs <paramref name="action"/> with the products it starts on this thread forced onto <paramref name="path"/>.</summary>
    internal static void OnPath(GemmPath path, Action action)
    {
        try
        {
            GemmMicroKernel.ForcedPath = path;
            action();
        }
        finally
        {
            GemmMicroKernel.ForcedPath = null;
        }
    }

    internal static readonly (bool TransposeA, bool TransposeB)[] Variants = [(false, false), (false, true), (true, false), (true, true)];

    internal static string Name(bool ta, bool tb) => $"{(ta ? 'T' : 'N')}{(tb ? 'T' : 'N')}";

    /// <summary>Random stored operands for op(A) m x k, op(B) k x n and C m x n, each with <paramref name="padding"/> extra rows of storage.</summary>
    internal static (T[] A, T[] B, T[] C) Operands(Random random, bool ta, bool tb, int m, int n, int k, int padding)
    {
        T[] Fill(int rows, int columns) => Enumerable.Range(0, Math.Max(1, (rows + padding) * columns))
            .Select(_ => T.CreateTruncating((2 * random.NextDouble()) - 1)).ToArray();
        return (ta ? Fill(k, m) : Fill(m, k), tb ? Fill(n, k) : Fill(k, n), Fill(m, n));
    }

    private static void Check(bool ta, bool tb, int m, int n, int k, double alpha, double beta, int padding, int seed)
    {
        var random = new Random(seed);
        (T[] a, T[] b, T[] c) = Operands(random, ta, tb, m, n, k, padding);
        int lda = (ta ? k : m) + padding, ldb = (tb ? n : k) + padding, ldc = m + padding;
        T[] expected = c.ToArray();
        T[] actual = c.ToArray();
        T alphaT = T.CreateTruncating(alpha), betaT = T.CreateTruncating(beta);
        GemmReference.Multiply(ta, tb, m, n, k, alphaT, a, lda, b, ldb, betaT, expected, ldc);
        Gemm.Multiply(ta, tb, m, n, k, alphaT, a, lda, b, ldb, betaT, actual, ldc);
        foreach (GemmPath path in Paths)
        {
            T[] onPath = c.ToArray();
            OnPath(path, () => Gemm.Multiply(ta, tb, m, n, k, alphaT, a, lda, b, ldb, betaT, onPath, ldc));
            onPath.Should().Equal(actual, $"op {Name(ta, tb)} {m}x{n}x{k} (alpha {alpha}, beta {beta}, ld padding {padding}): {path} and {GemmMicroKernel.Fastest} give the same bits");
        }

        // The classical bound for a length-k dot product, |error| ≤ γ_k Σ_p |a_ip b_pj| (+ the beta·c rounding), with
        // both results' errors: a misplaced or missing term is off by a whole term, far outside it.
        T[] magnitudes = c.Select(T.Abs).ToArray();
        GemmReference.Multiply(ta, tb, m, n, k, T.Abs(alphaT), a.Select(T.Abs).ToArray(), lda, b.Select(T.Abs).ToArray(), ldb, T.Abs(betaT), magnitudes, ldc);
        double unitRoundoff = typeof(T) == typeof(float) ? 5.96e-8 : 1.11e-16;
        for (int j = 0; j < n; j++)
        {
            for (int i = 0; i < m + padding; i++)
            {
                int index = i + (j * ldc);
                double e = double.CreateTruncating(expected[index]), x = double.CreateTruncating(actual[index]);
                if (i >= m)
                {
                    x.Should().Be(e, $"op {Name(ta, tb)} {m}x{n}x{k}: padding row {i} of column {j} must not be written");
                    continue;
                }

                double bound = 2 * (k + 2) * unitRoundoff * double.CreateTruncating(magnitudes[index]);
                Math.Abs(x - e).Should().BeLessThanOrEqualTo(
                    bound, $"op {Name(ta, tb)} {m}x{n}x{k} (alpha {alpha}, beta {beta}, ld padding {padding}) at ({i}, {j})");
            }
        }
    }
}

public sealed class GemmTestsSingle : GemmTests<float>;

public sealed class GemmTestsDouble : GemmTests<double>;
