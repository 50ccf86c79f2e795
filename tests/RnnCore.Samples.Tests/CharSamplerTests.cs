using RnnCore.Models;
using RnnCore.Samples.CharRnn;

namespace RnnCore.Samples.Tests;

public sealed class CharSamplerTests
{
    private static readonly double[] Probabilities = [0.1, 0.5, 0.15, 0.25];

    private static int[] Draws(double temperature, int topK, long seed, int count = 2000)
    {
        var random = new SampleRandom(seed);
        return Enumerable.Range(0, count).Select(_ => CharSampler.Choose(Probabilities, temperature, topK, random)).ToArray();
    }

    [Fact]
    public void The_same_seed_draws_the_same_characters()
    {
        Draws(1.0, 0, seed: 3).Should().Equal(Draws(1.0, 0, seed: 3));
        Draws(1.0, 0, seed: 3).Should().NotEqual(Draws(1.0, 0, seed: 4));
    }

    [Fact]
    public void Temperature_one_samples_the_model_distribution()
    {
        int[] draws = Draws(1.0, 0, seed: 1, count: 20000);
        for (int i = 0; i < Probabilities.Length; i++)
        {
            (draws.Count(d => d == i) / 20000.0).Should().BeApproximately(Probabilities[i], 0.015);
        }
    }

    [Fact]
    public void A_low_temperature_picks_the_most_likely_character()
    {
        Draws(0.01, 0, seed: 1).Should().OnlyContain(d => d == 1);
    }

    [Fact]
    public void A_high_temperature_flattens_the_distribution()
    {
        int[] draws = Draws(100.0, 0, seed: 1, count: 20000);
        (draws.Count(d => d == 0) / 20000.0).Should().BeApproximately(0.25, 0.02);
    }

    [Fact]
    public void Top_k_keeps_only_the_k_most_likely_characters()
    {
        Draws(1.0, 1, seed: 1).Should().OnlyContain(d => d == 1);
        int[] two = Draws(1.0, 2, seed: 1);
        two.Should().OnlyContain(d => d == 1 || d == 3);
        two.Should().Contain(3);
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(-1.0, 0)]
    [InlineData(double.NaN, 0)]
    [InlineData(1.0, -1)]
    public void Bad_temperature_or_top_k_is_refused(double temperature, int topK)
    {
        Action act = () => CharSampler.Choose(Probabilities, temperature, topK, new SampleRandom(1));
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Generate_is_seeded_and_uses_the_vocabulary()
    {
        var layer = new RecurrentLayer<float>(3, 8, 3, seed: 5);
        string a = CharSampler.Generate(layer, "abc", "a", 40, 1.0, 0, new SampleRandom(9));
        string b = CharSampler.Generate(layer, "abc", "a", 40, 1.0, 0, new SampleRandom(9));
        a.Should().HaveLength(40).And.Be(b);
        a.Should().MatchRegex("^[abc]+$");
    }
}
