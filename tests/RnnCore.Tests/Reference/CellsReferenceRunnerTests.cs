using System.Text.Json.Nodes;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Reference;

/// <summary>The reference runners must be able to fail: a file whose truth is changed anywhere is rejected.</summary>
public sealed class CellsReferenceRunnerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("rnncore-reference-cells-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("05-lstm-2layer-bidir", "outputs")]
    [InlineData("05-lstm-2layer-bidir", "top_hidden")]
    [InlineData("05-lstm-2layer-bidir", "h_n")]
    [InlineData("05-lstm-2layer-bidir", "c_n")]
    [InlineData("05-lstm-2layer-bidir", "loss")]
    [InlineData("05-lstm-2layer-bidir", "grads/rnn.weight_ih_l1_reverse")]
    [InlineData("05-lstm-2layer-bidir", "grads/rnn.bias_hh_l0")]
    [InlineData("05-lstm-2layer-bidir", "grads/head.weight")]
    [InlineData("05-lstm-2layer-bidir", "grads/h0")]
    [InlineData("05-lstm-2layer-bidir", "grads/c0")]
    [InlineData("05-lstm-2layer-bidir", "dh_norms/3")]
    [InlineData("12-gru-bidir-clip-norm", "total_norm_before_clip")]
    [InlineData("12-gru-bidir-clip-norm", "clipped_grads/rnn.bias_hh_l0_reverse")]
    [InlineData("12-gru-bidir-clip-norm", "steps/1/params/rnn.weight_hh_l0")]
    [InlineData("12-gru-bidir-clip-norm", "steps/1/loss_before")]
    [InlineData("15-gru-stacked-tbptt", "chunks/1/loss")]
    [InlineData("15-gru-stacked-tbptt", "chunks/1/params/rnn.weight_ih_l1")]
    public void A_changed_field_fails_the_double_check(string file, string path)
    {
        JsonNode root = Load(file);
        JsonNode node = root["expected"]!;
        string[] keys = path.Split('/');
        foreach (string key in keys)
        {
            node = int.TryParse(key, out int index) ? node[index]! : node[key]!;
        }

        // Change the first number below the path by 1e-6 relative, far above the 1e-9 tolerance.
        while (node is JsonArray array && array[0] is JsonArray)
        {
            node = array[0]!;
        }

        if (node is JsonArray numbers)
        {
            double value = numbers[0]!.GetValue<double>();
            numbers[0] = value + (1e-6 * Math.Max(1, Math.Abs(value)));
        }
        else
        {
            double value = node.GetValue<double>();
            node.Parent![keys[^1]] = value + (1e-6 * Math.Max(1, Math.Abs(value)));
        }

        Action check = () => CellsReferenceTests.Check<double>(CellsReferenceCase.Load(Save(root, file)), 1e-9, checkTrajectory: true);
        check.Should().Throw<Xunit.Sdk.XunitException>();
    }

    [Fact]
    public void An_unknown_expected_field_fails()
    {
        JsonNode root = Load("01-lstm-1layer");
        root["expected"]!["h_n_typo"] = 1.0;
        Action check = () => CellsReferenceTests.Check<double>(CellsReferenceCase.Load(Save(root, "01-lstm-1layer")), 1e-9, checkTrajectory: true);
        check.Should().Throw<Xunit.Sdk.XunitException>().WithMessage("*h_n_typo*");
    }

    [Fact]
    public void Swapped_gate_blocks_fail()
    {
        // LSTM rows are i, f, g, o: exchanging the i and f blocks of a weight in the file must be caught.
        JsonNode root = Load("01-lstm-1layer");
        var rows = (JsonArray)root["params"]!["rnn.weight_hh_l0"]!;
        int h = root["config"]!["hidden_size"]!.GetValue<int>();
        for (int i = 0; i < h; i++)
        {
            JsonNode a = rows[i]!.DeepClone();
            rows[i] = rows[h + i]!.DeepClone();
            rows[h + i] = a;
        }

        Action check = () => CellsReferenceTests.Check<double>(CellsReferenceCase.Load(Save(root, "01-lstm-1layer")), 1e-9, checkTrajectory: true);
        check.Should().Throw<Xunit.Sdk.XunitException>();
    }

    [Fact]
    public void The_unchanged_copies_pass()
    {
        foreach (string file in new[] { "05-lstm-2layer-bidir", "12-gru-bidir-clip-norm", "15-gru-stacked-tbptt" })
        {
            CellsReferenceTests.Check<double>(CellsReferenceCase.Load(Save(Load(file), file)), 1e-9, checkTrajectory: true);
        }
    }

    [Fact]
    public void A_missing_folder_yields_a_failing_case_instead_of_none()
    {
        string absent = Path.Combine(_folder, "absent");
        var cases = ReferenceTests.CasesIn(absent).ToList();
        cases.Should().ContainSingle();
        Action run = () => CellsReferenceTests.Run(absent, (string)cases[0][0], ReferenceTests.Precision.@double);
        run.Should().Throw<Xunit.Sdk.XunitException>().WithMessage("*must hold*");
    }

    [Fact]
    public void Vanilla_dh_norms_in_double_are_compared_each_to_itself()
    {
        // 07-vanishing's smallest norm is about 3e-25, the largest about 0.5. An error of 1e-6 of the small norm is
        // 1e-31 absolute: relative to the largest norm that is 6e-31 and passed the old comparison; relative to itself it
        // is 1e-6, a thousand times the 1e-9 tolerance, and must fail now.
        JsonNode root = JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceTests.ReferenceDirectory, "07-vanishing.json")))!;
        var norms = (JsonArray)root["expected"]!["dh_norms"]!;
        double[] original = norms.Select(n => n!.GetValue<double>()).ToArray();
        int smallest = Array.IndexOf(original, original.Where(x => x > 0).Min());
        original[smallest].Should().BeLessThan(1e-20, "the case holds a vanishing norm");
        double[] changed = (double[])original.Clone();
        changed[smallest] *= 1 + 1e-6;
        norms[smallest] = changed[smallest];

        Tolerance.WorstRelativeError(original, changed, out _).Should().BeLessThan(1e-9, "relative to the largest norm the error is invisible");
        Tolerance.WorstElementwiseRelativeError(original, changed, out _).Should().BeApproximately(1e-6, 1e-9);

        string path = Path.Combine(_folder, "07-vanishing.json");
        File.WriteAllText(path, root.ToJsonString());
        Action check = () => ReferenceTests.Check<double>(ReferenceCase.Load(path), 1e-9, checkTrajectory: true);
        check.Should().Throw<Xunit.Sdk.XunitException>().WithMessage("*dh_norms*");
    }

    [Fact]
    public void An_exact_zero_norm_must_stay_zero()
    {
        Tolerance.WorstElementwiseRelativeError([0.0, 1.0], [1e-300, 1.0], out int index).Should().Be(double.PositiveInfinity);
        index.Should().Be(0);
        Tolerance.WorstElementwiseRelativeError([0.0, 1.0], [0.0, 1.0], out _).Should().Be(0);
    }

    private static JsonNode Load(string file)
        => JsonNode.Parse(File.ReadAllText(Path.Combine(CellsReferenceTests.CellsDirectory, file + ".json")))!;

    private string Save(JsonNode root, string file)
    {
        string path = Path.Combine(_folder, file + ".json");
        File.WriteAllText(path, root.ToJsonString());
        return path;
    }
}
