using System.Diagnostics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Optimizers;
using RnnCore.Persistence;

namespace RnnCore.Samples.CharRnn;

/// <summary>What a training run did: the loss of every update, the dh-norm record, and the speed.</summary>
public sealed record CharRnnResult(
    int VocabularySize,
    IReadOnlyList<double> Losses,
    int FirstUpdate,
    int UpdatesPerEpoch,
    DhNormHistory DhNorms,
    double Seconds,
    double CharactersPerSecond,
    string FinalSample);

/// <summary>
/// The training loop, in one place (so that it can later be swapped for a Trainer): B streams read their own slices
/// of the text in chunks of T characters; each chunk is one forward pass from the hidden state the previous chunk left
/// (no gradient crosses the boundary: truncated BPTT), one BPTT, one clip and one optimizer step. The loss is
/// cross-entropy averaged over the T·B characters (LossReduction.Mean), so it reads in nats per character: ln(V) ≈ 4.1
/// for a model that knows nothing about V ≈ 62 characters.
/// </summary>
public static class CharRnnTraining
{
    public const string CheckpointName = "charrnn.rnncore";
    public const string VocabularyName = "vocabulary.txt";

    public static CharRnnResult Run(CharRnnOptions options, TextCorpus corpus, Action<string> log)
    {
        int steps = options.SequenceLength;
        int vocabularySize = corpus.Vocabulary.Length;

        // Inputs are characters 0..N−2 and targets characters 1..N−1: a chunk needs T + 1 characters of text.
        int usable = corpus.Length - 1;
        if (steps > usable)
        {
            throw new SampleException(
                $"--seq-length {steps} is longer than the text allows: it has {corpus.Length} characters, so at most {usable} steps.");
        }

        int batch = Math.Min(options.BatchSize, usable / steps);
        if (batch < options.BatchSize)
        {
            log($"note: the text holds only {batch} slices of {steps} characters, so {batch} streams are read instead of {options.BatchSize}.");
        }

        int slice = usable / batch;            // each stream's share of the text
        int updatesPerEpoch = slice / steps;   // chunks per stream per epoch

        (RecurrentLayer<float> layer, OptimizerBase<float> optimizer, int startEpoch, int startUpdate, SampleRandom random) =
            Prepare(options, corpus, log);
        if (startUpdate >= updatesPerEpoch)
        {
            throw new SampleException(
                $"the checkpoint stopped at update {startUpdate} of an epoch, but these options give {updatesPerEpoch} updates per epoch: resume with the run's --seq-length and --batch-size.");
        }

        long remaining = ((long)(options.Epochs - startEpoch) * updatesPerEpoch) - startUpdate;
        if (options.MaxSteps > 0)
        {
            remaining = Math.Min(remaining, options.MaxSteps);
        }

        if (remaining <= 0)
        {
            throw new SampleException(
                $"the checkpoint is already at epoch {startEpoch} of --epochs {options.Epochs}: ask for more epochs to continue.");
        }

        int parameters = (layer.HiddenSize * (vocabularySize + layer.HiddenSize + vocabularySize + 1)) + vocabularySize;
        log($"text: {corpus.Length:N0} characters, {vocabularySize} distinct; model: H = {layer.HiddenSize}, {parameters:N0} parameters, " +
            $"{options.Optimizer} lr {options.LearningRate}, clip {(options.Clip > 0 ? options.Clip.ToString(System.Globalization.CultureInfo.InvariantCulture) : "off")}");
        log($"B = {batch} streams x T = {steps} characters per update, {updatesPerEpoch:N0} updates per epoch, {remaining:N0} updates in this run");

        var bptt = new Bptt<float>(layer, LossPlacement.EveryStep, LossReduction.Mean);
        Clipping clipping = options.CreateClipping();
        ForwardCache<float> cache = layer.CreateCache(steps, batch);
        RecurrentGradients<float> gradients = layer.CreateGradients(steps, batch);
        List<Matrix<float>> inputs = Enumerable.Range(0, steps).Select(_ => Matrix<float>.Build.Dense(vocabularySize, batch)).ToList();
        int[][] targetClasses = Enumerable.Range(0, steps).Select(_ => new int[batch]).ToArray();
        Matrix<float>? h = null; // h_0 of the next chunk: the last hidden state of the previous one, zeros at an epoch's start

        var losses = new List<double>();
        var dhNorms = new DhNormHistory(steps, Math.Max(1, updatesPerEpoch / 10));
        var clock = Stopwatch.StartNew();
        int epoch = startEpoch;
        int update = startUpdate;
        string prime = corpus.Vocabulary.Contains('\n', StringComparison.Ordinal) ? "\n" : corpus.Vocabulary[..1];

        void SaveCheckpoint()
        {
            Directory.CreateDirectory(options.OutputFolder);
            ModelFile.Save(layer, Path.Combine(options.OutputFolder, CheckpointName), optimizer,
                new TrainingPosition(epoch, update, [random.State]));
        }

        TrainingProgress.Run($"training {remaining:N0} updates", remaining, progress =>
        {
            for (long done = 0; done < remaining; done++)
            {
                // Fill x_t (one-hot, V x B) and the targets (the next character) for every stream b.
                for (int t = 0; t < steps; t++)
                {
                    Matrix<float> x = inputs[t];
                    x.Clear();
                    for (int b = 0; b < batch; b++)
                    {
                        int position = (b * slice) + (update * steps) + t;
                        x[corpus.Codes[position], b] = 1;
                        targetClasses[t][b] = corpus.Codes[position + 1];
                    }
                }

                layer.Forward(inputs, cache, h);
                float loss = bptt.Backward(cache, SequenceTargets<float>.FromClasses(targetClasses), gradients);
                clipping.Apply(gradients.ParameterGradients);
                optimizer.Step(layer, gradients);
                h = cache.FinalHidden; // carried forward as a value only: the next chunk's BPTT stops at it

                losses.Add(loss);
                dhNorms.Add(gradients.DhNorms, epoch + ((update + 1.0) / updatesPerEpoch));
                update++;
                if (update == updatesPerEpoch)
                {
                    // Every stream is at the end of its slice: start the next epoch from the beginning, with h_0 = 0.
                    epoch++;
                    update = 0;
                    h = null;
                    SaveCheckpoint();
                }

                double seconds = clock.Elapsed.TotalSeconds;
                double charactersPerSecond = (done + 1) * steps * batch / Math.Max(seconds, 1e-9);
                progress.Report(done + 1, $"epoch {Math.Min(epoch + 1, options.Epochs)}/{options.Epochs}  loss {Smoothed(losses):F3}  {charactersPerSecond:N0} chars/s");

                if (options.SampleEvery > 0 && (done + 1) % options.SampleEvery == 0 && done + 1 < remaining)
                {
                    string sample = CharSampler.Generate(layer, corpus.Vocabulary, prime, options.SampleLength, options.Temperature, options.TopK, random);
                    progress.WriteLine($"--- after {losses.Count:N0} updates (loss {Smoothed(losses):F3}):");
                    progress.WriteLine(sample.TrimEnd());
                    progress.WriteLine("---");
                }
            }
        });

        double elapsed = clock.Elapsed.TotalSeconds;
        SaveCheckpoint();
        File.WriteAllText(Path.Combine(options.OutputFolder, VocabularyName), corpus.Vocabulary);
        string finalSample = CharSampler.Generate(layer, corpus.Vocabulary, prime, options.SampleLength, options.Temperature, options.TopK, random);
        int firstUpdate = (startEpoch * updatesPerEpoch) + startUpdate;
        return new CharRnnResult(vocabularySize, losses, firstUpdate, updatesPerEpoch, dhNorms, elapsed, remaining * steps * batch / Math.Max(elapsed, 1e-9), finalSample);
    }

