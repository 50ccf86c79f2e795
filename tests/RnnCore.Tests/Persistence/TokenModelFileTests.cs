using System.Buffers.Binary;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;
using RnnCore.Tests.Models;
using RnnCore.Tests.Training;
using RnnCore.Training;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// Networks with token inputs in the model file (format version 3): the embedding's V, padding id and
/// <c>embedding.weight</c> round trip bit for bit with the vocabulary the network carries; a network without either is
/// still written as version 2; checkpoints keep the optimizer's state of <c>embedding.weight</c>, so a trainer resumed
/// from one ends bit-identical; a vocabulary that does not fit the network, and a file whose vocabulary or embedding
/// fields are damaged, are refused.
/// </summary>
public sealed class TokenModelFileTests : IDisposable
{
    private const int V = 9, E = 3;

    private readonly string _directory = Directory.CreateTempSubdirectory("rnncore-token-file-").FullName;

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        GC.SuppressFinalize(this);
    }

    [Theory]
    [InlineData(RecurrentCellKind.Gru, 2, true, 0)]
    [InlineData(RecurrentCellKind.Lstm, 1, false, null)]
    [InlineData(RecurrentCellKind.Vanilla, 2, false, 4)]
    public void A_network_with_an_embedding_and_its_vocabulary_round_trips_bit_for_bit(RecurrentCellKind cell, int layers, bool bidirectional, int? padding)
    {
        var model = new RecurrentModel<double>(TokenInputTests.EmbeddingOptions(cell, layers, bidirectional, V, padding, E) with { Seed = 3 });
        // The vocabulary's padding id is 0: a network with another padding id carries none here.
        Vocabulary words = Words(V);
        if (padding is null or 0)
        {
            model.Vocabulary = words;
        }

        string path = Path.Combine(_directory, "tokens.rnncore");
        ModelFile.Save(model, path);
        byte[] file = File.ReadAllBytes(path);
        BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8)).Should().Be(3, "a network with an embedding is written as version 3");

        RecurrentModel<double> loaded = ModelFile.Load<double>(path);
        loaded.Options.Should().Be(model.Options);
        Enumerable.Range(0, loaded.Parameters.Count).Select(loaded.Parameters.GetName).Should().Equal(Enumerable.Range(0, model.Parameters.Count).Select(model.Parameters.GetName));
        loaded.Parameters.GetName(0).Should().Be("embedding.weight");
        for (int p = 0; p < model.Parameters.Count; p++)
        {
            loaded.Parameters[p].ToArray().Should().Equal(model.Parameters[p].ToArray(), model.Parameters.GetName(p));
        }

        if (model.Vocabulary is null)
        {
            loaded.Vocabulary.Should().BeNull();
        }
        else
        {
            loaded.Vocabulary!.Tokens.Should().Equal(words.Tokens);
            loaded.Vocabulary.ByCharacters.Should().Be(words.ByCharacters);
            loaded.Vocabulary.LowerCase.Should().Be(words.LowerCase);
            loaded.Vocabulary.Encode("the cat, THE dog").Should().Equal(words.Encode("the cat, THE dog"), "the loaded model reads text as the trained one did");
        }

        // The same outputs on the same ids (the padded positions are not read).
        int[][] ids = TokenInputTests.RandomIds(new Random(5), V);
        int[] lengths = [ids.Length, 2, 1, ids.Length - 1];
        ForwardCache<double> a = model.CreateCache(ids.Length, ids[0].Length), b = loaded.CreateCache(ids.Length, ids[0].Length);
        model.Forward(ids, a, lengths: lengths);
        loaded.Forward(ids, b, lengths: lengths);
        for (int t = 0; t < ids.Length; t++)
        {
            b.Output(t).ToColumnMajorArray().Should().Equal(a.Output(t).ToColumnMajorArray());
        }
    }

    [Fact]
    public void A_network_without_an_embedding_or_a_vocabulary_is_still_written_as_version_2_and_ids_without_an_embedding_carry_a_vocabulary()
    {
        var plain = new RecurrentModel<float>(new RecurrentModelOptions(V, 4, 2) { Cell = RecurrentCellKind.Gru });
        BinaryPrimitives.ReadUInt32LittleEndian(ModelFile.Serialize(plain, null, null).AsSpan(8)).Should().Be(2, "earlier releases read it");

        // Ids without an embedding: the vocabulary gives the I one-hot columns; the file is version 3 for its section.
        plain.Vocabulary = Words(V);
        byte[] file = ModelFile.Serialize(plain, null, null);
        BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8)).Should().Be(3);
        RecurrentModel<float> loaded = ModelFile.Load<float>(new MemoryStream(file));
        loaded.Vocabulary!.Tokens.Should().Equal(plain.Vocabulary.Tokens);
        loaded.HasEmbedding.Should().BeFalse();

        // LoadInto gives the target the file's vocabulary.
        var target = new RecurrentModel<float>(plain.Options with { Seed = 8 });
        ModelFile.LoadInto(target, new MemoryStream(file));
        target.Vocabulary!.Tokens.Should().Equal(plain.Vocabulary.Tokens);
    }

    [Fact]
    public void A_character_vocabulary_with_lone_surrogates_survives_the_file()
    {
        Vocabulary characters = Vocabulary.FromCharacters(["a😀b", "ab"], lowerCase: true);
        characters.Tokens.Should().Contain("\uD83D", "an emoji is two UTF-16 characters, each a token");
        var model = new RecurrentModel<double>(new RecurrentModelOptions(2, 3, 2) { VocabularySize = characters.Count, PaddingId = 0 }) { Vocabulary = characters };
        RecurrentModel<double> loaded = ModelFile.Load<double>(new MemoryStream(ModelFile.Serialize(model, null, null)));
        loaded.Vocabulary!.Tokens.Should().Equal(characters.Tokens);
        loaded.Vocabulary.ByCharacters.Should().BeTrue();
        loaded.Vocabulary.LowerCase.Should().BeTrue();
    }

    [Fact]
    public void A_vocabulary_that_does_not_fit_the_network_is_refused_naming_both()
    {
        var model = new RecurrentModel<double>(TokenInputTests.EmbeddingOptions(RecurrentCellKind.Gru, 1, false, V, 0, E));
        Vocabulary small = Words(V - 1);
        ((Action)(() => model.Vocabulary = small)).Should().Throw<ArgumentException>().WithMessage($"*holds {V - 1} tokens*VocabularySize {V}*").Which.ParamName.Should().Be("value");
        model.Vocabulary.Should().BeNull("a refused vocabulary leaves the network as it was");

        var shifted = new RecurrentModel<double>(TokenInputTests.EmbeddingOptions(RecurrentCellKind.Gru, 1, false, V, 3, E));
        ((Action)(() => shifted.Vocabulary = Words(V))).Should().Throw<ArgumentException>().WithMessage("*padding id is 0*PaddingId 3*");

        var dense = new RecurrentModel<double>(new RecurrentModelOptions(4, 3, 2));
        ((Action)(() => dense.Vocabulary = Words(V))).Should().Throw<ArgumentException>().WithMessage($"*holds {V} tokens*ids in [0, 4)*input size*");
    }

    [Fact]
    public void A_damaged_vocabulary_section_or_embedding_field_is_refused_and_nothing_is_loaded()
    {
        var model = new RecurrentModel<float>(TokenInputTests.EmbeddingOptions(RecurrentCellKind.Lstm, 1, false, V, 0, E)) { Vocabulary = Words(V) };
        byte[] file = ModelFile.Serialize(model, null, null);
        int section = file.Length - ModelFile.ChecksumLength - (int)ModelFileSections.VocabularyLength(model.Vocabulary!);

        Refused(file, f => f[section] = 3, "*vocabulary's mode is 3*");
        Refused(file, f => f[section + 1] = 2, "*lower-casing flag is 2*");
        Refused(file, f => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(section + 2), 1), "*padding and unknown ids are 1 and 1*");
        Refused(file, f => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(section + 10), 1_000_000), "*vocabulary holds 1000000 tokens*");
        Refused(file, f => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(section + 14), 0), "*token 0 is 0 characters long*");

        // The first token must be the padding token: change its first character.
        Refused(file, f => BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(section + 18), 'X'), "*vocabulary is damaged*'<pad>'*");

        // A duplicate token (id 3 written as id 2's).
        Vocabulary words = model.Vocabulary!;
        int id2 = section + 14 + words.Tokens.Take(2).Sum(t => 4 + (2 * t.Length));
        if (words.Tokens[2].Length == words.Tokens[3].Length)
        {
            Refused(file, f => f.AsSpan(id2, 4 + (2 * words.Tokens[2].Length)).CopyTo(f.AsSpan(id2 + 4 + (2 * words.Tokens[2].Length))), "*vocabulary is damaged*already holds*");
        }

        // The header's V or padding id changed: the table's embedding.weight no longer fits, or the padding id is out of range.
        Refused(file, f => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(ModelFileV2.VocabularySizeOffset), V + 1), "*embedding.weight*");
        Refused(file, f => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(ModelFileV2.VocabularySizeOffset + 4), V), $"*padding id is {V}*below V = {V}*");
        Refused(file, f => f[ModelFileV2.KindOffset + 4] |= 8, "*sections byte is 0x0C*bits 0*1*2*");

        // A version 2 file may not announce a vocabulary.
        var plain = new RecurrentModel<float>(new RecurrentModelOptions(3, 4, 2));
        byte[] v2 = ModelFile.Serialize(plain, null, null);
        Refused(v2, f => f[ModelFileV2.KindOffset + 4] = 4, "*sections byte is 0x04; only bits 0 (optimizer) and 1 (position)*");
    }

    [Fact]
    public void A_checkpoint_keeps_the_embedding_s_optimizer_state_and_a_resumed_trainer_ends_bit_identical()
    {
        var random = new Random(12);
        SequenceDataset<double> data = new(Enumerable.Range(0, 10).Select(n =>
            Sequence<double>.FromTokens(Enumerable.Range(0, 2 + (n % 4)).Select(_ => 1 + random.Next(V - 1)).ToArray(), [n % 2])));
        RecurrentModelOptions options = TokenInputTests.EmbeddingOptions(RecurrentCellKind.Gru, 2, true, V, 0, E) with { OutputActivation = OutputActivation.Softmax, Dropout = 0.2 };
        TrainerOptions Options(string? path, ITrainingCallback? stop = null) => new()
        {
            Epochs = 4, BatchSize = 3, Seed = 5, CheckpointPath = path, Callbacks = stop is null ? [] : [stop],
        };

        var expected = new RecurrentModel<double>(options) { Vocabulary = Words(V) };
        new Trainer<double>(expected, new AdamOptimizer<double>(0.01), Options(null)).Fit(data);

        string path = Path.Combine(_directory, "checkpoint.rnncore");
        var stop = new DelegateCallback(onEpoch: r => r.Epoch == 2 ? TrainingDecision.Stop : TrainingDecision.Continue);
        var interrupted = new RecurrentModel<double>(options) { Vocabulary = Words(V) };
        new Trainer<double>(interrupted, new AdamOptimizer<double>(0.01), Options(path, stop)).Fit(data);

        Checkpoint<double> checkpoint = ModelFile.LoadCheckpoint<double>(path);
        checkpoint.OptimizerState!.TensorLengths[0].Should().Be(V * E, "Adam's moments of embedding.weight are in the checkpoint");
        checkpoint.Model.Vocabulary!.Tokens.Should().Equal(Words(V).Tokens);

        var resumed = new RecurrentModel<double>(options with { Seed = 77 });
        new Trainer<double>(resumed, new AdamOptimizer<double>(0.01), Options(path)).Resume(path, data);
        resumed.Vocabulary!.Tokens.Should().Equal(Words(V).Tokens, "the resumed network reads text as the interrupted one did");
        for (int p = 0; p < expected.Parameters.Count; p++)
        {
            resumed.Parameters[p].ToArray().Should().Equal(expected.Parameters[p].ToArray(), expected.Parameters.GetName(p));
        }
    }

    [Fact]
    public void Every_truncation_and_resealed_byte_change_of_a_version_3_checkpoint_is_refused_or_loads_never_anything_else()
    {
        var model = new RecurrentModel<float>(TokenInputTests.EmbeddingOptions(RecurrentCellKind.Lstm, 2, true, V, 0, E)) { Vocabulary = Words(V) };
        var adam = new AdamOptimizer<float>(0.01);
        adam.Step(model.Parameters, ModelFileV2Tests<float>.Gradients(model.Parameters, new Random(1)));
        byte[] checkpoint = ModelFile.Serialize(model, adam.CaptureState(), new TrainingPosition(2, 0, [1, 2, 3, 4]));
        for (int length = 0; length < checkpoint.Length; length++)
        {
            FluentActions.Invoking(() => ModelFile.LoadCheckpoint<float>(new MemoryStream(checkpoint[..length])))
                .Should().Throw<ModelFormatException>($"a file cut to {length} of {checkpoint.Length} bytes");
        }

        // One byte changed and the checksum recomputed: the field checks see it. Values may change (the file then loads);
        // anything else is a ModelFormatException, never another exception.
        var random = new Random(21);
        int refused = 0, loaded = 0;
        int vocabulary = checkpoint.Length - ModelFile.ChecksumLength - (int)ModelFileSections.VocabularyLength(model.Vocabulary!);
        for (int iteration = 0; iteration < 2000; iteration++)
        {
            byte[] damaged = (byte[])checkpoint.Clone();
            int at = iteration % 2 == 0 ? random.Next(vocabulary, checkpoint.Length - ModelFile.ChecksumLength) : random.Next(ModelFile.PreambleLength, checkpoint.Length - ModelFile.ChecksumLength);
            damaged[at] ^= (byte)random.Next(1, 256);
            ModelFileTests<float>.Reseal(damaged);
            try
            {
                Checkpoint<float> result = ModelFile.LoadCheckpoint<float>(new MemoryStream(damaged));
                result.Model.Vocabulary!.Count.Should().Be(V, "a loaded file's vocabulary still gives the network's ids");
                loaded++;
            }
            catch (ModelFormatException)
            {
                refused++;
            }
        }

        refused.Should().BeGreaterThan(500);
        loaded.Should().BeGreaterThan(100, "changes to token characters and parameter values give valid files");
    }

    /// <summary>A word vocabulary of exactly <paramref name="count"/> ids (padding and unknown included).</summary>
    private static Vocabulary Words(int count)
    {
        string[] words = ["the", "cat", "dog", "sat", "on", "mat", "a", "log", "ran", "far", "and", "hid"];
        return Vocabulary.FromTokens([Vocabulary.PaddingToken, Vocabulary.UnknownToken, .. words.Take(count - 2)], byCharacters: false, lowerCase: true);
    }

    private static void Refused(byte[] file, Action<byte[]> damage, string message)
    {
        byte[] copy = (byte[])file.Clone();
        damage(copy);
        ModelFileTests<float>.Reseal(copy);
        FluentActions.Invoking(() => ModelFile.Load<float>(new MemoryStream(copy)))
            .Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Invalid).WithMessage(message);
    }
}
