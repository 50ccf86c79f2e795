using System.Numerics;
using RnnCore.Generation;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Training;

namespace RnnCore.Tests.Generation;

/// <summary>Sampling from a trained layer: reproducible from a seed, greedy at top-k 1, the right distribution at a temperature.</summary>
public abstract class SamplerTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Fact]
    public void The_same_seed_gives_the_same_tokens_and_another_seed_others()
    {
        var sampler = new Sampler<T>(new RecurrentLayer<T>(6, 8, 6, seed: 1));
        int[] a = sampler.Generate([0, 3], 60, temperature: 1.5, seed: 7);
        sampler.Generate([0, 3], 60, temperature: 1.5, seed: 7).Should().Equal(a);
        sampler.Generate([0, 3], 60, temperature: 1.5, seed: 8).Should().NotEqual(a);
        a.Should().OnlyContain(t => t >= 0 && t < 6);
    }

    [Fact]
    public void Top_k_of_one_is_greedy_decoding()
    {
        var layer = new RecurrentLayer<T>(5, 7, 5, seed: 2);
        int[] sampled = new Sampler<T>(layer).Generate([4], 20, topK: 1, seed: 3);

        // Greedy by hand: the whole sequence so far through Forward, argmax of the last output.
        var tokens = new List<int> { 4 };
        for (int n = 0; n < 20; n++)
        {
            List<MathNet.Numerics.LinearAlgebra.Vector<T>> inputs = tokens.Select(t => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(5, i => i == t ? T.One : T.Zero)).ToList();
            tokens.Add(layer.Forward(inputs).Output(tokens.Count - 1).Column(0).MaximumIndex());
        }

        sampled.Should().Equal(tokens.Skip(1));
    }

    [Theory]
    [InlineData(1.0, 0)]
    [InlineData(0.5, 0)]
    [InlineData(2.0, 2)]
    public void Draws_follow_the_softmax_at_the_temperature_over_the_top_k(double temperature, int topK)
    {
        // W_x = W_h = 0 and b_h = 0 make h = 0 at every step, so every step's logits are b_y: a fixed distribution.
        var layer = new RecurrentLayer<T>(4, 3, 4, seed: 1);
        layer.Wx.Clear();
        layer.Wh.Clear();
        layer.Bh.Clear();
        double[] logits = [1.0, 2.0, 0.0, -1.0];
        for (int i = 0; i < 4; i++)
        {
            layer.By[i] = T.CreateTruncating(logits[i]);
        }

        const int Draws = 20_000;
        int[] tokens = new Sampler<T>(layer).Generate([0], Draws, temperature, topK, seed: 11);

        int[] allowed = topK == 0 ? [0, 1, 2, 3] : [1, 0]; // the two largest logits
        double norm = allowed.Sum(i => Math.Exp(logits[i] / temperature));
        for (int i = 0; i < 4; i++)
        {
            double expected = allowed.Contains(i) ? Math.Exp(logits[i] / temperature) / norm : 0;
            double frequency = tokens.Count(t => t == i) / (double)Draws;

            // Four standard errors of a binomial proportion: a false failure has probability below 1e-4.
            double tolerance = 4 * Math.Sqrt(Math.Max(expected * (1 - expected), 1e-12) / Draws);
            frequency.Should().BeApproximately(expected, tolerance, $"token {i} at temperature {temperature}, top-k {topK}");
        }
    }

    [Fact]
    public void A_trained_character_model_continues_its_text()
    {
        // The Quick start's task through the Trainer: after "hell" comes "ello"; from "h", greedy sampling gives "ello".
        const string Vocabulary = "helo";
        MathNet.Numerics.LinearAlgebra.Vector<T> OneHot(char c) => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(4, i => i == Vocabulary.IndexOf(c) ? T.One : T.Zero);
        var data = new SequenceDataset<T>([Sequence<T>.WithClasses("hell".Select(OneHot).ToList(), "ello".Select(c => Vocabulary.IndexOf(c)).ToList())]);
        var layer = new RecurrentLayer<T>(4, 8, 4, seed: 42);
        new Trainer<T>(layer, new AdamOptimizer<T>(0.05), new TrainerOptions { Epochs = 150, BatchSize = 1, Reduction = LossReduction.Sum }).Fit(data);

        int[] generated = new Sampler<T>(layer).Generate([Vocabulary.IndexOf('h')], 4, topK: 1);
        string.Concat(generated.Select(i => Vocabulary[i])).Should().Be("ello");
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        ((Action)(() => _ = new Sampler<T>(new RecurrentLayer<T>(3, 4, 3, HiddenActivation.Tanh, OutputActivation.Sigmoid)))).Should().Throw<ArgumentException>().WithParameterName("model");
        ((Action)(() => _ = new Sampler<T>(new RecurrentLayer<T>(3, 4, 5)))).Should().Throw<ArgumentException>().WithMessage("*inputSize == outputSize*");
        var sampler = new Sampler<T>(new RecurrentLayer<T>(3, 4, 3));
        ((Action)(() => sampler.Generate([], 3))).Should().Throw<ArgumentException>().WithParameterName("prefix");
        ((Action)(() => sampler.Generate([3], 3))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("prefix");
        ((Action)(() => sampler.Generate([0], 3, temperature: 0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("temperature");
        ((Action)(() => sampler.Generate([0], 3, topK: 4))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("topK");
        ((Action)(() => sampler.Generate([0], -1))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("count");
        sampler.Generate([0], 0).Should().BeEmpty();
    }
}

public sealed class SamplerTestsDouble : SamplerTests<double>;

public sealed class SamplerTestsSingle : SamplerTests<float>;
