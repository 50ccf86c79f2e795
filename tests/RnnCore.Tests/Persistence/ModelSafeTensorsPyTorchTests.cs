using System.Numerics;
using System.Text.Json;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Persistence;
using RnnCore.Tests.TestUtilities;
using Xunit.Abstractions;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// Files written from real PyTorch state_dicts (fixtures/pytorch/make_fixtures.py, PyTorch 1.13): nn.RNN (tanh, relu),
/// nn.LSTM and nn.GRU, one and two layers, uni- and bidirectional, under module names other than RnnCore's (lstm + fc,
/// encoder.gru + decoder), some with padded batches run through pack_padded_sequence. The imported model's forward pass
/// must give PyTorch's outputs, top-layer states and final states: to 1e-9 in double, 1e-5 for the float32 file.
/// </summary>
public sealed class ModelSafeTensorsPyTorchTests(ITestOutputHelper log)
{
    public static TheoryData<string> DoubleCases => new() { "rnn_relu_2layer_bi", "rnn_tanh_1layer", "lstm_2layer_bi_packed", "gru_2layer_bi_nested_packed", "gru_1layer" };

    internal static string Folder => Path.Combine(RepositoryPaths.Root, "tests", "RnnCore.Tests", "Persistence", "fixtures", "pytorch");

    [Theory]
    [MemberData(nameof(DoubleCases))]
    public void A_file_PyTorch_wrote_imports_and_reproduces_PyTorch_outputs_in_double(string name)
    {
        double worst = Check<double>(name, tolerance: 1e-9);
        log.WriteLine($"{name}: worst |PyTorch - RnnCore| = {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(1e-9);
    }

    [Fact]
    public void A_float32_file_PyTorch_wrote_imports_as_float_and_is_refused_as_double()
    {
        double worst = Check<float>("lstm_1layer_float32", tolerance: 1e-5);
        log.WriteLine($"lstm_1layer_float32: worst |PyTorch - RnnCore| = {worst:E2}");
        Action asDouble = () => SafeTensors.Import<double>(Path.Combine(Folder, "lstm_1layer_float32.safetensors"));
        asDouble.Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.WrongElementType).WithMessage("*Import<float>*");
    }

    /// <summary>Imports the case, runs it and returns the worst absolute difference from PyTorch over every compared value.</summary>
    private static double Check<T>(string name, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, name + ".json")));
        JsonElement c = document.RootElement;
        string cell = c.GetProperty("cell").GetString()!;
        HiddenActivation? hidden = c.GetProperty("nonlinearity").ValueKind == JsonValueKind.String
            ? (c.GetProperty("nonlinearity").GetString() == "relu" ? HiddenActivation.Relu : HiddenActivation.Tanh)
            : null;
        OutputActivation output = c.GetProperty("output_activation").GetString() switch
        {
            "softmax" => OutputActivation.Softmax,
            "sigmoid" => OutputActivation.Sigmoid,
            _ => OutputActivation.Identity,
        };

        RecurrentModel<T> model = SafeTensors.Import<T>(Path.Combine(Folder, name + ".safetensors"), hiddenActivation: hidden, outputActivation: output);

        model.Options.Cell.Should().Be(cell switch { "lstm" => RecurrentCellKind.Lstm, "gru" => RecurrentCellKind.Gru, _ => RecurrentCellKind.Vanilla });
        model.Layers.Should().Be(c.GetProperty("num_layers").GetInt32());
        model.Options.Bidirectional.Should().Be(c.GetProperty("bidirectional").GetBoolean());
        model.Options.HiddenActivation.Should().Be(hidden ?? HiddenActivation.Tanh);

        double[][][] x = Array3(c.GetProperty("inputs"));
        int steps = x.Length, batch = x[0].Length;
        List<Matrix<T>> inputs = x.Select(step => Matrix<T>.Build.Dense(model.InputSize, batch, (i, b) => T.CreateTruncating(step[b][i]))).ToList();
        List<Matrix<T>>? h0 = States<T>(c.GetProperty("h0"));
        List<Matrix<T>>? c0 = States<T>(c.GetProperty("c0"));
        int[]? lengths = c.GetProperty("lengths").ValueKind == JsonValueKind.Array
            ? c.GetProperty("lengths").EnumerateArray().Select(e => e.GetInt32()).ToArray()
            : null;

        ForwardCache<T> cache = model.CreateCache(steps, batch);
        model.Forward(inputs, cache, h0, c0, lengths);

        double worst = 0;
        worst = Math.Max(worst, Compare(name + " outputs", Array3(c.GetProperty("expected_outputs")), t => cache.Output(t), lengths, tolerance));
        worst = Math.Max(worst, Compare(name + " top hidden", Array3(c.GetProperty("expected_top_hidden")), t => cache.Hidden(t), lengths, tolerance));
        worst = Math.Max(worst, Compare(name + " h_n", Array3(c.GetProperty("expected_h_n")), cache.FinalHidden, null, tolerance));
        if (c.GetProperty("expected_c_n").ValueKind == JsonValueKind.Array)
        {
            worst = Math.Max(worst, Compare(name + " c_n", Array3(c.GetProperty("expected_c_n")), cache.FinalCell, null, tolerance));
        }

        return worst;
    }

    /// <summary>
    /// The worst |expected − actual| over [n][B][size] against matrices size x B; with lengths, only the real steps
    /// (t &lt; length_b) are compared, since PyTorch pads with zeros before its head and RnnCore's padded outputs are not scored.
    /// </summary>
    internal static double Compare<T>(string label, double[][][] expected, Func<int, Matrix<T>> actualAt, int[]? lengths, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double worst = 0;
        for (int t = 0; t < expected.Length; t++)
        {
            Matrix<T> actual = actualAt(t);
            for (int b = 0; b < expected[t].Length; b++)
            {
                if (lengths is not null && t >= lengths[b])
                {
                    continue;
                }

                for (int k = 0; k < expected[t][b].Length; k++)
                {
                    double difference = Math.Abs(expected[t][b][k] - double.CreateTruncating(actual[k, b]));
                    difference.Should().BeLessThanOrEqualTo(tolerance, $"{label}[{t}][{b}][{k}]: PyTorch {expected[t][b][k]:R}, RnnCore {actual[k, b]}");
                    worst = Math.Max(worst, difference);
                }
            }
        }

        return worst;
    }

    internal static List<Matrix<T>>? States<T>(JsonElement states)
        where T : unmanaged, IFloatingPointIeee754<T>
        => states.ValueKind != JsonValueKind.Array
            ? null
            : Array3(states).Select(s => Matrix<T>.Build.Dense(s[0].Length, s.Length, (j, b) => T.CreateTruncating(s[b][j]))).ToList();

    internal static double[][][] Array3(JsonElement e)
        => e.EnumerateArray().Select(a => a.EnumerateArray().Select(b => b.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray()).ToArray();
}
