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
    public void Save_writes_the_model_with_its_vocabulary_and_the_loaded_model_classifies_alike()
    {
        string folder = Directory.CreateTempSubdirectory("wordlanguage-save-").FullName;
        string path = Path.Combine(folder, "wordlanguage.rnncore");
        try
        {
            var output = new StringWriter();
            WordLanguageSample.Run(["--smoke", "--save", path, "--output", folder], output);
            RnnCore.Models.RecurrentModel<float> loaded = RnnCore.Persistence.ModelFile.Load<float>(path);
            loaded.Vocabulary.Should().NotBeNull();
            loaded.Vocabulary!.Count.Should().Be(loaded.VocabularySize);
            loaded.Vocabulary.ByCharacters.Should().BeTrue();
            string line = output.ToString().Split('\n').Single(l => l.StartsWith("saved ", StringComparison.Ordinal));
            string[] parts = line.Split(" is ")[1].Split(" (before saving: ");
            parts[0].Should().Be(parts[1].TrimEnd().TrimEnd(')'), "the loaded model reads the word as the trained one did");
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
