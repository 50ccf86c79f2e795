using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Initialization;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>The gradient-health verdicts on networks built to vanish, explode or stay healthy, and the spectral radius.</summary>
public abstract class GradientHealthTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Steps = 30;

    [Fact]
    public void A_contracting_tanh_recurrence_is_reported_vanishing()
    {
        GradientHealth health = OneEpoch(HiddenActivation.Tanh, Initializer.Orthogonal(0.2), Clipping.None);
        health.Verdict.Should().Be(GradientVerdict.Vanishing, health.ToString());
        health.DhNormRatio.Should().BeLessThan(Math.Pow(0.2, Steps - 1) * 10, "each step back multiplies by at most ρ(W_h) = 0.2");
        health.SpectralRadius.Should().BeApproximately(0.2, 1e-4);
        health.Reason.Should().Contain("the first steps receive almost no gradient");
    }

    [Fact]
    public void An_expanding_relu_recurrence_is_reported_exploding()
    {
        // Every unit active: each step back multiplies dL/dh by exactly W_hᵀ = 1.5 I.
        GradientHealth health = OneEpoch(HiddenActivation.Relu, Initializer.Identity(1.5), Clipping.None);
        health.Verdict.Should().Be(GradientVerdict.Exploding, health.ToString());
        health.DhNormRatio.Should().BeApproximately(Math.Pow(1.5, Steps - 1), Math.Pow(1.5, Steps - 1) * 1e-4);
        health.SpectralRadius.Should().BeApproximately(1.5, 1e-6);
    }

    [Fact]
    public void The_IRNN_at_initialization_is_reported_healthy()
    {
        GradientHealth health = OneEpoch(HiddenActivation.Relu, Initializer.Identity(), Clipping.None);
        health.Verdict.Should().Be(GradientVerdict.Healthy, health.ToString());
        health.DhNormRatio.Should().BeApproximately(1, 1e-4, "W_h = I and every unit active carry dL/dh back unchanged");
        health.DhNorms.Should().HaveCount(Steps);
        health.ClipFraction.Should().Be(0);
        health.MeanGradientNorm.Should().BePositive();
        health.MaxGradientNorm.Should().BeGreaterThanOrEqualTo(health.MeanGradientNorm);
    }

    [Fact]
    public void Clipping_on_most_steps_is_reported_as_saturation_beside_a_healthy_verdict()
    {
        // The IRNN at initialization carries dL/dh back unchanged (ratio 1): healthy, however often clipping fires.
        GradientHealth health = OneEpoch(HiddenActivation.Relu, Initializer.Identity(), Clipping.ByGlobalNorm(1e-9));
        health.Verdict.Should().Be(GradientVerdict.Healthy, health.ToString());
        health.ClipFraction.Should().Be(1);
        health.ClippingSaturated.Should().BeTrue();
        health.Reason.Should().Contain("clipping fired on 100");
        health.ToString().Should().Contain("clipping saturated");

        GradientHealth unclipped = OneEpoch(HiddenActivation.Relu, Initializer.Identity(), Clipping.None);
        unclipped.ClippingSaturated.Should().BeFalse();
        new TrainerOptions { ExplodingClipFraction = 0.7 }.ClippingSaturationFraction.Should().Be(0.7, "the former name still sets the threshold");
    }

    [Fact]
    public void Clipping_saturation_does_not_hide_exploding_dh_norms()
    {
        GradientHealth health = OneEpoch(HiddenActivation.Relu, Initializer.Identity(1.5), Clipping.ByGlobalNorm(1e-9));
        health.Verdict.Should().Be(GradientVerdict.Exploding, health.ToString());
        health.ClippingSaturated.Should().BeTrue();
    }

    [Fact]
    public void Power_iteration_finds_the_spectral_radius()
    {
        GradientHealth.EstimateSpectralRadius(Matrix<T>.Build.DenseIdentity(5)).Should().BeApproximately(1, 1e-12);
        GradientHealth.EstimateSpectralRadius(Matrix<T>.Build.DenseOfDiagonalArray([T.CreateTruncating(0.5), T.CreateTruncating(-2.0), T.One])).Should().BeApproximately(2, 1e-6);

        // A rotation scaled by 0.9: a complex pair 0.9·e^{±iθ}, where the plain power method would never settle.
        double c = 0.9 * Math.Cos(1), s = 0.9 * Math.Sin(1);
        Matrix<T> rotation = Matrix<T>.Build.DenseOfArray(new[,] { { T.CreateTruncating(c), T.CreateTruncating(-s) }, { T.CreateTruncating(s), T.CreateTruncating(c) } });
        GradientHealth.EstimateSpectralRadius(rotation).Should().BeApproximately(0.9, 1e-5);
        GradientHealth.EstimateSpectralRadius(Matrix<T>.Build.Dense(3, 3)).Should().Be(0);
        ((Action)(() => GradientHealth.EstimateSpectralRadius(Matrix<T>.Build.Dense(2, 3)))).Should().Throw<ArgumentException>().WithParameterName("matrix");
    }

    [Fact]
    public void Health_is_in_the_history_and_in_the_epoch_end_progress()
    {
        var reports = new List<TrainingProgress>();
        var random = new Random(3);
        var trainer = new Trainer<T>(new RecurrentLayer<T>(2, 4, 3, seed: 1), new SgdOptimizer<T>(0.1), new TrainerOptions { Epochs = 2 });
        History history = trainer.Fit(TrainingData.Classes<T>(random, 2, 3, [4, 5, 3]), null, new SyncProgress<TrainingProgress>(reports.Add));
        reports.Where(r => r.IsEpochEnd).Select(r => r.Health).Should().Equal(history.Epochs.Select(e => e.Health));
    }

    /// <summary>One epoch of one batch with a learning rate too small to change anything: the health of the initial network.</summary>
    private static GradientHealth OneEpoch(HiddenActivation activation, Initializer wh, Clipping clipping)
    {
        var layer = new RecurrentLayer<T>(3, 6, 2, activation, OutputActivation.Identity);
        new LayerInitialization { Wx = Initializer.Uniform(0.1, 0.5), Wh = wh, Wy = Initializer.Uniform(-1, 1), Bh = Initializer.Uniform(0.05, 0.1) }.Apply(layer, 7);
        var random = new Random(5);
        var data = new SequenceDataset<T>(Enumerable.Range(0, 4).Select(_ => Sequence<T>.WithValues(
            Enumerable.Range(0, Steps).Select(_ => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(3, _ => T.CreateTruncating(random.NextDouble()))).ToList(),
            [MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(2, _ => T.CreateTruncating(random.NextDouble()))])));
        var trainer = new Trainer<T>(layer, new SgdOptimizer<T>(1e-30), new TrainerOptions
        {
            Epochs = 1, BatchSize = 4, Placement = LossPlacement.LastStep, Clipping = clipping,
        });
        return trainer.Fit(data).Epochs[0].Health;
    }
}

public sealed class GradientHealthTestsDouble : GradientHealthTests<double>;

public sealed class GradientHealthTestsSingle : GradientHealthTests<float>;
