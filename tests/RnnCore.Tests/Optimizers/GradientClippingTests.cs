using System.Numerics;
using RnnCore.Optimizers;

namespace RnnCore.Tests.Optimizers;

/// <summary>
/// <see cref="GradientClipping"/> and <see cref="Clipping"/> against PyTorch's clip_grad_norm_ / clip_grad_value_
/// (optimizer-vectors.json), plus exact cases: coef ≥ 1 leaves gradients bit-identical, the norm returned is the one
/// before clipping, every mode reports it.
/// </summary>
public abstract class GradientClippingTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static TheoryData<string> CaseNames => new(OptimizerVectors.Clipping.Select(c => c.Name));

    /// <summary>Largest error allowed, relative to the largest magnitude in each tensor.</summary>
    protected abstract double Tolerance { get; }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void GradientClipping_matches_pytorch(string name)
    {
        ClippingCase @case = OptimizerVectors.Clip(name);
        TensorSet<T> gradients = Tensors.Create<T>(@case.Names, @case.Gradients);

        if (@case.Mode == "norm")
        {
            double norm = GradientClipping.ClipByGlobalNorm(gradients, @case.Threshold);
            norm.Should().BeApproximately(@case.ExpectedNorm, Tolerance * @case.ExpectedNorm);
        }
        else
        {
            GradientClipping.ClipByValue(gradients, @case.Threshold);
        }

        Tensors.ShouldMatch(gradients, @case.Expected, Tolerance, name);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Clipping_Apply_matches_pytorch_and_returns_the_norm_before_clipping(string name)
    {
        ClippingCase @case = OptimizerVectors.Clip(name);
        TensorSet<T> gradients = Tensors.Create<T>(@case.Names, @case.Gradients);
        double normBefore = gradients.L2Norm();
        Clipping clipping = @case.Mode == "norm" ? Clipping.ByGlobalNorm(@case.Threshold) : Clipping.ByValue(@case.Threshold);

        double norm = clipping.Apply(gradients);

        norm.Should().Be(normBefore);
        Tensors.ShouldMatch(gradients, @case.Expected, Tolerance, name);
    }

    [Fact]
    public void ClipByGlobalNorm_below_the_maximum_leaves_gradients_bit_identical()
    {
        // Global norm sqrt(9 + 16) = 5 exactly; coef = 10 / (5 + 1e-6) > 1.
        TensorSet<T> gradients = Tensors.Create<T>(["a", "b"], [[3.0], [0.0, -4.0]]);
        T[][] before = Raw(gradients);

        double norm = GradientClipping.ClipByGlobalNorm(gradients, 10);

        norm.Should().Be(5);
        Raw(gradients).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }

    [Fact]
    public void ClipByGlobalNorm_at_exactly_the_maximum_still_scales_by_coef_below_one()
    {
        // PyTorch's 1e-6 makes coef = 5 / (5 + 1e-6) < 1 even when the norm equals max_norm.
        TensorSet<T> gradients = Tensors.Create<T>(["a", "b"], [[3.0], [0.0, -4.0]]);
        T coef = T.CreateTruncating(5 / (5 + 1e-6));

        double norm = GradientClipping.ClipByGlobalNorm(gradients, 5);

        norm.Should().Be(5);
        gradients[0][0].Should().Be(T.CreateTruncating(3.0) * coef);
        gradients[1][0].Should().Be(T.Zero);
        gradients[1][1].Should().Be(T.CreateTruncating(-4.0) * coef);
    }

    [Fact]
    public void ClipByGlobalNorm_scales_the_global_norm_down_to_the_maximum()
    {
        TensorSet<T> gradients = Tensors.Create<T>(["a", "b"], [[30.0, -10.0], [0.5, -40.0, 7.0]]);
        double normBefore = gradients.L2Norm();

        double norm = GradientClipping.ClipByGlobalNorm(gradients, 2);

        norm.Should().Be(normBefore);
        gradients.L2Norm().Should().BeApproximately(2 * normBefore / (normBefore + 1e-6), 2 * Tolerance);
    }

    [Fact]
    public void ClipByGlobalNorm_of_zero_gradients_returns_zero_and_changes_nothing()
    {
        TensorSet<T> gradients = Tensors.Create<T>(["a"], [[0.0, 0.0, 0.0]]);

        GradientClipping.ClipByGlobalNorm(gradients, 1).Should().Be(0);

        Raw(gradients)[0].Should().AllSatisfy(x => x.Should().Be(T.Zero));
    }

    [Fact]
    public void ClipByValue_clamps_only_elements_outside_the_range()
    {
        TensorSet<T> gradients = Tensors.Create<T>(["a", "b"], [[-7.5, -0.25, 0.0], [0.5, 0.3, 12.0, double.NaN]]);
        T[][] before = Raw(gradients);
        T v = T.CreateTruncating(0.5);

        GradientClipping.ClipByValue(gradients, 0.5);

        T[][] after = Raw(gradients);
        after[0].Should().Equal(-v, before[0][1], before[0][2]);
        after[1][0].Should().Be(before[1][0]);
        after[1][1].Should().Be(before[1][1]);
        after[1][2].Should().Be(v);
        T.IsNaN(after[1][3]).Should().BeTrue("clamping NaN gives NaN, as in PyTorch");
    }

    [Fact]
    public void Clipping_None_reports_the_norm_and_changes_nothing()
    {
        TensorSet<T> gradients = Tensors.Create<T>(["a", "b"], [[3.0], [0.0, -4.0]]);
        T[][] before = Raw(gradients);

        Clipping.None.Apply(gradients).Should().Be(5);

        Raw(gradients).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }

    [Fact]
    public void Clipping_ByValue_reports_the_norm_before_clipping()
    {
        TensorSet<T> gradients = Tensors.Create<T>(["a", "b"], [[3.0], [0.0, -4.0]]);

        Clipping.ByValue(1).Apply(gradients).Should().Be(5);

        Raw(gradients)[0].Should().Equal(T.One);
        Raw(gradients)[1].Should().Equal(T.Zero, -T.One);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Thresholds_must_be_positive_and_finite(double bad)
    {
        TensorSet<T> gradients = Tensors.Create<T>(["a"], [[100.0, -100.0]]);
        T[][] before = Raw(gradients);

        FluentActions.Invoking(() => GradientClipping.ClipByGlobalNorm(gradients, bad))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("maxNorm must be positive and finite*")
            .Which.ParamName.Should().Be("maxNorm");
        FluentActions.Invoking(() => GradientClipping.ClipByValue(gradients, bad))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("clipValue must be positive and finite*")
            .Which.ParamName.Should().Be("clipValue");
        FluentActions.Invoking(() => Clipping.ByGlobalNorm(bad))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("maxNorm");
        FluentActions.Invoking(() => Clipping.ByValue(bad))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("clipValue");

        Raw(gradients).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }

    [Fact]
    public void Null_gradients_are_refused()
    {
        FluentActions.Invoking(() => GradientClipping.ClipByGlobalNorm<T>(null!, 1))
            .Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("gradients");
        FluentActions.Invoking(() => GradientClipping.ClipByValue<T>(null!, 1))
            .Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("gradients");
        FluentActions.Invoking(() => Clipping.None.Apply<T>(null!))
            .Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("gradients");
    }

    private static T[][] Raw(TensorSet<T> set) => Enumerable.Range(0, set.Count).Select(i => set[i].ToArray()).ToArray();
}

public sealed class GradientClippingTestsDouble : GradientClippingTests<double>
{
    protected override double Tolerance => 1e-12;
}

public sealed class GradientClippingTestsSingle : GradientClippingTests<float>
{
    protected override double Tolerance => 1e-6;
}
