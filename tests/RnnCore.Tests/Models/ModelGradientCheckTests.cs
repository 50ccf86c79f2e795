using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;

namespace RnnCore.Tests.Models;

/// <summary>
/// <see cref="Bptt{T}"/> against central finite differences of the loss in double, for every parameter
/// element and every element of h_0 and c_0: every cell × {1, 2} layers × {uni, bi} × every output × placement, padded
/// batches, and dropout with a fixed mask.
/// </summary>
/// <remarks>
/// The fourth-order difference (−L(θ+2ε) + 8L(θ+ε) − 8L(θ−ε) + L(θ−2ε)) / 12ε with ε = 1e-4 has truncation and rounding
/// errors near 1e-12 in double. Errors are measured as <see cref="GradientCheck"/> does: relative to the largest magnitude
/// in the same tensor, with a floor of 1e-4 of the largest gradient over all tensors (a tensor whose gradients all but
/// vanish is resolved only to the loss's rounding noise). The vanilla cell is checked with tanh everywhere and with ReLU in
/// three shapes: ReLU's kinks make finite differences meaningless where a unit switches, so ReLU elements whose difference at ε and at ε/100 disagree are
/// skipped and counted (at most a tenth of them).
/// </remarks>
public sealed class ModelGradientCheckTests
{
    private const double Epsilon = 1e-4;

