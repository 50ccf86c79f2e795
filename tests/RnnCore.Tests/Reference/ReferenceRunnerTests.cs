using System.Text.Json.Nodes;

namespace RnnCore.Tests.Reference;

/// <summary>The reference runner must be able to fail: a file whose truth is changed anywhere is rejected.</summary>
public sealed class ReferenceRunnerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("rnncore-reference-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("12-tbptt", "hidden", 1e-6)]
    [InlineData("12-tbptt", "outputs", 1e-6)]
    [InlineData("12-tbptt", "loss", 1e-6)]
    [InlineData("12-tbptt", "grads.W_h", 1e-6)]
    [InlineData("12-tbptt", "grads.h0", 1e-6)]
    [InlineData("12-tbptt", "dh_norms", 1e-6)]
    [InlineData("12-tbptt", "chunks.2.loss", 1e-6)]
    [InlineData("12-tbptt", "chunks.1.params.b_y", 1e-6)]
    [InlineData("09-clip", "total_norm_before_clip", 1e-6)]
    [InlineData("09-clip", "clipped_grads.W_x", 1e-6)]
    [InlineData("08-sgd-momentum", "steps.2.params.W_y", 1e-6)]
    [InlineData("08-sgd-momentum", "steps.1.loss_before", 1e-6)]
    public void A_changed_field_fails_the_double_check(string file, string path, double relativeChange)
    {
        JsonNode root = JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceTests.ReferenceDirectory, file + ".json")))!;
        JsonNode node = root["expected"]!;
        foreach (string key in path.Split('.'))
        {
            node = int.TryParse(key, out int index) ? node[index]! : node[key]!;
        }

        // Walk down to the first number and change it by a relative amount far above the 1e-9 tolerance.
        JsonNode parent = node;
        while (parent is JsonArray array && array[0] is JsonArray)
        {
            parent = array[0]!;
        }

        if (parent is JsonArray numbers)
        {
            double value = numbers[0]!.GetValue<double>();
            numbers[0] = value + (relativeChange * Math.Max(1, Math.Abs(value)));
        }
        else
        {
            double value = parent.GetValue<double>();
            JsonNode owner = parent.Parent!;
            string key = path.Split('.')[^1];
            owner[key] = value + (relativeChange * Math.Max(1, Math.Abs(value)));
        }

        string changed = Path.Combine(_folder, file + ".json");
        File.WriteAllText(changed, root.ToJsonString());

        Action check = () => ReferenceTests.Check<double>(ReferenceCase.Load(changed), 1e-9, checkTrajectory: true);
        check.Should().Throw<Xunit.Sdk.XunitException>();
    }

    [Fact]
    public void The_unchanged_copy_passes()
    {
        string copy = Path.Combine(_folder, "12-tbptt.json");
        File.Copy(Path.Combine(ReferenceTests.ReferenceDirectory, "12-tbptt.json"), copy);
        ReferenceTests.Check<double>(ReferenceCase.Load(copy), 1e-9, checkTrajectory: true);
    }

    [Fact]
    public void A_missing_folder_yields_a_failing_case_instead_of_none()
    {
        string absent = Path.Combine(_folder, "absent");
        var cases = ReferenceTests.CasesIn(absent).ToList();
        cases.Should().ContainSingle();
        Action run = () => ReferenceTests.Run(absent, (string)cases[0][0], ReferenceTests.Precision.@double);
        run.Should().Throw<Xunit.Sdk.XunitException>().WithMessage("*must hold*");
    }
}
