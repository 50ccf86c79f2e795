using System.Numerics;
using RnnCore.Kernels;

namespace RnnCore.Tests.Kernels;

/// <summary>
/// The GEMM's epilogue is whatever struct the caller supplies (<see cref="IGemmEpilogue{T}"/>): it sees every column of C
/// exactly once, as whole columns, after the product, on 1, 2 or 3 threads, and a NaN or infinity in C before it is
/// reported at its first index. Compared with the plain product followed by the same function.
/// </summary>
[Collection(ProcessSettingsCollection.Name)]
public abstract class GemmEpilogueTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(300, 64, 300)] // split along columns: each part runs the epilogue on its own columns
    [InlineData(700, 4, 1000)] // few columns: split along rows, the epilogue runs afterwards over whole columns
    [InlineData(8, 3, 5)] // too small to split
    public void The_epilogue_sees_every_column_once_after_the_product(int m, int n, int k)
    {
        var random = new Random(5);
        (T[] a, T[] b, T[] c) = GemmTests<T>.Operands(random, false, false, m, n, k, 0);
        var packed = new PackedMatrix<T>(m, k);
        packed.Pack(false, a, m);
        int before = RnnCoreSettings.MaxDegreeOfParallelism;
        try
        {
            RnnCoreSettings.MaxDegreeOfParallelism = 1;
            T[] expected = c.ToArray();
            Gemm.Multiply(packed, false, n, T.One, b, k, T.One, expected, m);
            for (int i = 0; i < expected.Length; i++)
            {
                expected[i] = (expected[i] * T.CreateTruncating(2)) + T.CreateTruncating(i / m); // f(x) = 2x + column
            }

            foreach (int threads in new[] { 1, 2, 3 })
            {
                RnnCoreSettings.MaxDegreeOfParallelism = threads;
                T[] result = c.ToArray();
                var epilogue = new DoubleAndAddColumn(m, new int[n]);
                Gemm.Multiply(packed, false, n, T.One, b, k, T.One, result, m, ref epilogue).Should().Be(-1);
                epilogue.Visits.Should().OnlyContain(v => v == 1, $"every column once with {threads} threads");
                result.Should().Equal(expected, $"{threads} threads");
            }
        }
        finally
        {
            RnnCoreSettings.MaxDegreeOfParallelism = before;
        }
    }

    [Fact]
    public void A_non_finite_element_before_the_epilogue_is_reported_at_its_first_index()
    {
        var random = new Random(6);
        (T[] a, T[] b, T[] c) = GemmTests<T>.Operands(random, false, false, 40, 6, 7, 0);
        c[(3 * 40) + 17] = T.NaN;
        c[(5 * 40) + 2] = T.PositiveInfinity;
        var packed = new PackedMatrix<T>(40, 7);
        packed.Pack(false, a, 40);
        var epilogue = new DoubleAndAddColumn(40, new int[6]);
        Gemm.Multiply(packed, false, 6, T.One, b, 7, T.One, c, 40, ref epilogue).Should().Be((3 * 40) + 17);
    }

    /// <summary>f(x) = 2x + (the column's index), and a count of the visits of each column.</summary>
    private readonly struct DoubleAndAddColumn(int rows, int[] visits) : IGemmEpilogue<T>
    {
        public int[] Visits => visits;

        public void Apply(Span<T> block, int firstColumn, int columnCount)
        {
            block.Length.Should().Be(rows * columnCount);
            for (int j = 0; j < columnCount; j++)
            {
                Interlocked.Increment(ref visits[firstColumn + j]);
                Span<T> column = block.Slice(j * rows, rows);
                for (int i = 0; i < rows; i++)
                {
                    column[i] = (column[i] * T.CreateTruncating(2)) + T.CreateTruncating(firstColumn + j);
                }
            }
        }
    }
}

public sealed class GemmEpilogueTestsSingle : GemmEpilogueTests<float>;

public sealed class GemmEpilogueTestsDouble : GemmEpilogueTests<double>;
