using RnnCore.Initialization;
using RnnCore.Internal;
using RnnCore.Models;

namespace RnnCore.Tests.Initialization;

/// <summary>
/// The normal draws behind Xavier normal, orthogonal and IRNN weights use only IEEE basic operations, √ and our own
/// logarithm, so they are the same on every machine; these tests pin that down.
/// </summary>
public sealed class PortableRandomTests
{
    [Fact]
    public void The_portable_logarithm_agrees_with_Math_Log_to_about_one_ulp()
    {
        var random = new SeededRandom(1);
        double worst = 0;
        for (int i = 0; i < 100_000; i++)
        {
            // Spread over many binades: x = u · 2^−k.
            double x = (random.NextDouble() + 1e-300) * Math.Pow(2, -(i % 200));
            double expected = Math.Log(x);
            worst = Math.Max(worst, Math.Abs(PortableMath.Log(x) - expected) / Math.Max(Math.Abs(expected), 1e-300));
        }

        worst.Should().BeLessThan(4.5e-16, "two ulps relative (2^-52 ≈ 2.2e-16)");
        PortableMath.Log(1).Should().Be(0);
        PortableMath.Log(2).Should().Be(Math.Log(2));
    }

    [Fact]
    public void Gaussian_draws_have_mean_zero_and_variance_one()
    {
        var random = new SeededRandom(7);
        double[] z = Enumerable.Range(0, 200_000).Select(_ => random.NextGaussian()).ToArray();
        z.Average().Should().BeApproximately(0, 0.01);
        (z.Select(v => v * v).Average()).Should().BeApproximately(1, 0.01);
        (z.Count(v => Math.Abs(v) < 1) / (double)z.Length).Should().BeApproximately(0.6827, 0.005, "P(|z| < 1) of a standard normal");
    }

    [Fact]
    public void The_weights_of_seed_42_are_pinned_bit_for_bit()
    {
        // A digest of every bit of each preset's double weights for seed 42. It changes only if the generator, the
        // draw order or an initializer's arithmetic changes: on any machine or runtime, the same seed gives these bits.
        var layer = new RecurrentLayer<double>(5, 8, 3, HiddenActivation.Relu, OutputActivation.Identity);
        var digests = new List<string>();
        foreach (LayerInitialization init in new[] { LayerInitialization.PyTorchDefault, LayerInitialization.Xavier, LayerInitialization.Orthogonal, LayerInitialization.Irnn() })
        {
            init.Apply(layer, 42);
            ulong hash = 14695981039346656037UL;
            for (int p = 0; p < 5; p++)
            {
                foreach (double v in layer.Parameters[p])
                {
                    hash = (hash ^ (ulong)BitConverter.DoubleToInt64Bits(v)) * 1099511628211UL;
                }
            }

            digests.Add(hash.ToString("X16", System.Globalization.CultureInfo.InvariantCulture));
        }

        digests.Should().Equal(PinnedDigests);
    }

    private static readonly string[] PinnedDigests = ["DA2285E92304079D", "8EC5BBCEB1E8DF1F", "CE6BD77E2914CA81", "5BF4E9C7B7D989CF"];
}
