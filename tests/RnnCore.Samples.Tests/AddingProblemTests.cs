extern alias adding;

using adding::RnnCore.Samples.AddingProblem;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
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
    public void A_tiny_run_compares_the_four_models_at_each_length_and_writes_their_pictures()
    {
        using var folder = new TempFolder();
        string output = folder.File("out");
        (int code, string stdout, string error) = ConsoleCapture.RunMain(Sample, "--steps", "20,40", "--hidden-size", "8", "--updates", "30",
            "--test-size", "100", "--evaluate-every", "10", "--output", output);
        code.Should().Be(0, error);
        foreach (int steps in new[] { 20, 40 })
        {
            foreach (string name in new[] { AddingReport.MseName(steps), AddingReport.GradientsName(steps) })
            {
                new FileInfo(Path.Combine(output, name)).Length.Should().BeGreaterThan(0, name);
            }

            foreach (string key in new[] { "tanh", "irnn", "lstm", "gru" })
            {
                stdout.Should().MatchRegex($@"T={steps} {key} loss first=\d+\.\d{{4}} last=\d+\.\d{{4}}");
            }

            stdout.Should().Contain($"T = {steps}: held-out mean squared error");
        }

        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, AddingReport.SummaryName)));
        System.Text.Json.JsonElement runs = summary.RootElement.GetProperty("runs");
        runs.GetArrayLength().Should().Be(2);
        runs[1].GetProperty("steps").GetInt32().Should().Be(40);
        runs[1].GetProperty("models").EnumerateArray().Select(m => m.GetProperty("key").GetString()).Should().Equal("tanh", "irnn", "lstm", "gru");
    }

    [Fact]
    public void The_gated_models_are_one_lstm_or_gru_layer_with_a_linear_output()
    {
        RecurrentModel<float> lstm = AddingModels.Gated(RecurrentCellKind.Lstm, 5, seed: 1, steps: 10);
        lstm.Options.Cell.Should().Be(RecurrentCellKind.Lstm);
        lstm.Options.OutputActivation.Should().Be(OutputActivation.Identity);
        (lstm.InputSize, lstm.HiddenSize, lstm.OutputSize, lstm.Layers).Should().Be((2, 5, 1, 1));
        AddingModels.Gated(RecurrentCellKind.Gru, 5, seed: 1, steps: 10).Options.Cell.Should().Be(RecurrentCellKind.Gru);
    }

    [Fact]
    public void The_lstm_starts_from_chrono_gate_biases_for_its_sequence_length()
    {
        RecurrentModel<float> lstm = AddingModels.Gated(RecurrentCellKind.Lstm, 5, seed: 1, steps: 100);
        Matrix<float> bih = lstm.Parameter("rnn.bias_ih_l0"), bhh = lstm.Parameter("rnn.bias_hh_l0");
        for (int j = 0; j < 5; j++)
        {
            // Gates i, f, g, o: b_f = ln u with u in [1, 99), b_i = −b_f, the rest 0; nothing in b_hh.
            (bih[5 + j, 0] + bhh[5 + j, 0]).Should().BeInRange(0f, (float)Math.Log(99));
            (bih[j, 0] + bhh[j, 0]).Should().Be(-bih[5 + j, 0]);
            (bih[10 + j, 0], bih[15 + j, 0]).Should().Be((0f, 0f));
        }

        bhh.Enumerate().Should().OnlyContain(v => v == 0);

        // The GRU keeps PyTorch's initialization: the constructor's weights.
        RecurrentModel<float> gru = AddingModels.Gated(RecurrentCellKind.Gru, 5, seed: 1, steps: 100);
        var plain = new RecurrentModel<float>(gru.Options);
        gru.Parameter("rnn.weight_hh_l0").Should().Be(plain.Parameter("rnn.weight_hh_l0"));
    }

    [Fact]
    public void Every_setting_that_differs_from_the_library_defaults_is_printed_with_its_reason()
    {
        string settings = AddingReport.Settings(new AddingOptions());
        foreach (AddingModel m in AddingModels.All)
        {
            settings.Should().Contain(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{m.Name}: {m.Initialization}; Adam lr {m.LearningRate}; {m.Updates:N0} updates"));
            (m.InitializationReason is null).Should().Be(m.Key is "tanh" or "gru", $"{m.Key}: only PyTorch's own initialization needs no reason");
            (m.LearningRateReason is null).Should().Be(m.LearningRate == AddingModels.DefaultLearningRate, $"{m.Key}: only lr 0.001 needs no reason");
            (m.UpdatesReason is null).Should().Be(m.Updates == AddingModels.All[0].Updates, $"{m.Key}: a number of updates other than the tanh RNN's needs a reason");
            if (m.InitializationReason is not null)
            {
                settings.Should().Contain(m.InitializationReason);
            }

            foreach (string? reason in new[] { m.LearningRateReason, m.UpdatesReason })
            {
                if (reason is not null)
                {
                    settings.Should().Contain(reason);
                }
            }
        }

        AddingReport.Settings(new AddingOptions { LearningRate = 0.01, Updates = 7, Models = ["gru", "irnn"] }).Should().Contain("GRU: ").And.Contain("lr 0.01; 7 updates")
            .And.NotContain("why lr").And.NotContain("why 7").And.NotContain("LSTM");
    }

    [Fact]
    public void Models_picks_which_models_are_trained()
    {
        using var folder = new TempFolder();
        (int code, string stdout, string error) = ConsoleCapture.RunMain(Sample, "--steps", "10", "--models", "gru,tanh", "--hidden-size", "4", "--updates", "5",
            "--test-size", "20", "--evaluate-every", "5", "--output", folder.File("out"));
        code.Should().Be(0, error);
        stdout.Should().Contain("T=10 tanh loss first=").And.Contain("T=10 gru loss first=").And.NotContain("T=10 lstm").And.NotContain("T=10 irnn");
    }

    [Fact]
    public void Steps_parse_as_a_comma_separated_list()
    {
        AddingOptions.ParseSteps("100,200").Should().Equal(100, 200);
        AddingOptions.ParseSteps(" 7 ").Should().Equal(7);
        Action bad = () => AddingOptions.ParseSteps("100,x");
        bad.Should().Throw<adding::RnnCore.Samples.SampleException>().WithMessage("*--steps*100,x*");
    }

    [Theory]
    [InlineData("--steps", "1")]
    [InlineData("--steps", "100,1")]
    [InlineData("--steps", "ten")]
    [InlineData("--updates", "0")]
    [InlineData("--learning-rate", "-1")]
    [InlineData("--models", "lstm,transformer")]
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
