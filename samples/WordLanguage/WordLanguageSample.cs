using System.Diagnostics;
using System.Globalization;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;
using RnnCore.Training;

namespace RnnCore.Samples.WordLanguage;

/// <summary>
/// Classifies the language of a word from its characters: the words of data/*.txt (one language per file), shuffled
/// with a fixed seed and split 80/20 into training and held-out words; a character <see cref="Vocabulary"/>; an
/// embedding (16 wide) and a GRU (64 units) read the word; the class is scored at its last character. Prints the
/// held-out accuracy beside the majority class's, and a confusion matrix, which it also draws (confusion.png in the
/// output folder, <c>--output</c>, "out" by default). The network carries its vocabulary, so with <c>--save FILE</c> the
/// model file holds both and a loaded model reads words as the trained one did.
/// </summary>
public static class WordLanguageSample
{
    /// <summary>The languages, in class order: one data file each.</summary>
    public static readonly string[] Languages = ["english", "german", "french", "italian", "spanish"];

    /// <summary>Runs the sample: <c>[--smoke] [--epochs N] [--data FOLDER] [--output FOLDER] [--save FILE]</c>.</summary>
    public static int Main(string[] args)
    {
        try
        {
            Run(args, Console.Out);
            return 0;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    /// <summary>Trains and evaluates; returns the held-out accuracy.</summary>
    public static double Run(string[] args, TextWriter output)
    {
        bool smoke = args.Contains("--smoke");
        int epochs = smoke ? 2 : 15;
        string data = Path.Combine(AppContext.BaseDirectory, "data");
        string outputFolder = "out";
        string? save = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--smoke":
                    break;
                case "--epochs" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int e) && e > 0:
                    epochs = e;
                    i++;
                    break;
                case "--data" when i + 1 < args.Length:
                    data = args[++i];
                    break;
                case "--output" when i + 1 < args.Length && !string.IsNullOrWhiteSpace(args[i + 1]):
                    outputFolder = args[++i];
                    break;
                case "--save" when i + 1 < args.Length:
                    save = args[++i];
                    break;
                default:
                    throw new ArgumentException($"unknown or incomplete option '{args[i]}'; expected --smoke, --epochs N (N > 0), --data FOLDER, --output FOLDER or --save FILE.");
            }
        }

        // Every word with its language, shuffled once with a fixed seed, then 80% for training, 20% held out.
        var words = new List<(string Word, int Language)>();
        for (int l = 0; l < Languages.Length; l++)
        {
            string path = Path.Combine(data, Languages[l] + ".txt");
            if (!File.Exists(path))
            {
                throw new IOException($"{path} does not exist; run from the repository or pass --data samples/WordLanguage/data.");
            }

            words.AddRange(File.ReadAllLines(path).Where(w => w.Length > 0).Take(smoke ? 120 : int.MaxValue).Select(w => (w, l)));
        }

        var random = new Random(21);
        (string Word, int Language)[] shuffled = words.OrderBy(_ => random.Next()).ToArray();
        int trainingCount = shuffled.Length * 4 / 5;
        (string Word, int Language)[] training = shuffled[..trainingCount], heldOut = shuffled[trainingCount..];

        Vocabulary characters = Vocabulary.FromCharacters(training.Select(w => w.Word));
        SequenceDataset<float> Dataset((string Word, int Language)[] set) =>
            new(set.Select(w => Sequence<float>.FromTokens(characters.Encode(w.Word), [w.Language])));

        var model = new RecurrentModel<float>(new RecurrentModelOptions(InputSize: 16, HiddenSize: 64, OutputSize: Languages.Length)
        {
            Cell = RecurrentCellKind.Gru,
            VocabularySize = characters.Count,
            PaddingId = characters.PaddingId,
            Seed = 21,
        })
        {
            Vocabulary = characters, // saved with the model: a loaded model encodes words as this one does
        };
        var trainer = new Trainer<float>(model, new AdamOptimizer<float>(0.005), new TrainerOptions
        {
            Epochs = epochs,
            BatchSize = 32,
            Seed = 21,
            Metrics = [Metric.Accuracy()],
        });
        output.WriteLine($"{training.Length} training words, {heldOut.Length} held out, {characters.Count} character ids, {epochs} epochs");
        var clock = Stopwatch.StartNew();
        History history = trainer.Fit(Dataset(training), Dataset(heldOut));
        output.WriteLine(
            $"loss first={history.Epochs[0].TrainingLoss.ToString("G5", CultureInfo.InvariantCulture)} last={history.Epochs[^1].TrainingLoss.ToString("G5", CultureInfo.InvariantCulture)} ({clock.Elapsed.TotalSeconds:F0} s)");

        int[] predicted = trainer.PredictClass(Dataset(heldOut).ToList());
        double accuracy = heldOut.Where((w, n) => predicted[n] == w.Language).Count() / (double)heldOut.Length;
        int majority = heldOut.GroupBy(w => w.Language).Max(g => g.Count());
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"held-out accuracy {accuracy:P1} (majority class {majority / (double)heldOut.Length:P1})"));

        var confusion = new int[Languages.Length, Languages.Length];
        for (int n = 0; n < heldOut.Length; n++)
        {
            confusion[heldOut[n].Language, predicted[n]]++;
        }

        output.WriteLine("confusion (rows: true language, columns: predicted)");
        output.WriteLine("         " + string.Concat(Languages.Select(l => l[..3].PadLeft(6))));
        for (int t = 0; t < Languages.Length; t++)
        {
            output.WriteLine(Languages[t].PadRight(9) + string.Concat(Enumerable.Range(0, Languages.Length).Select(p => confusion[t, p].ToString(CultureInfo.InvariantCulture).PadLeft(6))));
        }

        string picture = Path.Combine(outputFolder, "confusion.png");
        Plots.Confusion(
            picture,
            string.Create(CultureInfo.InvariantCulture, $"Language of {heldOut.Length:N0} held-out words: embedding + GRU, accuracy {accuracy:P1}"),
            Languages,
            confusion);
        output.WriteLine($"wrote {picture}");

        if (save is not null)
        {
            // The model file holds the network and its vocabulary; the loaded model encodes and classifies by itself.
            ModelFile.Save(model, save);
            RecurrentModel<float> loaded = ModelFile.Load<float>(save);
            string word = heldOut[0].Word;
            float[] scores = loaded.PredictLast([Sequence<float>.FromTokens(loaded.Vocabulary!.Encode(word), [0])])[0];
            int again = Array.IndexOf(scores, scores.Max());
            output.WriteLine($"saved {save} with its {loaded.Vocabulary.Count}-id vocabulary; reloaded, '{word}' is {Languages[again]} (before saving: {Languages[predicted[0]]})");
        }

        return accuracy;
    }
}
