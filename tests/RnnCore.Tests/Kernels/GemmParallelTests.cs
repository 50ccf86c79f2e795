using System.Numerics;
using RnnCore.Kernels;

namespace RnnCore.Tests.Kernels;

/// <summary>
/// <see cref="RnnCoreSettings.MaxDegreeOfParallelism"/> is process-wide, so these tests run alone: the same products
/// with 1, 2 and 3 threads give identical bits, because every split falls on the tile grid and leaves each element's
/// sum in the same order.
/// </summary>
[Collection(ProcessSettingsCollection.Name)]
public abstract class GemmParallelTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Fact]
    public void Results_are_bit_identical_for_every_degree_of_parallelism()
    {
        var random = new Random(21);
        int before = RnnCoreSettings.MaxDegreeOfParallelism;
        try
        {
            // Each is well above the parallel threshold; the shapes make the planner split along n, along m, and with a packed A.
            foreach ((bool ta, bool tb) in GemmTests<T>.Variants)
            {
                foreach ((int m, int n, int k) in new[] { (130, 400, 90), (500, 20, 300), (64, 64, 1000) })
                {
                    (T[] a, T[] b, T[] c) = GemmTests<T>.Operands(random, ta, tb, m, n, k, 0);
                    T[]? first = null;
                    foreach (int threads in new[] { 1, 2, 3 })
                    {
                        RnnCoreSettings.MaxDegreeOfParallelism = threads;
                        T[] result = c.ToArray();
                        Gemm.Multiply(ta, tb, m, n, k, T.One, a, ta ? k : m, b, tb ? n : k, T.CreateTruncating(0.25), result, m);
                        first ??= result;
                        result.Should().Equal(first, $"op {GemmTests<T>.Name(ta, tb)} {m}x{n}x{k} with {threads} threads");
                    }
                }
            }

            var packed = new PackedMatrix<T>(300, 300);
            (T[] pa, T[] pb, T[] pc) = GemmTests<T>.Operands(random, true, false, 300, 64, 300, 0);
            packed.Pack(true, pa, 300);
            RnnCoreSettings.MaxDegreeOfParallelism = 1;
            T[] serial = pc.ToArray();
            Gemm.Multiply(packed, false, 64, T.One, pb, 300, T.One, serial, 300);
            RnnCoreSettings.MaxDegreeOfParallelism = 2;
            T[] parallel = pc.ToArray();
            Gemm.Multiply(packed, false, 64, T.One, pb, 300, T.One, parallel, 300);
            parallel.Should().Equal(serial, "a packed A split over two threads");

            // One column (Gemv) split along rows, plain and packed: 6.4 M flops, enough for three threads.
            (T[] va, T[] vb, T[] vc) = GemmTests<T>.Operands(random, false, false, 4000, 1, 800, 0);
            var packedTall = new PackedMatrix<T>(4000, 800);
            packedTall.Pack(false, va, 4000);
            T[]? plainFirst = null, packedFirst = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                RnnCoreSettings.MaxDegreeOfParallelism = threads;
                T[] plain = vc.ToArray();
                T[] fromPacked = vc.ToArray();
                Gemm.Multiply(false, false, 4000, 1, 800, T.One, va, 4000, vb, 800, T.One, plain, 4000);
                Gemm.Multiply(packedTall, false, 1, T.One, vb, 800, T.One, fromPacked, 4000);
                plainFirst ??= plain;
                packedFirst ??= fromPacked;
                plain.Should().Equal(plainFirst, $"one column of a plain A with {threads} threads");
                fromPacked.Should().Equal(packedFirst, $"one column of a packed A with {threads} threads");
                fromPacked.Should().Equal(plain, "packed and plain A");
            }
        }
        finally
        {
            RnnCoreSettings.MaxDegreeOfParallelism = before;
        }
    }

    [Fact]
    public void A_degree_of_parallelism_below_one_is_refused()
    {
        Action zero = () => RnnCoreSettings.MaxDegreeOfParallelism = 0;
        zero.Should().Throw<ArgumentOutOfRangeException>().Which.Message.Should().Contain("at least 1").And.Contain("was 0");
    }
}

public sealed class GemmParallelTestsSingle : GemmParallelTests<float>;

public sealed class GemmParallelTestsDouble : GemmParallelTests<double>;

/// <summary>Tests that change process-wide settings run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessSettingsCollection
{
    public const string Name = "Process-wide settings";
}
