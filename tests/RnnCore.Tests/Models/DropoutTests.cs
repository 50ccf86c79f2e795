using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Models;

/// <summary>Dropout between layers: PyTorch's inverted dropout, only while training, reproducible from the seed.</summary>
public sealed class DropoutTests
{
    private const int Steps = 6, Batch = 4;

    [Theory]
    [InlineData(RecurrentCellKind.Lstm)]
    [InlineData(RecurrentCellKind.Gru)]
    [InlineData(RecurrentCellKind.Vanilla)]
    public void P_zero_gives_the_same_bits_as_no_dropout(RecurrentCellKind cell)
    {
        // Training with p = 0 draws nothing and masks nothing: the same bits as an inference pass, forward and backward.
        RecurrentModelOptions options = ModelProblems.Options(cell, 3, true, OutputActivation.Softmax, hiddenSize: 5);
        (double[] trained, double[] trainedGradients) = Run(new RecurrentModel<double>(options), training: true);
        (double[] inferred, double[] inferredGradients) = Run(new RecurrentModel<double>(options), training: false);
        trained.Should().Equal(inferred);
        trainedGradients.Should().Equal(inferredGradients);
    }

    [Fact]
    public void Inference_applies_none()
    {
        // Same seed, same weights: p = 0.5 at inference gives exactly the bits of p = 0.
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Lstm, 2, false, OutputActivation.Softmax, hiddenSize: 5);
        var dropped = new RecurrentModel<double>(options with { Dropout = 0.5 });
        Run(dropped, training: false).Outputs.Should().Equal(Run(new RecurrentModel<double>(options), training: false).Outputs);
        ForwardCache<double> cache = dropped.Forward(Inputs());
        cache.DropoutApplied.Should().BeFalse();
    }

    [Fact]
    public void Training_with_p_above_zero_changes_the_outputs_and_draws_fresh_masks_each_pass()
    {
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Gru, 2, true, OutputActivation.Softmax, hiddenSize: 5, dropout: 0.5);
        var model = new RecurrentModel<double>(options);
        double[] inference = Run(model, training: false).Outputs;
        double[] first = Run(model, training: true).Outputs;
        double[] second = Run(model, training: true).Outputs;
        first.Should().NotEqual(inference);
        second.Should().NotEqual(first, "every training pass draws new masks");
    }

    [Fact]
    public void Masks_are_reproducible_from_the_seed()
    {
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Lstm, 3, false, OutputActivation.Identity, hiddenSize: 5, dropout: 0.3, seed: 42);
        var a = new RecurrentModel<double>(options);
        var b = new RecurrentModel<double>(options);
        for (int pass = 0; pass < 3; pass++)
        {
            (double[] outputsA, double[] gradientsA) = Run(a, training: true);
            (double[] outputsB, double[] gradientsB) = Run(b, training: true);
            outputsA.Should().Equal(outputsB, $"pass {pass}");
            gradientsA.Should().Equal(gradientsB, $"pass {pass}");
        }

        var other = new RecurrentModel<double>(options with { Seed = 43 });
        CachedMask(other).Should().NotEqual(CachedMask(new RecurrentModel<double>(options)), "another seed draws other masks");
    }

    [Fact]
    public void The_mean_activation_scale_is_kept()
    {
        // Each mask element is 0 with probability p and 1/(1 − p) otherwise, so E[o·m] = o. For the N outputs of a pass,
        // S = Σ|o_i| m_i has mean Σ|o_i| and variance Σ o_i² · p/(1 − p) (independent Bernoulli draws). We require
        // |S − Σ|o|| ≤ 5σ: a correct implementation fails with probability below 1e-6, while a missing 1/(1 − p) scale is
        // off by p·Σ|o| ≈ 30 σ here. The dropped fraction is checked the same way: mean p, σ = sqrt(p(1 − p)/N).
        const double P = 0.3;
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, inputSize: 4, hiddenSize: 16, dropout: P, seed: 5);
        var model = new RecurrentModel<double>(options);
        var random = new Random(3);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 4, 40, 16);
        ForwardCache<double> cache = model.CreateCache(40, 16);
        model.Forward(inputs, cache, training: true);
        double[] outputs = cache.LayerOutputs[0];
        double[] masked = cache.DroppedOutputs[0];
        double[] mask = cache.DropoutMasks[0];
        int n = outputs.Length;

        double sum = outputs.Sum(Math.Abs);
        double maskedSum = masked.Sum(Math.Abs);
        double sigma = Math.Sqrt(outputs.Sum(o => o * o) * P / (1 - P));
        Math.Abs(maskedSum - sum).Should().BeLessThan(5 * sigma, $"Σ|o| = {sum}, Σ|o·m| = {maskedSum}, σ = {sigma}");
        (P * sum).Should().BeGreaterThan(20 * sigma, "the test must be able to see a missing scale");

        double dropped = mask.Count(m => m == 0) / (double)n;
        Math.Abs(dropped - P).Should().BeLessThan(5 * Math.Sqrt(P * (1 - P) / n));
        mask.Where(m => m != 0).Should().OnlyContain(m => m == 1 / (1 - P));
    }

    private static double[] CachedMask(RecurrentModel<double> model)
    {
        ForwardCache<double> cache = model.CreateCache(Steps, Batch);
        model.Forward(Inputs(), cache, training: true);
        return cache.DropoutMasks[0].ToArray();
    }

    private static List<Matrix<double>> Inputs() => RandomProblems.Inputs<double>(new Random(1), 3, Steps, Batch);

    private static (double[] Outputs, double[] Gradients) Run(RecurrentModel<double> model, bool training)
    {
        var random = new Random(2);
        List<Matrix<double>> inputs = Inputs();
        SequenceTargets<double> targets = ModelProblems.Targets(random, model, Steps, Batch, LossPlacement.EveryStep);
        ForwardCache<double> cache = model.CreateCache(Steps, Batch);
        model.Forward(inputs, cache, training: training);
        RecurrentGradients<double> gradients = new Bptt<double>(model).Backward(cache, targets);
        double[] outputs = Enumerable.Range(0, Steps).SelectMany(t => cache.Output(t).ToColumnMajorArray()).ToArray();
        double[] all = Enumerable.Range(0, gradients.ParameterGradients.Count).SelectMany(i => gradients.ParameterGradients[i].ToArray()).ToArray();
        return (outputs, all);
    }
}

/// <summary>A cache is shaped by the model's layers, not by its dropout probability.</summary>
public sealed class DropoutCacheTests
{
    [Fact]
    public void A_cache_made_by_a_model_without_dropout_serves_one_with_dropout()
    {
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Gru, 2, false, OutputActivation.Softmax);
        var plain = new RecurrentModel<double>(options);
        var dropped = new RecurrentModel<double>(options with { Dropout = 0.5 });
        ForwardCache<double> cache = plain.CreateCache(3, 2);
        dropped.Forward(RandomProblems.Inputs<double>(new Random(1), 3, 3, 2), cache, training: true);
        cache.DropoutApplied.Should().BeTrue();
    }
}
