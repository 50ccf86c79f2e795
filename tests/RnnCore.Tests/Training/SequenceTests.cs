using MathNet.Numerics.LinearAlgebra;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

public sealed class SequenceTests
{
    private static Vector<double> V(params double[] values) => Vector<double>.Build.Dense(values);

    [Fact]
    public void A_sequence_copies_its_data_and_knows_its_shape()
    {
        List<Vector<double>> inputs = [V(1, 2), V(3, 4), V(5, 6)];
        Sequence<double> s = Sequence<double>.WithClasses(inputs, [2]);
        inputs[0][0] = 99;
        (s.Length, s.InputSize, s.IsClasses, s.TargetSteps, s.TargetSize).Should().Be((3, 2, true, 1, 0));
        s.Inputs.Should().Equal(1, 2, 3, 4, 5, 6);
        Sequence<double>.WithValues(inputs, [V(1), V(2), V(3)]).TargetSize.Should().Be(1);
    }

    [Fact]
    public void Bad_sequences_and_datasets_are_refused()
    {
        ((Action)(() => Sequence<double>.WithClasses([], [0]))).Should().Throw<ArgumentException>().WithParameterName("inputs").WithMessage("inputs is empty*");
        ((Action)(() => Sequence<double>.WithClasses([V(1, 2), V(1)], [0]))).Should().Throw<ArgumentException>().WithParameterName("inputs").WithMessage("inputs[1] has length 1*");
        ((Action)(() => Sequence<double>.WithClasses([V(1, double.NaN)], [0]))).Should().Throw<ArgumentException>().WithParameterName("inputs").WithMessage("*NaN*");
        ((Action)(() => Sequence<double>.WithClasses([V(1), V(2), V(3)], [0, 1]))).Should().Throw<ArgumentException>().WithParameterName("classes").WithMessage("classes has 2 targets but the sequence has 3 steps*");
        ((Action)(() => Sequence<double>.WithClasses([V(1)], [-1]))).Should().Throw<ArgumentException>().WithParameterName("classes");
        ((Action)(() => Sequence<double>.WithValues([V(1)], [V(double.PositiveInfinity)]))).Should().Throw<ArgumentException>().WithParameterName("values");
        ((Action)(() => _ = new SequenceDataset<double>([]))).Should().Throw<ArgumentException>().WithParameterName("sequences");
        ((Action)(() => _ = new SequenceDataset<double>([Sequence<double>.WithClasses([V(1)], [0]), Sequence<double>.WithClasses([V(1, 2)], [0])])))
            .Should().Throw<ArgumentException>().WithParameterName("sequences").WithMessage("sequences[1] has input size 2 and class targets, but sequences[0] has input size 1*");
    }
}