    public static TheoryData<RecurrentCellKind, int, bool, OutputActivation, LossPlacement> Configurations()
    {
        var data = new TheoryData<RecurrentCellKind, int, bool, OutputActivation, LossPlacement>();
        foreach (RecurrentCellKind cell in Enum.GetValues<RecurrentCellKind>())
        {
            foreach (int layers in new[] { 1, 2 })
            {
                foreach (bool bidirectional in new[] { false, true })
                {
                    foreach (OutputActivation output in Enum.GetValues<OutputActivation>())
                    {
                        foreach (LossPlacement placement in Enum.GetValues<LossPlacement>())
                        {
                            data.Add(cell, layers, bidirectional, output, placement);
                        }
                    }
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Bptt_matches_central_differences(RecurrentCellKind cell, int layers, bool bidirectional, OutputActivation output, LossPlacement placement)
    {
        int seed = ((int)cell * 100) + (layers * 10) + (bidirectional ? 5 : 0) + ((int)output * 2) + (int)placement;
        LossReduction reduction = seed % 2 == 0 ? LossReduction.Sum : LossReduction.Mean;
        double worst = Check(ModelProblems.Options(cell, layers, bidirectional, output, seed: seed), placement, reduction, steps: 4, batch: 2, lengths: null, dropout: false, seed);
        worst.Should().BeLessThan(1e-6);
    }

    [Theory]
    [InlineData(RecurrentCellKind.Vanilla, false, LossPlacement.EveryStep)]
    [InlineData(RecurrentCellKind.Lstm, true, LossPlacement.EveryStep)]
    [InlineData(RecurrentCellKind.Lstm, true, LossPlacement.LastStep)]
    [InlineData(RecurrentCellKind.Gru, true, LossPlacement.EveryStep)]
    [InlineData(RecurrentCellKind.Gru, false, LossPlacement.LastStep)]
    public void Padded_batches_match_central_differences(RecurrentCellKind cell, bool bidirectional, LossPlacement placement)
    {
        RecurrentModelOptions options = ModelProblems.Options(cell, 2, bidirectional, OutputActivation.Softmax, seed: 7);
        double worst = Check(options, placement, LossReduction.Mean, steps: 5, batch: 3, lengths: [5, 2, 3], dropout: false, seed: 7);
        worst.Should().BeLessThan(1e-6);
    }

    [Theory]
    [InlineData(RecurrentCellKind.Lstm, false)]
    [InlineData(RecurrentCellKind.Gru, true)]
    [InlineData(RecurrentCellKind.Vanilla, true)]
    public void Dropout_with_a_fixed_mask_matches_central_differences(RecurrentCellKind cell, bool bidirectional)
    {
        RecurrentModelOptions options = ModelProblems.Options(cell, 3, bidirectional, OutputActivation.Identity, dropout: 0.4, seed: 11);
        double worst = Check(options, LossPlacement.EveryStep, LossReduction.Sum, steps: 4, batch: 2, lengths: null, dropout: true, seed: 11);
        worst.Should().BeLessThan(1e-6);
    }

    [Theory]
    [InlineData(RecurrentCellKind.Lstm)]
    [InlineData(RecurrentCellKind.Gru)]
    [InlineData(RecurrentCellKind.Vanilla)]
    public void A_hidden_size_wider_than_a_vector_matches_central_differences(RecurrentCellKind cell)
    {
        // H = 9 runs the cells' vectorized loops (4 or 8 lanes) and their scalar tails.
        RecurrentModelOptions options = ModelProblems.Options(cell, 1, true, OutputActivation.Sigmoid, inputSize: 2, hiddenSize: 9, outputSize: 2, seed: 13);
        double worst = Check(options, LossPlacement.EveryStep, LossReduction.Mean, steps: 3, batch: 2, lengths: [3, 2], dropout: false, seed: 13);
        worst.Should().BeLessThan(1e-6);
    }

    [Theory]
    [InlineData(1, false, LossPlacement.EveryStep)]
    [InlineData(2, true, LossPlacement.EveryStep)]
    [InlineData(2, true, LossPlacement.LastStep)]
    public void The_relu_vanilla_cell_matches_central_differences_away_from_kinks(int layers, bool bidirectional, LossPlacement placement)
    {
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Vanilla, layers, bidirectional, OutputActivation.Softmax, seed: 17)
            with { HiddenActivation = HiddenActivation.Relu };
        double worst = Check(options, placement, LossReduction.Sum, steps: 4, batch: 2, lengths: null, dropout: false, seed: 17);
        worst.Should().BeLessThan(1e-6);
    }

    [Theory]
    [InlineData(1, false, OutputActivation.Softmax, LossPlacement.EveryStep)]
    [InlineData(1, true, OutputActivation.Identity, LossPlacement.LastStep)]
    [InlineData(2, false, OutputActivation.Sigmoid, LossPlacement.EveryStep)]
    [InlineData(2, true, OutputActivation.Softmax, LossPlacement.EveryStep)]
    [InlineData(2, true, OutputActivation.Identity, LossPlacement.LastStep)]
    public void The_lstm_with_projections_matches_central_differences(int layers, bool bidirectional, OutputActivation output, LossPlacement placement)
    {
        // H = 4, P = 2: W_hr (P x H) per layer-direction, h_0 of P values, c_0 of H, layer 1 and the head read D·P values.
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Lstm, layers, bidirectional, output, hiddenSize: 4, seed: 19 + layers)
            with { ProjectionSize = 2 };
        double worst = Check(options, placement, layers == 1 ? LossReduction.Sum : LossReduction.Mean, steps: 4, batch: 2, lengths: null, dropout: false, seed: 19);
        worst.Should().BeLessThan(1e-6);
    }

    [Theory]
    [InlineData(false, LossPlacement.EveryStep)]
    [InlineData(true, LossPlacement.LastStep)]
    public void The_lstm_with_projections_matches_central_differences_on_padded_batches(bool bidirectional, LossPlacement placement)
    {
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Lstm, 2, bidirectional, OutputActivation.Softmax, hiddenSize: 4, seed: 23)
            with { ProjectionSize = 3 };
        double worst = Check(options, placement, LossReduction.Mean, steps: 5, batch: 3, lengths: [5, 2, 3], dropout: false, seed: 23);
        worst.Should().BeLessThan(1e-6);
    }

    [Fact]
    public void The_lstm_with_projections_matches_central_differences_with_dropout_and_wide_vectors()
    {
        // H = 9, P = 5: the LSTM's vectorized loops and tails, and projection columns longer than one vector of 4 doubles.
        RecurrentModelOptions options = ModelProblems.Options(
            RecurrentCellKind.Lstm, 3, true, OutputActivation.Identity, inputSize: 2, hiddenSize: 9, outputSize: 2, dropout: 0.4, seed: 29)
            with { ProjectionSize = 5 };
        double worst = Check(options, LossPlacement.EveryStep, LossReduction.Sum, steps: 3, batch: 2, lengths: null, dropout: true, seed: 29);
        worst.Should().BeLessThan(1e-6);
    }

    [Fact]
    public void A_wrong_projection_gradient_is_caught()
    {
        // The check can fail for the new tensor too: one element of dW_hr changed by 1e-3 of its tensor's scale.
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Lstm, 1, false, OutputActivation.Softmax, hiddenSize: 4, seed: 31)
            with { ProjectionSize = 2 };
        double worst = Check(options, LossPlacement.EveryStep, LossReduction.Sum, 4, 2, null, false, 31, tamper: g =>
        {
            Span<double> projection = g.ParameterGradients[4];
            double scale = projection.ToArray().Max(Math.Abs);
            projection[3] += 1e-3 * scale;
        });
        worst.Should().BeGreaterThan(1e-4);
    }