    /// <summary>The mean loss of the last (up to) 50 updates: one chunk's loss is too noisy to read.</summary>
    public static double Smoothed(IReadOnlyList<double> losses, int window = 50)
    {
        int count = Math.Min(window, losses.Count);
        double sum = 0;
        for (int i = losses.Count - count; i < losses.Count; i++)
        {
            sum += losses[i];
        }

        return count == 0 ? double.NaN : sum / count;
    }

    private static (RecurrentLayer<float>, OptimizerBase<float>, int Epoch, int Update, SampleRandom) Prepare(
        CharRnnOptions options, TextCorpus corpus, Action<string> log)
    {
        int vocabularySize = corpus.Vocabulary.Length;
        OptimizerBase<float> optimizer = options.CreateOptimizer();
        var random = new SampleRandom(options.Seed);
        if (options.Resume is null)
        {
            var fresh = new RecurrentLayer<float>(vocabularySize, options.HiddenSize, vocabularySize,
                HiddenActivation.Tanh, OutputActivation.Softmax, options.Seed);
            return (fresh, optimizer, 0, 0, random);
        }

        if (!File.Exists(options.Resume))
        {
            throw new SampleException($"the checkpoint '{options.Resume}' does not exist.");
        }

        Checkpoint<float> checkpoint = ModelFile.LoadCheckpoint<float>(options.Resume);
        RecurrentLayer<float> layer = checkpoint.Layer;
        string vocabularyFile = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.Resume))!, VocabularyName);
        bool sameVocabulary = File.Exists(vocabularyFile)
            ? File.ReadAllText(vocabularyFile) == corpus.Vocabulary
            : layer.InputSize == vocabularySize && layer.OutputSize == vocabularySize;
        if (!sameVocabulary || layer.HiddenActivation != HiddenActivation.Tanh || layer.OutputActivation != OutputActivation.Softmax)
        {
            throw new SampleException(
                $"the checkpoint '{options.Resume}' was trained on another text or is not a CharRnn model: resume with the text it was trained on.");
        }

        if (checkpoint.OptimizerState is null || checkpoint.Position is null)
        {
            throw new SampleException($"'{options.Resume}' is a model without an optimizer state or a position, not a checkpoint to resume.");
        }

        try
        {
            checkpoint.RestoreOptimizer(optimizer);
        }
        catch (ArgumentException exception)
        {
            throw new SampleException($"the checkpoint's optimizer does not match --optimizer {options.Optimizer}: {exception.Message}");
        }

        if (layer.HiddenSize != options.HiddenSize)
        {
            log($"note: the checkpoint's hidden size {layer.HiddenSize} is used (--hidden-size {options.HiddenSize} is ignored when resuming).");
        }

        TrainingPosition position = checkpoint.Position;
        if (position.RandomState.Count == 1)
        {
            random.State = position.RandomState[0];
        }

        log($"resuming '{options.Resume}' at epoch {position.Epoch + 1}, update {position.Batch} (h_0 starts at zero)");
        return (layer, optimizer, (int)position.Epoch, (int)position.Batch, random);
    }
}
