using System.Buffers.Binary;
using System.Numerics;
using System.Text.Json.Nodes;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Initialization;
using RnnCore.Models;
using RnnCore.Persistence;

namespace RnnCore.Tests.Initialization;

/// <summary>
/// <see cref="ModelInitialization"/> on every cell, stacked and bidirectional: PyTorch's default unchanged bit for bit,
/// orthogonal W_hh per gate block, Glorot-uniform bounds and variance, the LSTM's forget-gate bias as PyTorch reads it
/// from an exported file, seeding and refusals; float and double.
/// </summary>
public abstract class ModelInitializationTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int H = 6;

    public static TheoryData<RecurrentCellKind> Cells => new() { RecurrentCellKind.Vanilla, RecurrentCellKind.Lstm, RecurrentCellKind.Gru };

    private static int Gates(RecurrentCellKind cell) => cell switch { RecurrentCellKind.Lstm => 4, RecurrentCellKind.Gru => 3, _ => 1 };

    [Theory]
    [MemberData(nameof(Cells))]
    public void PyTorchDefault_reproduces_the_constructor_bit_for_bit(RecurrentCellKind cell)
    {
        RecurrentModel<T> expected = Model(cell, seed: 42);
        RecurrentModel<T> model = Model(cell, seed: 1);
        ModelInitialization.PyTorchDefault.Apply(model, 42);
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            model.Parameters[i].ToArray().Should().Equal(expected.Parameters[i].ToArray(), model.Parameters.GetName(i));
        }
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void Keras_makes_every_gate_block_of_W_hh_orthogonal(RecurrentCellKind cell)
    {
        RecurrentModel<T> model = Model(cell, seed: 3);
        ModelInitialization.Keras.Apply(model, 11);
        int gates = Gates(cell);
        foreach (string name in new[] { "rnn.weight_hh_l0", "rnn.weight_hh_l0_reverse", "rnn.weight_hh_l1", "rnn.weight_hh_l1_reverse" })
        {
            Matrix<double> whh = Doubles(model.Parameter(name));
            whh.RowCount.Should().Be(gates * H);
            for (int g = 0; g < gates; g++)
            {
                // QᵀQ = I for the H x H block of gate g (rows g·H..(g+1)·H), to rounding.
                Matrix<double> q = whh.SubMatrix(g * H, H, 0, H);
                double worst = (q.TransposeThisAndMultiply(q) - Matrix<double>.Build.DenseIdentity(H)).Enumerate().Max(Math.Abs);
                worst.Should().BeLessThan(OrthogonalPrecision, $"{name}, gate block {g}");
            }

            if (gates > 1)
            {
                // Each block is drawn on its own: two blocks are different matrices.
                whh.SubMatrix(0, H, 0, H).Should().NotBe(whh.SubMatrix(H, H, 0, H));
            }
        }
    }

    [Fact]
    public void Orthogonal_blocks_are_orthogonal_at_a_realistic_size()
    {
        var model = new RecurrentModel<T>(new RecurrentModelOptions(2, 64, 1) { Cell = RecurrentCellKind.Lstm, OutputActivation = OutputActivation.Identity });
        ModelInitialization.Keras.Apply(model, 7);
        Matrix<double> whh = Doubles(model.Parameter("rnn.weight_hh_l0"));
        for (int g = 0; g < 4; g++)
        {
            Matrix<double> q = whh.SubMatrix(g * 64, 64, 0, 64);
            (q.TransposeThisAndMultiply(q) - Matrix<double>.Build.DenseIdentity(64)).Enumerate().Max(Math.Abs).Should().BeLessThan(OrthogonalPrecision);
            (q.TransposeAndMultiply(q) - Matrix<double>.Build.DenseIdentity(64)).Enumerate().Max(Math.Abs).Should().BeLessThan(OrthogonalPrecision, "a square Q is orthogonal both ways");
        }
    }

    [Fact]
    public void Glorot_uniform_input_and_head_weights_stay_within_their_bounds_and_have_their_variance()
    {
        const int Input = 40, Hidden = 50, Output = 30;
        var model = new RecurrentModel<T>(new RecurrentModelOptions(Input, Hidden, Output) { Cell = RecurrentCellKind.Lstm, Layers = 2, Bidirectional = true });
        ModelInitialization.Keras.Apply(model, 5);

        // W_ih is one matrix of G·H = 200 rows: a = √(6 / (fan_in + fan_out)), fan_out = 200 as Keras' kernel (I x 4H).
        (string Name, int FanIn, int FanOut)[] cases =
        [
            ("rnn.weight_ih_l0", Input, 4 * Hidden), ("rnn.weight_ih_l0_reverse", Input, 4 * Hidden),
            ("rnn.weight_ih_l1", 2 * Hidden, 4 * Hidden), ("head.weight", 2 * Hidden, Output),
        ];
        foreach ((string name, int fanIn, int fanOut) in cases)
        {
            double bound = Math.Sqrt(6.0 / (fanIn + fanOut));
            double rounded = double.CreateTruncating(T.CreateTruncating(bound)); // rounding to T is monotonic: |v| ≤ a stays ≤ T(a)
            double[] values = Doubles(model.Parameter(name)).ToColumnMajorArray();
            values.Should().OnlyContain(v => Math.Abs(v) <= rounded, $"{name} is U(−a, a) with a = {bound}");
            values.Max(Math.Abs).Should().BeGreaterThan(0.98 * bound, $"{values.Length} draws of {name} reach close to the bound");
            double mean = values.Average();
            double variance = values.Sum(v => (v - mean) * (v - mean)) / values.Length;
            mean.Should().BeApproximately(0, 0.05 * bound, name);
            variance.Should().BeApproximately(bound * bound / 3, 0.1 * bound * bound / 3, $"{name}: U(−a, a) has variance a²/3 = 2 / (fan_in + fan_out)");
        }

        Doubles(model.Parameter("head.bias")).Enumerate().Should().OnlyContain(v => v == 0);
    }

    [Fact]
    public void The_LSTM_forget_gate_bias_reads_1_in_the_exported_PyTorch_state_dict()
    {
        RecurrentModel<T> model = Model(RecurrentCellKind.Lstm, seed: 2);
        ModelInitialization.Keras.Apply(model, 9);
        Dictionary<string, double[]> stateDict = ReadSafeTensors(SafeTensors.Serialize(model));
        foreach (string suffix in new[] { "_l0", "_l0_reverse", "_l1", "_l1_reverse" })
        {
            double[] bih = stateDict["rnn.bias_ih" + suffix], bhh = stateDict["rnn.bias_hh" + suffix];
            bih.Should().HaveCount(4 * H);
            for (int r = 0; r < 4 * H; r++)
            {
                // PyTorch's LSTM adds b_ih and b_hh; gate order i, f, g, o: the forget block is rows H..2H.
                double expected = r >= H && r < 2 * H ? 1 : 0;
                (bih[r] + bhh[r]).Should().Be(expected, $"b_ih + b_hh of row {r} of layer{suffix}");
                bhh[r].Should().Be(0, "b_ih carries the whole forget bias, b_hh none");
            }
        }
    }

    [Fact]
    public void The_forget_gate_bias_is_applied_over_drawn_biases_and_ignored_by_cells_without_a_forget_gate()
    {
        RecurrentModel<T> lstm = Model(RecurrentCellKind.Lstm, seed: 2);
        new ModelInitialization { ForgetGateBias = 2.5 }.Apply(lstm, 4);
        Matrix<double> bih = Doubles(lstm.Parameter("rnn.bias_ih_l1")), bhh = Doubles(lstm.Parameter("rnn.bias_hh_l1"));
        for (int r = 0; r < 4 * H; r++)
        {
            if (r >= H && r < 2 * H)
            {
                (bih[r, 0], bhh[r, 0]).Should().Be((2.5, 0.0));
            }
            else
            {
                // The other gates keep PyTorch's U(−1/√H, 1/√H) draws.
                Math.Abs(bih[r, 0]).Should().BeInRange(1e-12, (1 + 1e-6) / Math.Sqrt(H));
            }
        }

        RecurrentModel<T> gru = Model(RecurrentCellKind.Gru, seed: 2), gruDefault = Model(RecurrentCellKind.Gru, seed: 2);
        new ModelInitialization { ForgetGateBias = 1 }.Apply(gru, 4);
        ModelInitialization.PyTorchDefault.Apply(gruDefault, 4);
        for (int i = 0; i < gru.Parameters.Count; i++)
        {
            gru.Parameters[i].ToArray().Should().Equal(gruDefault.Parameters[i].ToArray(), "a GRU has no forget gate");
        }
    }

    [Fact]
    public void Chrono_sets_b_f_to_ln_u_and_b_i_to_minus_b_f_in_b_ih_and_PyTorch_reads_the_same_sums()
    {
        RecurrentModel<T> model = Model(RecurrentCellKind.Lstm, seed: 2);
        ModelInitialization.Chrono(200).Apply(model, 6);
        Dictionary<string, double[]> stateDict = ReadSafeTensors(SafeTensors.Serialize(model));
        double top = double.CreateTruncating(T.CreateTruncating(Math.Log(199)));
        foreach (string suffix in new[] { "_l0", "_l0_reverse", "_l1", "_l1_reverse" })
        {
            double[] bih = stateDict["rnn.bias_ih" + suffix], bhh = stateDict["rnn.bias_hh" + suffix];
            for (int j = 0; j < H; j++)
            {
                double forget = bih[H + j] + bhh[H + j];
                forget.Should().BeInRange(0, top, "b_f = ln u with u in [1, T_max − 1)");
                (bih[j] + bhh[j]).Should().Be(-forget, "b_i = −b_f");
                (bih[(2 * H) + j] + bhh[(2 * H) + j], bih[(3 * H) + j] + bhh[(3 * H) + j]).Should().Be((0.0, 0.0), "g and o keep Keras' zero biases");
            }

            bhh.Should().OnlyContain(v => v == 0);
        }

        // Keras' weights: W_hh's gate blocks orthogonal.
        Matrix<double> whh = Doubles(model.Parameter("rnn.weight_hh_l1"));
        (whh.SubMatrix(H, H, 0, H).TransposeThisAndMultiply(whh.SubMatrix(H, H, 0, H)) - Matrix<double>.Build.DenseIdentity(H))
            .Enumerate().Max(Math.Abs).Should().BeLessThan(OrthogonalPrecision);
    }

    [Fact]
    public void Chrono_forget_gate_biases_are_the_logarithms_of_uniform_draws()
    {
        var model = new RecurrentModel<T>(new RecurrentModelOptions(2, 500, 1) { Cell = RecurrentCellKind.Lstm });
        ModelInitialization.Chrono(101).Apply(model, 3);
        double[] u = Doubles(model.Parameter("rnn.bias_ih_l0")).Column(0).Skip(500).Take(500).Select(Math.Exp).ToArray();
        u.Should().OnlyContain(v => v >= 1 - 1e-5 && v <= 100 * (1 + 1e-5));
        u.Average().Should().BeApproximately(50.5, 6, "U(1, 100) has mean 50.5 (standard error 1.3 for 500 draws)");
        u.Count(v => v < 25.75).Should().BeInRange(75, 175, "a quarter of U(1, 100) lies below 25.75");
    }

    [Fact]
    public void Chrono_and_a_constant_forget_gate_bias_together_are_refused_and_chrono_needs_three_steps()
    {
        RecurrentModel<T> model = Model(RecurrentCellKind.Lstm, seed: 1);
        T[] before = model.Parameters[0].ToArray();
        Action both = () => new ModelInitialization { ForgetGateBias = 1, ChronoMaxSteps = 10 }.Apply(model, 2);
        both.Should().Throw<ArgumentException>().WithParameterName("ChronoMaxSteps").WithMessage("*set one of them*");
        model.Parameters[0].ToArray().Should().Equal(before);
        Action tooShort = () => ModelInitialization.Chrono(2);
        tooShort.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("ChronoMaxSteps");

        RecurrentModel<T> gru = Model(RecurrentCellKind.Gru, seed: 1), keras = Model(RecurrentCellKind.Gru, seed: 1);
        ModelInitialization.Chrono(50).Apply(gru, 4);
        ModelInitialization.Keras.Apply(keras, 4);
        for (int i = 0; i < gru.Parameters.Count; i++)
        {
            gru.Parameters[i].ToArray().Should().Equal(keras.Parameters[i].ToArray(), "a GRU has no forget or input gate: Keras' weights and zero biases");
        }
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void The_same_seed_gives_the_same_weights_and_another_seed_others(RecurrentCellKind cell)
    {
        RecurrentModel<T> a = Model(cell, seed: 1), b = Model(cell, seed: 2), c = Model(cell, seed: 1);
        ModelInitialization.Keras.Apply(a, 42);
        ModelInitialization.Keras.Apply(b, 42);
        ModelInitialization.Keras.Apply(c, 43);
        for (int i = 0; i < a.Parameters.Count; i++)
        {
            a.Parameters[i].ToArray().Should().Equal(b.Parameters[i].ToArray(), "the model's own seed plays no part");
        }

        a.Parameters[0].ToArray().Should().NotEqual(c.Parameters[0].ToArray());
        a.Parameters[1].ToArray().Should().NotEqual(c.Parameters[1].ToArray());
    }

    [Fact]
    public void A_matrix_initializer_for_a_bias_is_refused_and_nothing_changes()
    {
        RecurrentModel<T> model = Model(RecurrentCellKind.Lstm, seed: 1);
        T[][] before = Enumerable.Range(0, model.Parameters.Count).Select(i => model.Parameters[i].ToArray()).ToArray();
        Action act = () => new ModelInitialization { RecurrentBiases = Initializer.Orthogonal() }.Apply(model, 2);
        act.Should().Throw<ArgumentException>().WithParameterName("RecurrentBiases").WithMessage("RecurrentBiases fills bias vectors but Orthogonal(gain 1) needs a matrix*");
        Action nullWeights = () => new ModelInitialization { InputWeights = null! }.Apply(model, 2);
        nullWeights.Should().Throw<ArgumentNullException>().WithParameterName("InputWeights");
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            model.Parameters[i].ToArray().Should().Equal(before[i]);
        }

        Action nan = () => _ = new ModelInitialization { ForgetGateBias = double.NaN };
        nan.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("ForgetGateBias");
    }

    private static double OrthogonalPrecision => typeof(T) == typeof(float) ? 1e-5 : 1e-12;

    private static RecurrentModel<T> Model(RecurrentCellKind cell, int seed) =>
        new(new RecurrentModelOptions(3, H, 2) { Cell = cell, Layers = 2, Bidirectional = true, Seed = seed });

    private static Matrix<double> Doubles(Matrix<T> m) => Matrix<double>.Build.Dense(m.RowCount, m.ColumnCount, (i, j) => double.CreateTruncating(m[i, j]));

    /// <summary>Reads a safetensors file as PyTorch's <c>safetensors.torch.load</c> would: name → values (row-major, as stored).</summary>
    private static Dictionary<string, double[]> ReadSafeTensors(byte[] file)
    {
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        JsonObject header = JsonNode.Parse(file.AsSpan(8, headerLength))!.AsObject();
        var tensors = new Dictionary<string, double[]>();
        foreach ((string name, JsonNode? entry) in header)
        {
            if (name == "__metadata__")
            {
                continue;
            }

            string dtype = (string)entry!["dtype"]!;
            int size = dtype == "F64" ? 8 : 4;
            long begin = (long)entry["data_offsets"]![0]!, end = (long)entry["data_offsets"]![1]!;
            int start = 8 + headerLength + (int)begin;
            tensors[name] = Enumerable.Range(0, (int)(end - begin) / size)
                .Select(i => size == 8
                    ? BinaryPrimitives.ReadDoubleLittleEndian(file.AsSpan(start + (8 * i)))
                    : BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan(start + (4 * i))))
                .ToArray();
        }

        return tensors;
    }
}

public sealed class ModelInitializationTestsDouble : ModelInitializationTests<double>;

public sealed class ModelInitializationTestsSingle : ModelInitializationTests<float>;