    [Fact]
    public void A_wrong_gradient_is_caught()
    {
        // The check must be able to fail: one gradient element changed by 1e-3 of its tensor's scale.
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Gru, 1, false, OutputActivation.Softmax, seed: 3);
        double worst = Check(options, LossPlacement.EveryStep, LossReduction.Sum, 4, 2, null, false, 3, tamper: g =>
        {
            Span<double> bias = g.ParameterGradients[3];
            double scale = bias.ToArray().Max(Math.Abs);
            bias[2 * 3] += 1e-3 * scale; // b_hn: the bias inside the reset product
        });
        worst.Should().BeGreaterThan(1e-4);
    }

    /// <summary>The worst relative error over every parameter tensor, h_0 and c_0.</summary>
    private static double Check(
        RecurrentModelOptions options, LossPlacement placement, LossReduction reduction, int steps, int batch, int[]? lengths, bool dropout, int seed,
        Action<RecurrentGradients<double>>? tamper = null)
    {
        var random = new Random(seed);
        var model = new RecurrentModel<double>(options);
        List<Matrix<double>> inputs = TestUtilities.RandomProblems.Inputs<double>(random, options.InputSize, steps, batch);
        List<Matrix<double>> h0 = ModelProblems.States(random, model, batch);
        List<Matrix<double>>? c0 = options.Cell == RecurrentCellKind.Lstm ? ModelProblems.States(random, model, batch, cell: true) : null;
        SequenceTargets<double> targets = ModelProblems.Targets(random, model, steps, batch, placement);
        var bptt = new Bptt<double>(model, placement, reduction);
        ForwardCache<double> cache = model.CreateCache(steps, batch);
        model.Forward(inputs, cache, h0, c0, lengths, training: dropout);
        if (dropout)
        {
            cache.DropoutApplied.Should().BeTrue();
            cache.DropoutMasks[0].Should().Contain(0.0, "some units are dropped").And.Contain(1 / 0.6, "some are kept and scaled");
        }

        RecurrentGradients<double> gradients = bptt.Backward(cache, targets);
        tamper?.Invoke(gradients);

        int skipped = 0;

        // Perturb in place and rerun the forward pass proper on the same cache (same inputs, states block 0 and masks).
        double LossAt()
        {
            model.ForwardCore(cache, dropout);
            return bptt.Loss(cache, targets);
        }

        double Numeric(Memory<double> values, int i)
        {
            double original = values.Span[i];
            double Shifted(double by)
            {
                values.Span[i] = original + by;
                return LossAt();
            }

            double plus2 = Shifted(2 * Epsilon), plus1 = Shifted(Epsilon), minus1 = Shifted(-Epsilon), minus2 = Shifted(-2 * Epsilon);
            double fourPoint = (-plus2 + (8 * plus1) - (8 * minus1) + minus2) / (12 * Epsilon);
            if (options.HiddenActivation == HiddenActivation.Relu && options.Cell == RecurrentCellKind.Vanilla)
            {
                // A ReLU switching within ±2ε puts a kink in the loss, where no finite difference means anything: the
                // element is retried at ε/100 and, when the two still disagree, skipped (counted, never averaged in).
                double small = Epsilon / 100;
                double twoPoint = (Shifted(small) - Shifted(-small)) / (2 * small);
                if (Math.Abs(twoPoint - fourPoint) > 1e-7 * Math.Max(1, Math.Abs(fourPoint)))
                {
                    fourPoint = double.NaN;
                    skipped++;
                }
            }

            values.Span[i] = original;
            return fourPoint;
        }

        var tensors = new List<(string Name, double[] Analytic, double[] Numeric)>();
        for (int p = 0; p < model.Parameters.Count; p++)
        {
            Memory<double> values = model.Parameters.Memory(p);
            double[] numeric = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                numeric[i] = Numeric(values, i);
            }

            tensors.Add((model.Parameters.GetName(p), gradients.ParameterGradients[p].ToArray(), numeric));
        }

        for (int ld = 0; ld < model.Layers * model.Directions; ld++)
        {
            tensors.Add(($"h0[{ld}]", gradients.InitialHiddenData[ld], NumericState(cache.Hiddens[ld])));
            if (c0 is not null)
            {
                tensors.Add(($"c0[{ld}]", gradients.InitialCellData[ld], NumericState(cache.Cells[ld])));
            }
        }

        double[] NumericState(double[] slab)
        {
            int length = cache.SlabRows(slab) * batch; // h: the size of h (P with projections); c: H
            double[] numeric = new double[length];
            for (int i = 0; i < length; i++)
            {
                numeric[i] = Numeric(slab, i);
            }

            return numeric;
        }

        double global = tensors.Max(t => t.Analytic.Max(Math.Abs));
        global.Should().BeGreaterThan(0);
        double worst = 0;
        var report = new System.Text.StringBuilder();
        foreach ((string name, double[] analytic, double[] numeric) in tensors)
        {
            double scale = Math.Max(analytic.Max(Math.Abs), GradientCheck.GlobalFloor * global);
            double error = analytic.Zip(numeric, (a, n) => double.IsNaN(n) ? 0 : Math.Abs(a - n)).Max() / scale;
            report.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"{name}: {error:E2}");
            worst = Math.Max(worst, error);
        }

        int elements = tensors.Sum(t => t.Numeric.Length);
        skipped.Should().BeLessThanOrEqualTo(Math.Max(1, elements / 10), "if most elements sat on kinks the check would prove nothing");
        if (tamper is null && worst >= 1e-6)
        {
            throw new Xunit.Sdk.XunitException($"worst relative error {worst:E2} ≥ 1e-6\n{report}");
        }

        return worst;
    }
}
