extern alias adding;

using adding::RnnCore.Samples.AddingProblem;
using MathNet.Numerics.LinearAlgebra;
using AddingRandom = adding::RnnCore.Samples.SampleRandom;

namespace RnnCore.Samples.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class AddingProblemTests
{
    private static readonly System.Reflection.Assembly Sample = typeof(AddingOptions).Assembly;

    [Fact]
    public void Each_sequence_marks_one_value_in_each_half_and_the_target_is_their_sum()
    {
        const int Steps = 12;
        (List<Matrix<float>> inputs, SequenceTargets<float> targets) = AddingData.Batch(Steps, 50, new AddingRandom(3));
        targets.Steps.Should().Be(1);
        for (int b = 0; b < 50; b++)
        {
            int[] marked = Enumerable.Range(0, Steps).Where(t => inputs[t][1, b] == 1).ToArray();
            marked.Should().HaveCount(2);
            marked[0].Should().BeLessThan(Steps / 2);
            marked[1].Should().BeGreaterThanOrEqualTo(Steps / 2);
            Enumerable.Range(0, Steps).Should().OnlyContain(t => inputs[t][0, b] >= 0 && inputs[t][0, b] < 1);
        }
    }

    [Fact]
    public void The_irnn_starts_with_the_identity_recurrence_and_zero_biases()
    {
        RecurrentLayer<float> irnn = AddingModels.Irnn(6, seed: 1);
        irnn.HiddenActivation.Should().Be(HiddenActivation.Relu);
        irnn.Wh.Should().BeEquivalentTo(Matrix<float>.Build.DenseIdentity(6));
        irnn.Bh.Should().OnlyContain(v => v == 0);
        irnn.Wx.Enumerate().Should().OnlyContain(v => Math.Abs(v) < 0.01);
    }

    [Fact]
    public void Verdicts_are_measured_against_the_baseline()
    {
        AddingReport.Verdict(0.166).Should().Be("no better than the baseline");
        AddingReport.Verdict(0.1).Should().Be("beats the baseline");
        AddingReport.Verdict(0.01).Should().Be("solved");
    }

    [Fact]
    public void A_tiny_run_shows_the_tanh_gradient_vanishing_and_writes_its_pictures()
    {
        using var folder = new TempFolder();
        string output = folder.File("out");
        (int code, string stdout, string error) = ConsoleCapture.RunMain(Sample, "--steps", "40", "--hidden-size", "16", "--updates", "30",
            "--test-size", "100", "--evaluate-every", "10", "--output", output);
        code.Should().Be(0, error);
        foreach (string name in new[] { AddingReport.MseName, AddingReport.GradientsName, AddingReport.SummaryName })
        {
            new FileInfo(Path.Combine(output, name)).Length.Should().BeGreaterThan(0, name);
        }

        stdout.Should().MatchRegex(@"tanh loss first=\d+\.\d{4} last=\d+\.\d{4}").And.MatchRegex(@"irnn loss first=\d+\.\d{4} last=\d+\.\d{4}");
        stdout.Should().Contain("held-out mean squared error");
    }

    [Theory]
    [InlineData("--steps", "1")]
    [InlineData("--updates", "0")]
    [InlineData("--learning-rate", "-1")]
    public void Bad_options_exit_non_zero_with_one_line(string option, string value)
    {
        (int code, _, string error) = ConsoleCapture.RunMain(Sample, option, value);
        code.Should().Be(SampleCommandLine.RunError);
        error.TrimEnd().Should().NotContain("\n").And.Contain(option);
    }

    [Fact]
    public void An_unknown_option_exits_2_with_one_line()
    {
        (int code, _, string error) = ConsoleCapture.RunMain(Sample, "--epochs", "1");
        code.Should().Be(SampleCommandLine.UsageError);
        error.TrimEnd().Should().NotContain("\n");
    }
}
