using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests;

/// <summary>
/// Padded batches of variable-length sequences: a mixed-length batch must equal each sequence run alone, at its own
/// length, in the hidden states, the carried state, the loss, every gradient and dL/dh_0.
/// </summary>
public abstract class VariableLengthTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly int[] Lengths = [7, 3, 1, 5];

    public static TheoryData<HiddenActivation, OutputActivation, LossPlacement, LossReduction> Configurations()
    {
        var data = new TheoryData<HiddenActivation, OutputActivation, LossPlacement, LossReduction>();
        foreach (HiddenActivation hidden in Enum.GetValues<HiddenActivation>())
        {
            foreach (OutputActivation output in Enum.GetValues<OutputActivation>())
            {
                foreach (LossPlacement placement in Enum.GetValues<LossPlacement>())
                {
                    foreach (LossReduction reduction in Enum.GetValues<LossReduction>())
                    {
                        data.Add(hidden, output, placement, reduction);
                    }
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void A_mixed_length_batch_equals_each_sequence_alone(
        HiddenActivation hidden, OutputActivation output, LossPlacement placement, LossReduction reduction)
    {
        var random = new Random(11 + (int)hidden + (3 * (int)output) + (7 * (int)placement) + (13 * (int)reduction));
        const int I = 3, H = 5, O = 4, Steps = 7, B = 4;
        var layer = new RecurrentLayer<T>(I, H, O, hidden, output, seed: 21);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, I, Steps, B);
        Matrix<T> h0 = RandomProblems.Hidden<T>(random, H, B);
        SequenceTargets<T> targets = RandomProblems.Targets(random, layer, Steps, B, LossPlacement.EveryStep);

        // Padding must be ignored: fill it with large values that would change every result if they leaked.
        for (int b = 0; b < B; b++)
        {
            for (int t = Lengths[b]; t < Steps; t++)
            {
                for (int i = 0; i < I; i++)
                {
                    inputs[t][i, b] = T.CreateTruncating(1000.0);
                }
            }
        }

        var bptt = new Bptt<T>(layer, placement, reduction);
        ForwardCache<T> cache = layer.CreateCache(Steps, B);
        layer.Forward(inputs, cache, [h0], null, Lengths);
        RecurrentGradients<T> batch = layer.CreateGradients(Steps, B);
        double batchLoss = double.CreateTruncating(bptt.Backward(cache, targets, batch));

        // Mean divides by the real items of the whole batch; each sequence alone is computed with Sum and scaled.
        long items = Lengths.Sum(length => (placement == LossPlacement.EveryStep ? length : 1) * (output == OutputActivation.Softmax ? 1 : O));
        double scale = reduction == LossReduction.Mean ? 1.0 / items : 1.0;
        double summedLoss = 0;
        double[][] summed = Enumerable.Range(0, 5).Select(i => new double[layer.Parameters.GetLength(i)]).ToArray();
        double[] normSquares = new double[Steps];
        var alone = new Bptt<T>(layer, placement, LossReduction.Sum);
        for (int b = 0; b < B; b++)
        {
            int length = Lengths[b];
            List<Matrix<T>> single = inputs.Take(length).Select(m => m.SubMatrix(0, I, b, 1)).ToList();
            ForwardCache<T> own = layer.Forward(single, [h0.SubMatrix(0, H, b, 1)]);
            for (int t = 0; t < Steps; t++)
            {
                // PyTorch's convention: a padded position reads as zeros; the final state is the last real step's.
                MathNet.Numerics.LinearAlgebra.Vector<T> expected = t < length ? own.Hidden(t).Column(0) : MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(H);
                AssertClose($"h t={t} b={b}", expected, cache.Hidden(t).Column(b));
            }

            AssertClose($"final h b={b}", own.FinalHidden(0).Column(0), cache.FinalHidden(0).Column(b));
            SequenceTargets<T> ownTargets = Slice(targets, b, length, output, O);
            RecurrentGradients<T> gradients = alone.Backward(own, ownTargets);
            summedLoss += double.CreateTruncating(gradients.Loss);
            for (int i = 0; i < 5; i++)
            {
                ReadOnlySpan<T> g = gradients.ParameterGradients[i];
                for (int k = 0; k < g.Length; k++)
                {
                    summed[i][k] += double.CreateTruncating(g[k]);
                }
            }

            AssertClose($"dL/dh_0 b={b}", gradients.InitialHidden(0).Column(0).Select(v => double.CreateTruncating(v) * scale).ToArray(), batch.InitialHidden(0).Column(b));
            for (int t = 0; t < length; t++)
            {
                normSquares[t] += gradients.DhNorms(0, 0)[t] * gradients.DhNorms(0, 0)[t] * scale * scale;
            }
        }

        Tolerance.AssertClose("loss", summedLoss * scale, batchLoss, Epsilon);
        for (int i = 0; i < 5; i++)
        {
            Tolerance.AssertClose(layer.Parameters.GetName(i), summed[i].Select(v => v * scale).ToArray(), batch.ParameterGradients[i].ToArray().Select(double.CreateTruncating).ToArray(), Epsilon);
        }

        // ‖dL/dh_t‖ over the batch counts the sequences for which step t is real.
        Tolerance.AssertClose("dh norms", normSquares.Select(Math.Sqrt).ToArray(), batch.DhNorms(0, 0).ToArray(), Epsilon);
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Bptt_on_a_padded_batch_matches_central_differences(
        HiddenActivation hidden, OutputActivation output, LossPlacement placement, LossReduction reduction)
    {
        var random = new Random(31 + (int)hidden + (3 * (int)output) + (7 * (int)placement) + (13 * (int)reduction));
        var layer = new RecurrentLayer<T>(3, 5, 4, hidden, output, seed: 4);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 3, 7, 4);
        Matrix<T> h0 = RandomProblems.Hidden<T>(random, 5, 4);
        SequenceTargets<T> targets = RandomProblems.Targets(random, layer, 7, 4, LossPlacement.EveryStep);

        GradientCheckResult result = GradientCheck.Run(layer, inputs, targets, placement, reduction, [h0], lengths: Lengths);

        result.WorstRelativeError.Should().BeLessThan(1e-6, result.ToString());
    }

    [Fact]
    public void Full_lengths_give_the_results_of_no_lengths_up_to_summation_order()
    {
        var random = new Random(2);
        var layer = new RecurrentLayer<T>(2, 4, 3, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 3);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 2, 5, 3);
        SequenceTargets<T> targets = RandomProblems.Targets(random, layer, 5, 3, LossPlacement.EveryStep);
        var bptt = new Bptt<T>(layer);
        ForwardCache<T> plain = layer.CreateCache(5, 3);
        layer.Forward(inputs, plain);
        ForwardCache<T> masked = layer.CreateCache(5, 3);
        layer.Forward(inputs, masked, null, null, [5, 5, 5]);
        masked.HasLengths.Should().BeTrue();
        plain.HasLengths.Should().BeFalse();
        RecurrentGradients<T> a = bptt.Backward(plain, targets);
        RecurrentGradients<T> b = bptt.Backward(masked, targets);
        // The masked path sums the loss item by item rather than step by step: equal up to the order of the additions.
        Tolerance.AssertClose("loss", double.CreateTruncating(a.Loss), double.CreateTruncating(b.Loss), Epsilon);
        Tolerance.AssertClose("masked against unmasked", a.ParameterGradients, b.ParameterGradients, Epsilon);
    }

    [Fact]
    public void Lengths_are_validated()
    {
        var layer = new RecurrentLayer<T>(2, 3, 2, seed: 1);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(new Random(1), 2, 4, 2);
        ForwardCache<T> cache = layer.CreateCache(4, 2);
        Action zero = () => layer.Forward(inputs, cache, null, null, [0, 4]);
        zero.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("lengths").WithMessage("lengths[0] is 0 but must be in [1, 4]*");
        Action tooLong = () => layer.Forward(inputs, cache, null, null, [4, 5]);
        tooLong.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("lengths");
        Action count = () => layer.Forward(inputs, cache, null, null, [4]);
        count.Should().Throw<ArgumentException>().WithParameterName("lengths").WithMessage("lengths has 1 entries but the batch holds 2*");
    }

    [Fact]
    public void A_padded_steady_state_forward_and_backward_allocate_nothing()
    {
        var random = new Random(9);
        var layer = new RecurrentLayer<T>(4, 8, 3, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 3);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 4, 6, 3);
        SequenceTargets<T> targets = RandomProblems.Targets(random, layer, 6, 3, LossPlacement.EveryStep);
        int[] lengths = [6, 2, 4];
        var bptt = new Bptt<T>(layer);
        ForwardCache<T> cache = layer.CreateCache(6, 3);
        RecurrentGradients<T> gradients = layer.CreateGradients(6, 3);
        Allocations.OfSteadyState(() =>
        {
            layer.Forward(inputs, cache, null, null, lengths);
            bptt.Backward(cache, targets, gradients);
        }).Should().Be(0);
    }

    private static double Epsilon => typeof(T) == typeof(float) ? 2e-5 : 1e-12;

    private static void AssertClose(string label, IEnumerable<T> expected, IEnumerable<T> actual)
        => Tolerance.AssertClose(label, expected.Select(double.CreateTruncating).ToArray(), actual.Select(double.CreateTruncating).ToArray(), Epsilon);

    private static void AssertClose(string label, double[] expected, IEnumerable<T> actual)
        => Tolerance.AssertClose(label, expected, actual.Select(double.CreateTruncating).ToArray(), Epsilon);

    /// <summary>Sequence b's targets alone, for its own length (every step, or its own last step).</summary>
    private static SequenceTargets<T> Slice(SequenceTargets<T> targets, int b, int length, OutputActivation output, int o)
    {
        if (output == OutputActivation.Softmax)
        {
            return SequenceTargets<T>.FromClasses(Enumerable.Range(0, length).Select(t => new[] { targets.ClassesAt(t)[b] }).ToArray());
        }

        return SequenceTargets<T>.FromValues(Enumerable.Range(0, length)
            .Select(t => Matrix<T>.Build.Dense(o, 1, targets.ValuesAt(t).Slice(b * o, o).ToArray()))
            .ToList());
    }
}

public sealed class VariableLengthTestsDouble : VariableLengthTests<double>;

public sealed class VariableLengthTestsSingle : VariableLengthTests<float>;
