using RnnCore.Samples.WordLanguage;

namespace RnnCore.Samples.Tests;

public sealed class WordLanguageTests
{
    [Fact]
    public void The_smoke_run_learns_better_than_the_majority_class()
    {
        var output = new StringWriter();
        string folder = Directory.CreateTempSubdirectory("wordlanguage-").FullName;
        try
        {
            double accuracy = WordLanguageSample.Run(["--smoke", "--output", folder], output);
            string text = output.ToString();
            text.Should().Contain("held-out accuracy").And.Contain("confusion");
            accuracy.Should().BeGreaterThan(0.3, "five balanced languages: the majority class is about 20%");
            new FileInfo(Path.Combine(folder, "confusion.png")).Length.Should().BeGreaterThan(1000, "the confusion matrix is drawn");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_bad_option_is_refused()
    {
        ((Action)(() => WordLanguageSample.Run(["--epochs", "0"], TextWriter.Null))).Should().Throw<ArgumentException>().WithMessage("*--epochs N*");
        ((Action)(() => WordLanguageSample.Run(["--output"], TextWriter.Null))).Should().Throw<ArgumentException>().WithMessage("*'--output'*--output FOLDER*");
    }
}
