using System.Globalization;
using RnnCore.Optimizers;

namespace RnnCore.Tests.Optimizers;

/// <summary>Constructor validation: every bad option is refused with its argument name, the expected range and the value.</summary>
public sealed class OptimizerValidationTests
{
    private static readonly Dictionary<string, (Func<object> Create, string ParamName, double Value)> Invalid = new()
    {
        ["sgd lr -1e-300"] = (() => new SgdOptimizer<double>(-1e-300), "learningRate", -1e-300),
        ["sgd lr -1"] = (() => new SgdOptimizer<double>(-1), "learningRate", -1),
        ["sgd lr NaN"] = (() => new SgdOptimizer<double>(double.NaN), "learningRate", double.NaN),
        ["sgd lr +inf"] = (() => new SgdOptimizer<double>(double.PositiveInfinity), "learningRate", double.PositiveInfinity),
        ["sgd momentum -0.5"] = (() => new SgdOptimizer<double>(0.1, momentum: -0.5), "momentum", -0.5),
        ["sgd momentum +inf"] = (() => new SgdOptimizer<double>(0.1, momentum: double.PositiveInfinity), "momentum", double.PositiveInfinity),
        ["sgd dampening -0.1"] = (() => new SgdOptimizer<double>(0.1, momentum: 0.9, dampening: -0.1), "dampening", -0.1),
        ["sgd dampening 1.5"] = (() => new SgdOptimizer<double>(0.1, momentum: 0.9, dampening: 1.5), "dampening", 1.5),
        ["sgd weight decay -0.01"] = (() => new SgdOptimizer<double>(0.1, weightDecay: -0.01), "weightDecay", -0.01),
        ["sgd weight decay NaN"] = (() => new SgdOptimizer<double>(0.1, weightDecay: double.NaN), "weightDecay", double.NaN),
        ["adagrad lr -0.01"] = (() => new AdagradOptimizer<double>(-0.01), "learningRate", -0.01),
        ["adagrad lr decay -1"] = (() => new AdagradOptimizer<double>(learningRateDecay: -1), "learningRateDecay", -1),
        ["adagrad weight decay -1"] = (() => new AdagradOptimizer<double>(weightDecay: -1), "weightDecay", -1),
        ["adagrad initial accumulator -0.1"] = (() => new AdagradOptimizer<double>(initialAccumulatorValue: -0.1), "initialAccumulatorValue", -0.1),
        ["adagrad eps -1e-10"] = (() => new AdagradOptimizer<double>(epsilon: -1e-10), "epsilon", -1e-10),
        ["rmsprop lr -0.5"] = (() => new RmsPropOptimizer<double>(-0.5), "learningRate", -0.5),
        ["rmsprop alpha -0.1"] = (() => new RmsPropOptimizer<double>(alpha: -0.1), "alpha", -0.1),
        ["rmsprop alpha 1.5"] = (() => new RmsPropOptimizer<double>(alpha: 1.5), "alpha", 1.5),
        ["rmsprop eps NaN"] = (() => new RmsPropOptimizer<double>(epsilon: double.NaN), "epsilon", double.NaN),
        ["rmsprop weight decay -1"] = (() => new RmsPropOptimizer<double>(weightDecay: -1), "weightDecay", -1),
        ["rmsprop momentum -0.9"] = (() => new RmsPropOptimizer<double>(momentum: -0.9), "momentum", -0.9),
        ["adam lr +inf"] = (() => new AdamOptimizer<double>(double.PositiveInfinity), "learningRate", double.PositiveInfinity),
        ["adam beta1 1"] = (() => new AdamOptimizer<double>(beta1: 1), "beta1", 1),
        ["adam beta1 -0.1"] = (() => new AdamOptimizer<double>(beta1: -0.1), "beta1", -0.1),
        ["adam beta2 1"] = (() => new AdamOptimizer<double>(beta2: 1), "beta2", 1),
        ["adam beta2 NaN"] = (() => new AdamOptimizer<double>(beta2: double.NaN), "beta2", double.NaN),
        ["adam eps -1"] = (() => new AdamOptimizer<double>(epsilon: -1), "epsilon", -1),
        ["adam weight decay -1"] = (() => new AdamOptimizer<double>(weightDecay: -1), "weightDecay", -1),
    };

