using System.Numerics;
using RnnCore.Optimizers;

namespace RnnCore.Tests.Optimizers;

/// <summary>
/// What every optimizer promises beyond its arithmetic: a refused step changes nothing, the step count, Reset, the
/// learning-rate setter, and a steady-state step that allocates nothing. Each test runs for every optimizer with all
/// its state-carrying options switched on.
/// </summary>
public abstract class OptimizerBehaviourTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly string[] Names = ["Wx", "Wh", "bh"];

    private static readonly double[][] Initial =
    [
        [0.5, -0.25, 1.5, 0.75, -1.0],
        [0.1, 0.2, -0.3],
        [2.0, -2.0],
    ];

    public static TheoryData<string> OptimizerNames => new("sgd", "adagrad", "rmsprop", "adam");

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void StepCount_counts_steps_and_Reset_forgets_everything(string name)
    {
        OptimizerBase<T> optimizer = Create(name);
        TensorSet<T> parameters = Tensors.Create<T>(Names, Initial);
        optimizer.StepCount.Should().Be(0);

        optimizer.Step(parameters, Gradients(0));
        optimizer.Step(parameters, Gradients(1));
        optimizer.StepCount.Should().Be(2);

        optimizer.Reset();
        optimizer.StepCount.Should().Be(0);

        // As if newly constructed: a model of another shape is accepted, and the first step matches a fresh optimizer.
        TensorSet<T> other = Tensors.Create<T>(["W"], [[1.0, 2.0]]);
        TensorSet<T> otherFresh = Tensors.Create<T>(["W"], [[1.0, 2.0]]);
        TensorSet<T> otherGradients = Tensors.Create<T>(["W"], [[0.5, -0.5]]);
        optimizer.Step(other, otherGradients);
        Create(name).Step(otherFresh, otherGradients);
        optimizer.StepCount.Should().Be(1);
        Tensors.Snapshot(other).Should().BeEquivalentTo(Tensors.Snapshot(otherFresh));
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void Step_with_gradients_of_another_shape_throws_and_changes_nothing(string name)
    {
        OptimizerBase<T> optimizer = Create(name);
        TensorSet<T> parameters = Tensors.Create<T>(Names, Initial);
        optimizer.Step(parameters, Gradients(0));
        double[][] before = Tensors.Snapshot(parameters);

        TensorSet<T> tooFew = Tensors.Create<T>(["Wx", "Wh"], [Initial[0], Initial[1]]);
        TensorSet<T> wrongLength = Tensors.Create<T>(Names, [Initial[0], [1.0, 2.0], Initial[2]]);

        FluentActions.Invoking(() => optimizer.Step(parameters, tooFew))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("gradients");
        FluentActions.Invoking(() => optimizer.Step(parameters, wrongLength))
            .Should().Throw<ArgumentException>().WithMessage("*'Wh'*2*3*").Which.ParamName.Should().Be("gradients");

        Tensors.Snapshot(parameters).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
        optimizer.StepCount.Should().Be(1);
        ContinuesLikeAnUndisturbedRun(name, optimizer, parameters);
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void Step_with_another_shape_than_the_state_throws_and_changes_nothing(string name)
    {
        OptimizerBase<T> optimizer = Create(name);
        TensorSet<T> parameters = Tensors.Create<T>(Names, Initial);
        optimizer.Step(parameters, Gradients(0));
        double[][] before = Tensors.Snapshot(parameters);

        // Consistent with each other, but not with the state built on the first step.
        double[][] longer = [Initial[0], Initial[1], [2.0, -2.0, 3.0]];
        TensorSet<T> otherParameters = Tensors.Create<T>(Names, longer);
        TensorSet<T> otherGradients = Tensors.Create<T>(Names, longer);
        double[][] otherBefore = Tensors.Snapshot(otherParameters);
        FluentActions.Invoking(() => optimizer.Step(otherParameters, otherGradients))
            .Should().Throw<ArgumentException>()
            .WithMessage("*'bh'*3*2*Reset*")
            .Which.ParamName.Should().Be("parameters");

        TensorSet<T> fewer = Tensors.Create<T>(["Wx"], [Initial[0]]);
        FluentActions.Invoking(() => optimizer.Step(fewer, Tensors.Create<T>(["Wx"], [Initial[0]])))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("parameters");

        Tensors.Snapshot(otherParameters).Should().BeEquivalentTo(otherBefore, options => options.WithStrictOrdering());
        Tensors.Snapshot(parameters).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
        optimizer.StepCount.Should().Be(1);
        ContinuesLikeAnUndisturbedRun(name, optimizer, parameters);
    }

    [Theory]
    [InlineData("sgd", double.NaN)]
    [InlineData("adagrad", double.PositiveInfinity)]
    [InlineData("rmsprop", double.NegativeInfinity)]
    [InlineData("adam", double.NaN)]
    public void Step_with_a_non_finite_gradient_names_tensor_and_element_and_changes_nothing(string name, double bad)
    {
        OptimizerBase<T> optimizer = Create(name);
        TensorSet<T> parameters = Tensors.Create<T>(Names, Initial);
        optimizer.Step(parameters, Gradients(0));
        double[][] before = Tensors.Snapshot(parameters);

        // The bad value sits in the second tensor: the first tensor must not have been updated either.
        TensorSet<T> gradients = Gradients(1);
        gradients[1][2] = T.CreateTruncating(bad);
        gradients[2][0] = T.NaN;

        FluentActions.Invoking(() => optimizer.Step(parameters, gradients))
            .Should().Throw<ArgumentException>()
            .WithMessage("*gradients[1]*'Wh'*element 2*")
            .Which.ParamName.Should().Be("gradients");

        Tensors.Snapshot(parameters).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
        optimizer.StepCount.Should().Be(1);
        ContinuesLikeAnUndisturbedRun(name, optimizer, parameters);
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void Step_with_null_arguments_throws(string name)
    {
        OptimizerBase<T> optimizer = Create(name);
        TensorSet<T> parameters = Tensors.Create<T>(Names, Initial);

        FluentActions.Invoking(() => optimizer.Step(null!, parameters))
            .Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("parameters");
        FluentActions.Invoking(() => optimizer.Step(parameters, null!))
            .Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("gradients");
        optimizer.StepCount.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void LearningRate_setter_refuses_negative_or_non_finite_values(string name)
    {
        OptimizerBase<T> optimizer = Create(name);
        double original = optimizer.LearningRate;

        foreach (double bad in new[] { -1e-300, -0.1, double.NaN, double.PositiveInfinity })
        {
            FluentActions.Invoking(() => optimizer.LearningRate = bad)
                .Should().Throw<ArgumentOutOfRangeException>()
                .WithMessage("LearningRate must be non-negative and finite*")
                .Which.ActualValue.Should().Be(bad);
            optimizer.LearningRate.Should().Be(original);
        }

        optimizer.LearningRate = 0.125;
        optimizer.LearningRate.Should().Be(0.125);
        optimizer.LearningRate = 0; // PyTorch accepts lr = 0 (a warm-up's first value)
        optimizer.LearningRate.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void Steady_state_step_allocates_nothing(string name)
    {
        OptimizerBase<T> optimizer = Create(name);
        TensorSet<T> parameters = Tensors.Create<T>(Names, Initial);
        TensorSet<T> gradients = Gradients(0);

        // The first step allocates the state; further steps warm up the JIT.
        for (int i = 0; i < 3; i++)
        {
            optimizer.Step(parameters, gradients);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        optimizer.Step(parameters, gradients);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
    }

    /// <summary>Each optimizer with all its state-carrying options on, so that every buffer exists.</summary>
    private static OptimizerBase<T> Create(string name) => name switch
    {
        "sgd" => new SgdOptimizer<T>(0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01),
        "adagrad" => new AdagradOptimizer<T>(0.1, learningRateDecay: 0.1, weightDecay: 0.01, initialAccumulatorValue: 0.1),
        "rmsprop" => new RmsPropOptimizer<T>(0.01, weightDecay: 0.01, momentum: 0.9, centered: true),
        "adam" => new AdamOptimizer<T>(0.01, weightDecay: 0.01, amsGrad: true),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown optimizer"),
    };

    private static TensorSet<T> Gradients(int step) => Tensors.Create<T>(
        Names,
        [
            [0.1 * (step + 1), -0.2, 0.3, -0.4, 0.5 / (step + 1)],
            [1.0, -1.5 * (step + 1), 0.25],
            [-0.05, 0.05 * (step + 1)],
        ]);

    /// <summary>
    /// After a refused step, the next valid step must give exactly what an optimizer that never saw the refused step
    /// gives: the refused step changed no state and did not advance the step count.
    /// </summary>
    private static void ContinuesLikeAnUndisturbedRun(string name, OptimizerBase<T> optimizer, TensorSet<T> parameters)
    {
        OptimizerBase<T> undisturbed = Create(name);
        TensorSet<T> undisturbedParameters = Tensors.Create<T>(Names, Initial);
        undisturbed.Step(undisturbedParameters, Gradients(0));

        optimizer.Step(parameters, Gradients(1));
        undisturbed.Step(undisturbedParameters, Gradients(1));

        optimizer.StepCount.Should().Be(2);
        Tensors.Snapshot(parameters).Should().BeEquivalentTo(
            Tensors.Snapshot(undisturbedParameters), options => options.WithStrictOrdering());
    }
}

public sealed class OptimizerBehaviourTestsDouble : OptimizerBehaviourTests<double>;

public sealed class OptimizerBehaviourTestsSingle : OptimizerBehaviourTests<float>;
