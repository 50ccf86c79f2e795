using System.Numerics;
using RnnCore.Optimizers;

namespace RnnCore.Tests.Optimizers;

/// <summary>
/// Every optimizer and option against PyTorch's own torch.optim trajectory (optimizer-vectors.json): six steps,
/// three tensors of different lengths, gradients changing per step, and the learning rate changed between steps where
/// the case has a schedule.
/// </summary>
public abstract class OptimizerTrajectoryTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static TheoryData<string> CaseNames => new(OptimizerVectors.Optimizers.Select(c => c.Name));

    /// <summary>Largest error allowed, relative to the largest magnitude in each tensor.</summary>
    protected abstract double Tolerance { get; }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Trajectory_matches_pytorch(string name)
    {
        OptimizerCase @case = OptimizerVectors.Optimizer(name);
        OptimizerBase<T> optimizer = @case.Create<T>();
        TensorSet<T> parameters = Tensors.Create<T>(@case.Names, @case.Initial);
        TensorSet<T> gradients = Tensors.Create<T>(@case.Names, @case.Initial);

        for (int step = 0; step < @case.Gradients.Length; step++)
        {
            Tensors.Fill(gradients, @case.Gradients[step]);
            optimizer.LearningRate = @case.LearningRates[step];
            optimizer.Step(parameters, gradients);

            optimizer.StepCount.Should().Be(step + 1);
            Tensors.ShouldMatch(parameters, @case.Expected[step], Tolerance, $"{name}, after step {step + 1}");
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Reset_replays_the_same_trajectory(string name)
    {
        OptimizerCase @case = OptimizerVectors.Optimizer(name);
        OptimizerBase<T> optimizer = @case.Create<T>();
        TensorSet<T> gradients = Tensors.Create<T>(@case.Names, @case.Initial);

        double[][] firstRun = Run();
        optimizer.Reset();
        optimizer.StepCount.Should().Be(0);
        double[][] secondRun = Run();

        secondRun.Should().BeEquivalentTo(firstRun, options => options.WithStrictOrdering());

        double[][] Run()
        {
            TensorSet<T> parameters = Tensors.Create<T>(@case.Names, @case.Initial);
            for (int step = 0; step < @case.Gradients.Length; step++)
            {
                Tensors.Fill(gradients, @case.Gradients[step]);
                optimizer.LearningRate = @case.LearningRates[step];
                optimizer.Step(parameters, gradients);
            }

            return Tensors.Snapshot(parameters);
        }
    }
}

public sealed class OptimizerTrajectoryTestsDouble : OptimizerTrajectoryTests<double>
{
    protected override double Tolerance => 1e-12;
}

public sealed class OptimizerTrajectoryTestsSingle : OptimizerTrajectoryTests<float>
{
    protected override double Tolerance => 1e-6;
}
