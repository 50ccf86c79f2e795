using System.Text.Json;
using RnnCore.Persistence;
using RnnCore.Samples.CharRnn;

namespace RnnCore.Samples.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class CharRnnTests
{
    private static readonly System.Reflection.Assembly Sample = typeof(CharRnnOptions).Assembly;

    // A small, learnable text: a few lines repeated, so that a tiny model's loss falls within a few dozen updates.
    private static readonly string Text = string.Concat(Enumerable.Repeat("to be or not to be, that is the question.\n", 60));

    [Fact]
    public void The_vocabulary_is_the_sorted_distinct_characters()
    {
        TextCorpus corpus = TextCorpus.FromText("hello\r\nworld");
        corpus.Vocabulary.Should().Be("\ndehlorw");
        string.Concat(corpus.Codes.Select(c => corpus.Vocabulary[c])).Should().Be("hello\nworld");
    }

    [Fact]
    public void A_missing_or_empty_text_file_is_one_clear_error()
    {
        using var folder = new TempFolder();
        Action missing = () => TextCorpus.Load(folder.File("nope.txt"));
        missing.Should().Throw<SampleException>().WithMessage("*does not exist*");
        File.WriteAllText(folder.File("empty.txt"), "");
        Action empty = () => TextCorpus.Load(folder.File("empty.txt"));
        empty.Should().Throw<SampleException>().WithMessage("*is empty*");
    }

    [Theory]
    [InlineData("--hidden-size", "0")]
    [InlineData("--seq-length", "-1")]
    [InlineData("--learning-rate", "0")]
    [InlineData("--temperature", "-2")]
    [InlineData("--epochs", "0")]
    [InlineData("--cell", "transformer")]
    [InlineData("--layers", "0")]
    [InlineData("--dropout", "1")]
    [InlineData("--dropout", "-0.1")]
    [InlineData("--dropout", "NaN")]
    public void Out_of_range_options_exit_non_zero_with_one_line(string option, string value)
    {
        (int code, _, string error) = ConsoleCapture.RunMain(Sample, option, value);
        code.Should().Be(SampleCommandLine.RunError);
        error.TrimEnd().Should().NotContain("\n").And.Contain(option).And.NotContain("   at ");
    }

    [Fact]
    public void Dropout_without_a_second_layer_is_refused_in_one_line()
    {
        (int code, _, string error) = ConsoleCapture.RunMain(Sample, "--dropout", "0.2");
        code.Should().Be(SampleCommandLine.RunError);
        error.TrimEnd().Should().NotContain("\n").And.Contain("--dropout 0.2").And.Contain("--layers 2");
    }

