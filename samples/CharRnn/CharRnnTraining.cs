using System.Diagnostics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
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
    IReadOnlyList<ValidationPoint> Validation,
    double Seconds,
    double CharactersPerSecond,
    string FinalSample);

/// <summary>
/// One measurement of the held-out tail: after <paramref name="Update"/> updates in all (counting a resumed run's
/// earlier ones), the validation loss and the mean training loss of the updates since the previous measurement (NaN
/// before the first update), both in nats per character.
/// </summary>
public sealed record ValidationPoint(int Update, double Epoch, double TrainLoss, double ValidationLoss);

/// <summary>
/// The training loop, in one place (so that it can later be swapped for a Trainer): B streams read their own slices
/// of the text in chunks of T characters; each chunk is one forward pass from the hidden state the previous chunk left
/// (no gradient crosses the boundary: truncated BPTT), one BPTT, one clip and one optimizer step. The loss is
/// cross-entropy averaged over the T·B characters (LossReduction.Mean), so it reads in nats per character: ln(V) ≈ 4.1
/// for a model that knows nothing about V ≈ 62 characters. The last tenth of the text is held out: it is read the
/// same way, without updates, before training, after every epoch and at the end, and gives the validation loss.
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
        if (steps > corpus.Length - 1)
        {
            throw new SampleException(
                $"--seq-length {steps} is longer than the text allows: it has {corpus.Length} characters, so at most {corpus.Length - 1} steps.");
        }

        // The held-out tail: a tenth of the text, and at least one chunk of T + 1 characters; the rest is trained on.
        int validationLength = Math.Max((int)(corpus.Length * CharRnnOptions.ValidationFraction), steps + 1);
        int trainLength = corpus.Length - validationLength;
        if (trainLength - 1 < steps)
        {
            throw new SampleException(
                $"the text ({corpus.Length} characters) is too short for --seq-length {steps}: it must hold a chunk of {steps + 1} characters to train on and another in the held-out tail.");
        }

        int usable = trainLength - 1;
        int batch = Math.Min(options.BatchSize, usable / steps);
        if (batch < options.BatchSize)
        {
            log($"note: the training text holds only {batch} slices of {steps} characters, so {batch} streams are read instead of {options.BatchSize}.");
        }

        int slice = usable / batch;            // each stream's share of the training text
        int updatesPerEpoch = slice / steps;   // chunks per stream per epoch
        int validationBatch = Math.Min(batch, (validationLength - 1) / steps);
        int validationSlice = (validationLength - 1) / validationBatch;
        int validationChunks = validationSlice / steps;

        (CharModel model, OptimizerBase<float> optimizer, int startEpoch, int startUpdate, SampleRandom random) =
            Prepare(options, corpus, steps, batch, validationBatch, log);
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

        log($"text: {corpus.Length:N0} characters, {vocabularySize} distinct; {trainLength:N0} trained on, the last {validationLength:N0} held out for validation");
        log($"model: {model.Description}, {model.ParameterCount:N0} parameters, " +
            $"{options.Optimizer} lr {options.LearningRate}, clip {(options.Clip > 0 ? options.Clip.ToString(System.Globalization.CultureInfo.InvariantCulture) : "off")}");
        log($"B = {batch} streams x T = {steps} characters per update, {updatesPerEpoch:N0} updates per epoch, {remaining:N0} updates in this run");

        Clipping clipping = options.CreateClipping();
        List<Matrix<float>> inputs = Enumerable.Range(0, steps).Select(_ => Matrix<float>.Build.Dense(vocabularySize, batch)).ToList();
        int[][] targetClasses = Enumerable.Range(0, steps).Select(_ => new int[batch]).ToArray();
        List<Matrix<float>> validationInputs = Enumerable.Range(0, steps).Select(_ => Matrix<float>.Build.Dense(vocabularySize, validationBatch)).ToList();
        int[][] validationClasses = Enumerable.Range(0, steps).Select(_ => new int[validationBatch]).ToArray();

        var losses = new List<double>();
        var validation = new List<ValidationPoint>();
        var dhNorms = new DhNormHistory(steps, Math.Max(1, updatesPerEpoch / 10));
        var clock = Stopwatch.StartNew();
        int epoch = startEpoch;
        int update = startUpdate;
        int firstUpdate = (startEpoch * updatesPerEpoch) + startUpdate;
        int lastMeasured = 0; // losses.Count at the previous validation
        string prime = corpus.Vocabulary.Contains('\n', StringComparison.Ordinal) ? "\n" : corpus.Vocabulary[..1];

        void SaveCheckpoint()
        {
            Directory.CreateDirectory(options.OutputFolder);
            model.Save(Path.Combine(options.OutputFolder, CheckpointName), optimizer, new TrainingPosition(epoch, update, [random.State]));
        }

        // The validation loss: the held-out tail read by validationBatch streams from a zero state, chunk after chunk
        // carrying the state, as training reads its text; the chunks have equal sizes, so their mean is the per-character mean.
        ValidationPoint Validate()
        {
            double sum = 0;
            for (int chunk = 0; chunk < validationChunks; chunk++)
            {
                Fill(corpus, trainLength, validationSlice, chunk, steps, validationInputs, validationClasses);
                sum += model.EvaluateChunk(validationInputs, SequenceTargets<float>.FromClasses(validationClasses), chunk == 0);
            }

            int count = losses.Count - lastMeasured;
            double train = count == 0 ? double.NaN : losses.Skip(lastMeasured).Average();
            lastMeasured = losses.Count;
            var point = new ValidationPoint(firstUpdate + losses.Count, epoch + ((double)update / updatesPerEpoch), train, sum / validationChunks);
            validation.Add(point);
            return point;
        }

        ValidationPoint start = Validate();
        log($"validation loss before training: {start.ValidationLoss:F4} ({validationBatch} streams x {validationChunks} chunks of {steps} characters)");

        TrainingProgress.Run($"training {remaining:N0} updates", remaining, progress =>
        {
            for (long done = 0; done < remaining; done++)
            {
                Fill(corpus, 0, slice, update, steps, inputs, targetClasses);
                float loss = model.TrainChunk(inputs, SequenceTargets<float>.FromClasses(targetClasses), optimizer, clipping);

                losses.Add(loss);
                dhNorms.Add(model.DhNorms, epoch + ((update + 1.0) / updatesPerEpoch));
                update++;
                if (update == updatesPerEpoch)
                {
                    // Every stream is at the end of its slice: start the next epoch from the beginning, with h_0 = 0.
                    epoch++;
                    update = 0;
                    model.ResetTrainingState();
                    SaveCheckpoint();
                    ValidationPoint point = Validate();
                    progress.WriteLine($"epoch {epoch}: train loss {point.TrainLoss:F4}, validation loss {point.ValidationLoss:F4} (nats per character)");
                }

                double seconds = clock.Elapsed.TotalSeconds;
                double charactersPerSecond = (done + 1) * steps * batch / Math.Max(seconds, 1e-9);
                progress.Report(done + 1, $"epoch {Math.Min(epoch + 1, options.Epochs)}/{options.Epochs}  loss {Smoothed(losses):F3}  val {validation[^1].ValidationLoss:F3}  {charactersPerSecond:N0} chars/s");

                if (options.SampleEvery > 0 && (done + 1) % options.SampleEvery == 0 && done + 1 < remaining)
                {
                    string sample = CharSampler.Generate(model, corpus.Vocabulary, prime, options.SampleLength, options.Temperature, options.TopK, random);
                    progress.WriteLine($"--- after {losses.Count:N0} updates (loss {Smoothed(losses):F3}):");
                    progress.WriteLine(sample.TrimEnd());
                    progress.WriteLine("---");
                }
            }
        });

        double elapsed = clock.Elapsed.TotalSeconds;
        if (lastMeasured < losses.Count)
        {
            ValidationPoint point = Validate(); // a run that stopped mid-epoch (--max-steps)
            log($"after {losses.Count:N0} updates: train loss {point.TrainLoss:F4}, validation loss {point.ValidationLoss:F4} (nats per character)");
        }

        SaveCheckpoint();
        File.WriteAllText(Path.Combine(options.OutputFolder, VocabularyName), corpus.Vocabulary);
        string finalSample = CharSampler.Generate(model, corpus.Vocabulary, prime, options.SampleLength, options.Temperature, options.TopK, random);
        return new CharRnnResult(vocabularySize, losses, firstUpdate, updatesPerEpoch, dhNorms, validation, elapsed,
            remaining * steps * batch / Math.Max(elapsed, 1e-9), finalSample);
    }

    /// <summary>
    /// One chunk's one-hot inputs x_t (V x B) and targets (the next character) for every stream b: stream b reads the
    /// text from <paramref name="start"/> + b·<paramref name="slice"/>, chunk <paramref name="chunk"/> of T characters.
    /// </summary>
    private static void Fill(TextCorpus corpus, int start, int slice, int chunk, int steps, List<Matrix<float>> inputs, int[][] targets)
    {
        int batch = targets[0].Length;
        for (int t = 0; t < steps; t++)
        {
            Matrix<float> x = inputs[t];
            x.Clear();
            for (int b = 0; b < batch; b++)
            {
                int position = start + (b * slice) + (chunk * steps) + t;
                x[corpus.Codes[position], b] = 1;
                targets[t][b] = corpus.Codes[position + 1];
            }
        }
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

    private static (CharModel, OptimizerBase<float>, int Epoch, int Update, SampleRandom) Prepare(
        CharRnnOptions options, TextCorpus corpus, int steps, int batch, int validationBatch, Action<string> log)
    {
        int vocabularySize = corpus.Vocabulary.Length;
        OptimizerBase<float> optimizer = options.CreateOptimizer();
        var random = new SampleRandom(options.Seed);
        if (options.Resume is null && !options.IsVanillaLayer)
        {
            var model = new RecurrentModel<float>(new RecurrentModelOptions(vocabularySize, options.HiddenSize, vocabularySize)
            {
                Cell = options.Cell switch { "lstm" => RecurrentCellKind.Lstm, "gru" => RecurrentCellKind.Gru, _ => RecurrentCellKind.Vanilla },
                Layers = options.Layers,
                Dropout = options.Dropout,
                OutputActivation = OutputActivation.Softmax,
                Seed = options.Seed,
            });
            return (CharModel.ForModel(model, steps, batch, validationBatch), optimizer, 0, 0, random);
        }

        if (options.Resume is null)
        {
            var fresh = new RecurrentLayer<float>(vocabularySize, options.HiddenSize, vocabularySize,
                HiddenActivation.Tanh, OutputActivation.Softmax, options.Seed);
            return (CharModel.ForLayer(fresh, steps, batch, validationBatch), optimizer, 0, 0, random);
        }

        if (!File.Exists(options.Resume))
        {
            throw new SampleException($"the checkpoint '{options.Resume}' does not exist.");
        }

        // The checkpoint's network, whatever it is: a layer's file loads as a RecurrentLayer, a model's as a RecurrentModel.
        Checkpoint<float> checkpoint = ModelFile.LoadCheckpoint<float>(options.Resume);
        RecurrentModel<float> layer = checkpoint.Model;
        string vocabularyFile = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.Resume))!, VocabularyName);
        bool sameVocabulary = File.Exists(vocabularyFile)
            ? File.ReadAllText(vocabularyFile) == corpus.Vocabulary
            : layer.InputSize == vocabularySize && layer.OutputSize == vocabularySize;
        if (!sameVocabulary || layer.Options.HiddenActivation != HiddenActivation.Tanh || layer.Options.OutputActivation != OutputActivation.Softmax)
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

        if (layer.Layers != options.Layers || (layer is RecurrentLayer<float>) != options.IsVanillaLayer)
        {
            log($"note: the checkpoint's network ({layer.Options.Cell}, {layer.Layers} layer(s)) is used (--cell and --layers are ignored when resuming).");
        }

        TrainingPosition position = checkpoint.Position;
        if (position.RandomState.Count == 1)
        {
            random.State = position.RandomState[0];
        }

        log($"resuming '{options.Resume}' at epoch {position.Epoch + 1}, update {position.Batch} (h_0 starts at zero)");
        return (CharModel.ForModel(layer, steps, batch, validationBatch), optimizer, (int)position.Epoch, (int)position.Batch, random);
    }
}