    public static TheoryData<string> InvalidCases => new(Invalid.Keys);

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Invalid_option_is_refused_naming_argument_range_and_value(string @case)
    {
        (Func<object> create, string paramName, double value) = Invalid[@case];

        ArgumentOutOfRangeException exception = FluentActions.Invoking(create)
            .Should().Throw<ArgumentOutOfRangeException>().Which;

        exception.ParamName.Should().Be(paramName);
        exception.ActualValue.Should().Be(value);
        exception.Message.Should().StartWith($"{paramName} must be ");
        exception.Message.Should().Contain($"but was {value.ToString("R", CultureInfo.InvariantCulture)}.");
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.9, 0.1)]
    public void Nesterov_requires_momentum_and_zero_dampening(double momentum, double dampening)
    {
        FluentActions.Invoking(() => new SgdOptimizer<double>(0.1, momentum: momentum, dampening: dampening, nesterov: true))
            .Should().Throw<ArgumentException>()
            .WithMessage("Nesterov momentum requires a momentum and zero dampening*")
            .Which.ParamName.Should().Be("nesterov");
    }

    [Fact]
    public void Element_types_other_than_float_and_double_are_refused()
    {
        FluentActions.Invoking(() => new SgdOptimizer<Half>(0.1))
            .Should().Throw<NotSupportedException>().WithMessage("*System.Half*");
        FluentActions.Invoking(() => new AdamOptimizer<Half>())
            .Should().Throw<NotSupportedException>().WithMessage("*System.Half*");
    }

    [Fact]
    public void Defaults_are_pytorchs()
    {
        SgdOptimizer<double> sgd = new(0.1);
        (sgd.LearningRate, sgd.Momentum, sgd.Dampening, sgd.Nesterov, sgd.WeightDecay).Should().Be((0.1, 0.0, 0.0, false, 0.0));

        AdagradOptimizer<double> adagrad = new();
        (adagrad.LearningRate, adagrad.LearningRateDecay, adagrad.WeightDecay, adagrad.InitialAccumulatorValue, adagrad.Epsilon)
            .Should().Be((0.01, 0.0, 0.0, 0.0, 1e-10));

        RmsPropOptimizer<double> rmsProp = new();
        (rmsProp.LearningRate, rmsProp.Alpha, rmsProp.Epsilon, rmsProp.WeightDecay, rmsProp.Momentum, rmsProp.Centered)
            .Should().Be((0.01, 0.99, 1e-8, 0.0, 0.0, false));

        AdamOptimizer<double> adam = new();
        (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon, adam.WeightDecay, adam.AmsGrad)
            .Should().Be((0.001, 0.9, 0.999, 1e-8, 0.0, false));
    }

    [Fact]
    public void Options_are_reported_as_given()
    {
        SgdOptimizer<float> sgd = new(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01);
        (sgd.LearningRate, sgd.Momentum, sgd.Dampening, sgd.Nesterov, sgd.WeightDecay).Should().Be((0.1, 0.9, 0.0, true, 0.01));

        RmsPropOptimizer<float> rmsProp = new(0.02, alpha: 0.9, epsilon: 1e-6, weightDecay: 0.1, momentum: 0.5, centered: true);
        (rmsProp.LearningRate, rmsProp.Alpha, rmsProp.Epsilon, rmsProp.WeightDecay, rmsProp.Momentum, rmsProp.Centered)
            .Should().Be((0.02, 0.9, 1e-6, 0.1, 0.5, true));

        AdamOptimizer<float> adam = new(0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.1, amsGrad: true);
        (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon, adam.WeightDecay, adam.AmsGrad)
            .Should().Be((0.01, 0.8, 0.99, 1e-6, 0.1, true));
    }
}