    [Theory]
    [InlineData("lstm", "1", "0")]
    [InlineData("gru", "2", "0.2")]
    [InlineData("rnn", "2", "0.1")]
    public void A_tiny_run_of_each_cell_reports_a_falling_validation_loss_every_epoch(string cell, string layers, string dropout)
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("text.txt"), Text);
        string output = folder.File("out");
        (int code, string stdout, string error) = ConsoleCapture.RunMain(Sample, "--text", folder.File("text.txt"), "--cell", cell,
            "--layers", layers, "--dropout", dropout, "--hidden-size", "24", "--seq-length", "10", "--batch-size", "4",
            "--learning-rate", "0.01", "--epochs", "2", "--sample-every", "0", "--sample-length", "20", "--output", output);
        code.Should().Be(0, error);
        stdout.Should().MatchRegex(@"epoch 1: train loss \d+\.\d{4}, validation loss \d+\.\d{4}")
            .And.MatchRegex(@"epoch 2: train loss \d+\.\d{4}, validation loss \d+\.\d{4}")
            .And.Contain($"{cell.ToUpperInvariant()}").And.Contain($", {layers} layer");
        foreach (string name in new[] { CharRnnReport.LossCurveName, CharRnnReport.GradientHealthName, CharRnnReport.SummaryName })
        {
            new FileInfo(Path.Combine(output, name)).Length.Should().BeGreaterThan(0, name);
        }

        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, CharRnnReport.SummaryName)));
        double[] validation = summary.RootElement.GetProperty("epochs").EnumerateArray().Select(e => e.GetProperty("validationLoss").GetDouble()).ToArray();
        validation.Should().HaveCount(2);
        summary.RootElement.GetProperty("validationLossFirst").GetDouble().Should().BeGreaterThan(validation[0]);
        validation[1].Should().BeLessThan(validation[0]);

        // Every network saves its checkpoint, and a run resumes from it as the layer's does.
        string checkpoint = Path.Combine(output, CharRnnTraining.CheckpointName);
        ModelFile.Load<float>(checkpoint).Options.Cell.ToString().Should().BeEquivalentTo(cell == "rnn" ? "Vanilla" : cell);
        (int resumed, string resumedOut, string resumedError) = ConsoleCapture.RunMain(Sample, "--text", folder.File("text.txt"), "--cell", cell,
            "--layers", layers, "--dropout", dropout, "--hidden-size", "24", "--seq-length", "10", "--batch-size", "4",
            "--learning-rate", "0.01", "--epochs", "3", "--sample-every", "0", "--sample-length", "20", "--output", output, "--resume", checkpoint);
        resumed.Should().Be(0, resumedError);
        resumedOut.Should().Contain("resuming").And.MatchRegex(@"epoch 3: train loss \d+\.\d{4}");
    }

    [Theory]
    [InlineData("--frobnicate")]
    [InlineData("--hidden-size", "abc")]
    [InlineData("--optimizer", "lion")]
    public void Unknown_options_and_bad_numbers_exit_2_with_one_line(params string[] args)
    {
        (int code, _, string error) = ConsoleCapture.RunMain(Sample, args);
        code.Should().Be(SampleCommandLine.UsageError);
        error.TrimEnd().Should().NotContain("\n").And.Contain("--help");
    }

    [Fact]
    public void A_sequence_longer_than_the_text_is_one_line_and_writes_nothing()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("short.txt"), "hello world");
        string output = folder.File("out");
        (int code, _, string error) = ConsoleCapture.RunMain(Sample, "--text", folder.File("short.txt"), "--seq-length", "50", "--output", output);
        code.Should().Be(SampleCommandLine.RunError);
        error.Should().Contain("--seq-length 50 is longer than the text").And.NotContain("   at ");
        Directory.Exists(output).Should().BeFalse();
    }

    [Fact]
    public void A_tiny_run_learns_writes_its_files_and_resumes_from_its_checkpoint()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("text.txt"), Text);
        string output = folder.File("out");
        string[] common = ["--text", folder.File("text.txt"), "--hidden-size", "24", "--seq-length", "10", "--batch-size", "4",
            "--learning-rate", "0.01", "--sample-every", "20", "--sample-length", "30", "--output", output];

        (int code, string stdout, string error) = ConsoleCapture.RunMain(Sample, [.. common, "--epochs", "1"]);
        code.Should().Be(0, error);
        foreach (string name in new[] { CharRnnReport.LossCurveName, CharRnnReport.GradientHealthName, CharRnnTraining.CheckpointName, CharRnnReport.SummaryName })
        {
            new FileInfo(Path.Combine(output, name)).Length.Should().BeGreaterThan(0, name);
        }

        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, CharRnnReport.SummaryName)));
        double first = summary.RootElement.GetProperty("lossFirst").GetDouble();
        double last = summary.RootElement.GetProperty("lossLast").GetDouble();
        last.Should().BeLessThan(first);
        stdout.Should().MatchRegex(@"loss first=\d+\.\d{4} last=\d+\.\d{4}\s*$")
            .And.MatchRegex(@"validation loss first=\d+\.\d{4} last=\d+\.\d{4}")
            .And.MatchRegex(@"epoch 1: train loss \d+\.\d{4}, validation loss \d+\.\d{4}")
            .And.Contain("held out for validation");
        summary.RootElement.GetProperty("validationLossLast").GetDouble().Should().BeLessThan(summary.RootElement.GetProperty("validationLossFirst").GetDouble());

        Checkpoint<float> checkpoint = ModelFile.LoadCheckpoint<float>(Path.Combine(output, CharRnnTraining.CheckpointName));
        checkpoint.Position!.Epoch.Should().Be(1);
        checkpoint.Position.Batch.Should().Be(0);

        (int resumed, string resumedOut, string resumedError) = ConsoleCapture.RunMain(
            Sample, [.. common, "--epochs", "2", "--resume", Path.Combine(output, CharRnnTraining.CheckpointName)]);
        resumed.Should().Be(0, resumedError);
        resumedOut.Should().Contain("resuming");
        ModelFile.LoadCheckpoint<float>(Path.Combine(output, CharRnnTraining.CheckpointName)).Position!.Epoch.Should().Be(2);

        // The same checkpoint with another optimizer, or an already finished run, is refused in one line.
        (int mismatched, _, string mismatchError) = ConsoleCapture.RunMain(
            Sample, [.. common, "--epochs", "3", "--optimizer", "sgd", "--resume", Path.Combine(output, CharRnnTraining.CheckpointName)]);
        mismatched.Should().Be(SampleCommandLine.RunError);
        mismatchError.TrimEnd().Should().NotContain("\n").And.Contain("optimizer");
        (int finished, _, string finishedError) = ConsoleCapture.RunMain(
            Sample, [.. common, "--epochs", "2", "--resume", Path.Combine(output, CharRnnTraining.CheckpointName)]);
        finished.Should().Be(SampleCommandLine.RunError);
        finishedError.Should().Contain("more epochs");
    }

    [Fact]
    public void Max_steps_stops_the_run_mid_epoch_and_the_checkpoint_says_where()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("text.txt"), Text);
        string output = folder.File("out");
        (int code, _, string error) = ConsoleCapture.RunMain(Sample, "--text", folder.File("text.txt"), "--hidden-size", "8",
            "--seq-length", "10", "--batch-size", "4", "--max-steps", "7", "--sample-every", "0", "--sample-length", "5", "--output", output);
        code.Should().Be(0, error);
        TrainingPosition position = ModelFile.LoadCheckpoint<float>(Path.Combine(output, CharRnnTraining.CheckpointName)).Position!;
        position.Epoch.Should().Be(0);
        position.Batch.Should().Be(7);
    }
}
