using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests;

/// <summary>BPTT against central finite differences in double, over every activation × output × placement × reduction.</summary>
public sealed class GradientCheckTests
{
    public static TheoryData<HiddenActivation, OutputActivation, LossPlacement, LossReduction, int> Configurations()
    {
        var data = new TheoryData<HiddenActivation, OutputActivation, LossPlacement, LossReduction, int>();
        foreach (HiddenActivation hidden in Enum.GetValues<HiddenActivation>())
        {
            foreach (OutputActivation output in Enum.GetValues<OutputActivation>())
            {
                foreach (LossPlacement placement in Enum.GetValues<LossPlacement>())
                {
                    foreach (LossReduction reduction in Enum.GetValues<LossReduction>())
                    {
                        for (int seed = 1; seed <= 3; seed++)
                        {
                            data.Add(hidden, output, placement, reduction, seed);
                        }
                    }
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Bptt_matches_central_differences(
        HiddenActivation hidden, OutputActivation output, LossPlacement placement, LossReduction reduction, int seed)
    {
        // Random shapes from the seed: every size from 1 up, so degenerate edges (I = 1, B = 1, T = 1) are covered too.
        var random = new Random(seed * 7919 + ((int)hidden * 100) + ((int)output * 10) + ((int)placement * 3) + (int)reduction);
        int inputSize = random.Next(1, 6), hiddenSize = random.Next(1, 8), outputSize = random.Next(2, 5);
        int steps = random.Next(1, 7), batch = random.Next(1, 4);
        var layer = new RecurrentLayer<double>(inputSize, hiddenSize, outputSize, hidden, output, seed);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, inputSize, steps, batch);
        Matrix<double> h0 = RandomProblems.Hidden<double>(random, hiddenSize, batch);
        SequenceTargets<double> targets = RandomProblems.Targets(random, layer, steps, batch, placement);

        GradientCheckResult result = GradientCheck.Run(layer, inputs, targets, placement, reduction, [h0]);

        result.WorstRelativeError.Should().BeLessThan(1e-6, $"(I={inputSize}, H={hiddenSize}, O={outputSize}, T={steps}, B={batch})\n{result}");
        foreach (GradientCheckEntry entry in result.Entries)
        {
            // Kinks are rare (a ReLU within ε of zero); if most elements were skipped the check would prove nothing.
            entry.SkippedAtKinks.Should().BeLessThanOrEqualTo(Math.Max(1, entry.Count / 10), entry.Name);
            entry.Count.Should().BeGreaterThan(0, entry.Name);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void A_wrong_gradient_element_is_caught(int tensor)
    {
        // The check must be able to fail: change one element of one analytic gradient by 1e-4 of that tensor's scale.
        var random = new Random(5);
        var layer = new RecurrentLayer<double>(3, 4, 2, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 9);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 3, 5, 2);
        SequenceTargets<double> targets = RandomProblems.Targets(random, layer, 5, 2, LossPlacement.EveryStep);

        GradientCheckResult result = GradientCheck.Run(
            layer, inputs, targets, LossPlacement.EveryStep, LossReduction.Sum, null, 1e-4, tamper: gradients =>
            {
                Span<double> values = gradients.ParameterGradients[tensor];
                double scale = 0;
                foreach (double v in values)
                {
                    scale = Math.Max(scale, Math.Abs(v));
                }

                values[values.Length - 1] += 1e-4 * scale;
            });

        string name = layer.Parameters.GetName(tensor);
        result[name].WorstRelativeError.Should().BeGreaterThan(5e-5, result.ToString());
        result.Entries.Where(e => e.Name != name).Should().OnlyContain(e => e.WorstRelativeError < 1e-6, result.ToString());
    }

    [Fact]
    public void A_float_layer_is_checked_through_a_double_copy()
    {
        var random = new Random(11);
        var layer = new RecurrentLayer<float>(4, 5, 3, HiddenActivation.Tanh, OutputActivation.Sigmoid, seed: 3);
        List<Matrix<float>> inputs = RandomProblems.Inputs<float>(random, 4, 4, 2);
        SequenceTargets<float> targets = RandomProblems.Targets(random, layer, 4, 2, LossPlacement.EveryStep);

        GradientCheckResult result = GradientCheck.Run(layer, inputs, targets, LossPlacement.EveryStep, LossReduction.Mean);

        result.WorstRelativeError.Should().BeLessThan(1e-6, result.ToString());
        result.Entries.Select(e => e.Name).Should().Equal("Wx", "Wh", "Wy", "Bh", "By", "h0");
    }

    [Fact]
    public void Epsilon_must_be_positive()
    {
        var layer = new RecurrentLayer<double>(1, 1, 2);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(new Random(1), 1, 1, 1);
        Action act = () => GradientCheck.Run(layer, inputs, SequenceTargets<double>.FromClassSequence([0]), epsilon: 0);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("epsilon");
    }
}
