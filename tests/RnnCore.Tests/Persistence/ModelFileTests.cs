using System.Buffers.Binary;
using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// The model and checkpoint file: bit-identical round trips through paths and streams, optimizer state and training
/// position, the byte layout the format documents, one clear exception per kind of bad file, atomic saves, and a layer
/// left unchanged when loading into it fails.
/// </summary>
public abstract class ModelFileTests<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnncore-modelfile-").FullName;

    public static TheoryData<HiddenActivation, OutputActivation> Activations => OnnxExportTests<T>.Activations;

    public static TheoryData<string> OptimizerNames => new("sgd", "sgd-plain", "adagrad", "rmsprop", "adam");

    private static string OtherType => typeof(T) == typeof(float) ? "double" : "float";

    private static string ThisType => typeof(T) == typeof(float) ? "float" : "double";

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        GC.SuppressFinalize(this);
    }

    [Theory]
    [MemberData(nameof(Activations))]
    public void A_saved_model_loads_bit_identical_with_its_sizes_and_activations(HiddenActivation hidden, OutputActivation output)
    {
        var layer = new RecurrentLayer<T>(3, 5, 4, hidden, output, seed: 3);
        string path = PathOf("model.rnncore");
        ModelFile.Save(layer, path);

        RecurrentLayer<T> loaded = (RecurrentLayer<T>)ModelFile.Load<T>(path);

        loaded.InputSize.Should().Be(3);
        loaded.HiddenSize.Should().Be(5);
        loaded.OutputSize.Should().Be(4);
        loaded.HiddenActivation.Should().Be(hidden);
        loaded.OutputActivation.Should().Be(output);
        RandomProblems.ShouldBeUnchanged(loaded, RandomProblems.Snapshot(layer));
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(new Random(2), 3, 4, 2);
        ForwardCache<T> expected = layer.Forward(inputs);
        ForwardCache<T> actual = loaded.Forward(inputs);
        RandomProblems.AllOutputs(actual).Should().Equal(RandomProblems.AllOutputs(expected));
    }

    [Fact]
    public void Streams_read_exactly_one_file_so_that_files_can_be_concatenated()
    {
        var first = new RecurrentLayer<T>(2, 3, 2, seed: 1);
        var second = new RecurrentLayer<T>(4, 2, 3, HiddenActivation.Relu, OutputActivation.Identity, seed: 2);
        using var stream = new MemoryStream();
        ModelFile.Save(first, stream);
        ModelFile.Save(second, stream);
        stream.WriteByte(0x42);
        stream.Position = 0;

        RandomProblems.ShouldBeUnchanged(ModelFile.Load<T>(stream), RandomProblems.Snapshot(first));
        RandomProblems.ShouldBeUnchanged(ModelFile.Load<T>(stream), RandomProblems.Snapshot(second));
        stream.ReadByte().Should().Be(0x42);
    }

    [Fact]
    public void A_non_seekable_stream_loads_too()
    {
        var layer = new RecurrentLayer<T>(3, 4, 2, seed: 5);
        byte[] bytes = ModelFile.Serialize(layer, null, null);
        using var stream = new NonSeekableStream(bytes);
        RandomProblems.ShouldBeUnchanged(ModelFile.Load<T>(stream), RandomProblems.Snapshot(layer));
    }

    [Fact]
    public void The_version_1_header_is_laid_out_as_documented()
    {
        var layer = new RecurrentLayer<T>(3, 5, 4, HiddenActivation.Relu, OutputActivation.Sigmoid, seed: 3);
        byte[] file = ModelFileV1.Serialize(layer, null, null);
        int size = typeof(T) == typeof(float) ? 4 : 8;
        long parameters = (5 * 3) + (5 * 5) + (4 * 5) + 5 + 4;

        file.AsSpan(0, 8).ToArray().Should().Equal(0x89, (byte)'R', (byte)'N', (byte)'N', 0x0D, 0x0A, 0x1A, 0x0A);
        BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8)).Should().Be(1);
        BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(12)).Should().Be((ulong)file.Length);
        file.Length.Should().Be((int)(36 + (parameters * size) + 4));
        file[20].Should().Be((byte)size);
        file[21].Should().Be(2, "ReLU is hidden activation code 2");
        file[22].Should().Be(2, "sigmoid is output activation code 2");
        file[23].Should().Be(0, "a plain model file has no optional sections");
        BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(24)).Should().Be(3);
        BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(28)).Should().Be(5);
        BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(32)).Should().Be(4);

        // W_x's first two elements, column-major: (0,0) then (1,0).
        T[] first = new T[2];
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(file.AsSpan(36, 2 * size)).CopyTo(first);
        first.Should().Equal(layer.Wx[0, 0], layer.Wx[1, 0]);
        BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(file.Length - 4)).Should().Be(Crc32C.Compute(file.AsSpan(0, file.Length - 4)));
    }

    [Fact]
    public void Crc32C_reproduces_the_published_check_value()
    {
        Crc32C.Compute("123456789"u8).Should().Be(0xE3069283u);
        Crc32C.Compute([]).Should().Be(0u);
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void A_checkpoint_restores_the_optimizer_so_that_the_next_steps_are_bit_identical(string name)
    {
        var layer = new RecurrentLayer<T>(3, 4, 2, seed: 9);
        OptimizerBase<T> optimizer = CreateOptimizer(name);
        var random = new Random(4);
        for (int step = 0; step < 3; step++)
        {
            optimizer.Step(layer.Parameters, Gradients(layer, random));
        }

        optimizer.LearningRate = 0.02; // a schedule's current value must come back too
        var position = new TrainingPosition(7, 3, [1UL, ulong.MaxValue, 0x0123456789ABCDEFUL, 42UL]);
        string path = PathOf("checkpoint.rnncore");
        ModelFile.Save(layer, path, optimizer, position);

        Checkpoint<T> checkpoint = ModelFile.LoadCheckpoint<T>(path);
        checkpoint.Position.Should().Be(position);
        checkpoint.OptimizerState!.StepCount.Should().Be(3);
        checkpoint.OptimizerState.LearningRate.Should().Be(0.02);
        checkpoint.OptimizerState.OptimizerName.Should().Be(OptimizerState<T>.NameOf(optimizer.GetType()));
        OptimizerBase<T> resumed = CreateOptimizer(name);
        checkpoint.RestoreOptimizer(resumed);
        resumed.StepCount.Should().Be(3);
        resumed.LearningRate.Should().Be(0.02);

        for (int step = 0; step < 3; step++)
        {
            TensorSet<T> gradients = Gradients(layer, random);
            optimizer.Step(layer.Parameters, gradients);
            resumed.Step(checkpoint.Model.Parameters, gradients);
        }

        RandomProblems.ShouldBeUnchanged(checkpoint.Model, RandomProblems.Snapshot(layer));
    }

    [Fact]
    public void An_optimizer_that_has_not_stepped_and_a_plain_model_round_trip_without_buffers()
    {
        var layer = new RecurrentLayer<T>(2, 2, 2, seed: 1);
        using var stream = new MemoryStream();
        ModelFile.Save(layer, stream, new AdamOptimizer<T>(0.01));
        stream.Position = 0;
        Checkpoint<T> checkpoint = ModelFile.LoadCheckpoint<T>(stream);
        checkpoint.OptimizerState!.StepCount.Should().Be(0);
        checkpoint.OptimizerState.TensorLengths.Should().BeEmpty();
        checkpoint.Position.Should().BeNull();

        Checkpoint<T> plain = ModelFile.LoadCheckpoint<T>(new MemoryStream(ModelFile.Serialize(layer, null, null)));
        plain.OptimizerState.Should().BeNull();
        plain.Position.Should().BeNull();
        Action restore = () => plain.RestoreOptimizer(new AdamOptimizer<T>());
        restore.Should().Throw<InvalidOperationException>().WithMessage("*no optimizer state*");
    }

    [Fact]
    public void State_restored_into_another_kind_of_optimizer_or_other_options_is_refused_and_changes_nothing()
    {
        var layer = new RecurrentLayer<T>(2, 2, 2, seed: 1);
        var sgd = new SgdOptimizer<T>(0.1, momentum: 0.9);
        sgd.Step(layer.Parameters, Gradients(layer, new Random(1)));
        OptimizerState<T> state = sgd.CaptureState();

        var adam = new AdamOptimizer<T>(0.5);
        Action kind = () => adam.RestoreState(state);
        kind.Should().Throw<ArgumentException>().WithMessage("*SgdOptimizer*AdamOptimizer*");
        var plainSgd = new SgdOptimizer<T>(0.5);
        Action options = () => plainSgd.RestoreState(state);
        options.Should().Throw<ArgumentException>().WithMessage("*1 buffers per tensor*keeps 0*");
        adam.LearningRate.Should().Be(0.5);
        plainSgd.LearningRate.Should().Be(0.5);
        plainSgd.StepCount.Should().Be(0);
    }

    [Fact]
    public void Saving_an_optimizer_of_another_model_or_one_that_is_not_RnnCore_s_is_refused()
    {
        var layer = new RecurrentLayer<T>(2, 2, 2, seed: 1);
        var other = new RecurrentLayer<T>(2, 3, 2, seed: 1);
        var sgd = new SgdOptimizer<T>(0.1, momentum: 0.9);
        sgd.Step(other.Parameters, Gradients(other, new Random(1)));
        Action wrongModel = () => ModelFile.Save(layer, new MemoryStream(), sgd);
        wrongModel.Should().Throw<ArgumentException>().WithParameterName("optimizer").WithMessage("*lengths [6, 9, 6, 3, 2]*[4, 4, 4, 2, 2]*");

        Action foreign = () => ModelFile.Save(layer, new MemoryStream(), new ForeignOptimizer());
        foreign.Should().Throw<ArgumentException>().WithParameterName("optimizer").WithMessage("*ForeignOptimizer*does not expose its state*");
        using var stream = new MemoryStream();
        ModelFile.Save(layer, stream, new SgdOptimizer<T>(0.1));
        stream.Position = 0;
        Action restore = () => ModelFile.LoadCheckpoint<T>(stream).RestoreOptimizer(new ForeignOptimizer());
        restore.Should().Throw<ArgumentException>().WithParameterName("optimizer");
    }

    [Fact]
    public void A_captured_state_is_a_copy_that_later_steps_do_not_change()
    {
        var layer = new RecurrentLayer<T>(2, 2, 2, seed: 1);
        var adam = new AdamOptimizer<T>(0.1, amsGrad: true);
        var random = new Random(3);
        adam.Step(layer.Parameters, Gradients(layer, random));
        OptimizerState<T> state = adam.CaptureState();
        T[] before = state.Buffer(0, 2).ToArray();
        adam.Step(layer.Parameters, Gradients(layer, random));
        state.Buffer(0, 2).ToArray().Should().Equal(before);
        state.BuffersPerTensor.Should().Be(3, "AMSGrad keeps m, v and max v");
    }

    [Fact]
    public void An_empty_file_or_another_format_is_not_a_model_file()
    {
        Expect(ModelFormatError.NotAModelFile, [], "*empty*");
        Expect(ModelFormatError.NotAModelFile, "{\"hello\": 1}"u8.ToArray(), "*does not start with the RnnCore model signature*");
        byte[] safetensors = SafeTensors.Serialize(new RecurrentLayer<T>(2, 2, 2));
        Expect(ModelFormatError.NotAModelFile, safetensors, "*not an RnnCore model file*");
    }

    [Fact]
    public void A_truncated_file_says_how_many_bytes_are_missing()
    {
        byte[] file = ModelFile.Serialize(new RecurrentLayer<T>(3, 4, 2, seed: 1), null, null);
        Expect(ModelFormatError.Truncated, file[..^1], "*truncated*needs*more bytes*");
        Expect(ModelFormatError.Truncated, file[..15], "*truncated*preamble*");
        Expect(ModelFormatError.Truncated, file[..4], "*truncated*");
    }

    [Fact]
    public void A_changed_byte_is_reported_as_a_checksum_mismatch()
    {
        byte[] file = ModelFile.Serialize(new RecurrentLayer<T>(3, 4, 2, seed: 1), null, null);
        file[40] ^= 0x10;
        Expect(ModelFormatError.Corrupted, file, "*corrupted*CRC-32C*");
    }

    [Fact]
    public void Another_format_version_is_refused_even_with_a_valid_checksum()
    {
        byte[] file = ModelFile.Serialize(new RecurrentLayer<T>(3, 4, 2, seed: 1), null, null);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(8), 4);
        Reseal(file);
        Expect(ModelFormatError.UnsupportedVersion, file, "*format version 4*reads versions 1 to 3 only*newer RnnCore*");
    }

    [Fact]
    public void The_other_element_type_is_refused_with_the_call_that_would_load_it()
    {
        byte[] file = typeof(T) == typeof(float)
            ? ModelFile.Serialize(new RecurrentLayer<double>(2, 3, 2), null, null)
            : ModelFile.Serialize(new RecurrentLayer<float>(2, 3, 2), null, null);
        string held = OtherType == "float" ? "float32" : "float64";
        Expect(ModelFormatError.WrongElementType, file, $"the file holds {held} parameters but was loaded as {ThisType}; load it with ModelFile.Load<{OtherType}>.");
    }

    [Fact]
    public void Data_after_the_declared_end_of_a_file_is_refused()
    {
        byte[] file = ModelFile.Serialize(new RecurrentLayer<T>(2, 2, 2), null, null);
        string path = PathOf("trailing.rnncore");
        File.WriteAllBytes(path, [.. file, 0]);
        Action load = () => ModelFile.Load<T>(path);
        load.Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Corrupted).WithMessage("*data after its end*");
    }

    [Fact]
    public void A_forged_but_resealed_field_is_reported_as_invalid()
    {
        byte[] file = ModelFileV1.Serialize(new RecurrentLayer<T>(2, 2, 2), null, null);
        file[21] = 9;
        Reseal(file);
        Expect(ModelFormatError.Invalid, file, "*hidden activation code is 9*");

        file = ModelFileV1.Serialize(new RecurrentLayer<T>(2, 2, 2), null, null);
        int size = typeof(T) == typeof(float) ? 4 : 8;
        (typeof(T) == typeof(float) ? BitConverter.GetBytes(float.NaN) : BitConverter.GetBytes(double.NaN)).CopyTo(file, 36 + size);
        Reseal(file);
        Expect(ModelFormatError.Invalid, file, "*parameter Wx holds NaN at element 1*");
    }

    [Fact]
    public void Loading_into_a_layer_overwrites_it_only_when_the_whole_file_is_valid()
    {
        var saved = new RecurrentLayer<T>(3, 4, 2, seed: 1);
        string path = PathOf("into.rnncore");
        ModelFile.Save(saved, path);

        var target = new RecurrentLayer<T>(3, 4, 2, seed: 2);
        T[][] before = RandomProblems.Snapshot(target);
        byte[] corrupt = File.ReadAllBytes(path);
        corrupt[^10] ^= 1;
        Action corrupted = () => ModelFile.LoadInto(target, new MemoryStream(corrupt));
        corrupted.Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Corrupted);
        RandomProblems.ShouldBeUnchanged(target, before);

        var otherShape = new RecurrentLayer<T>(3, 5, 2, seed: 2);
        T[][] otherBefore = RandomProblems.Snapshot(otherShape);
        Action shape = () => ModelFile.LoadInto(otherShape, path);
        shape.Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Mismatch)
            .WithMessage("*valid model*hiddenSize H is 4 in the file but 5 in the layer*")
            .Which.Message.Should().NotContain("not a valid", "the file is valid; only the layer differs");
        RandomProblems.ShouldBeUnchanged(otherShape, otherBefore);

        ModelFile.LoadInto(target, path);
        RandomProblems.ShouldBeUnchanged(target, RandomProblems.Snapshot(saved));
    }

    [Fact]
    public void A_save_that_fails_before_the_rename_leaves_the_old_file_and_no_temporary_file()
    {
        var good = new RecurrentLayer<T>(3, 4, 2, seed: 1);
        string path = PathOf("atomic.rnncore");
        ModelFile.Save(good, path);
        byte[] before = File.ReadAllBytes(path);

        AtomicFile.BeforeRename = temporary =>
        {
            File.Exists(temporary).Should().BeTrue();
            Path.GetDirectoryName(temporary).Should().Be(Path.GetDirectoryName(Path.GetFullPath(path)));
            throw new IOException("simulated crash before the rename");
        };
        try
        {
            Action save = () => ModelFile.Save(new RecurrentLayer<T>(3, 4, 2, seed: 2), path);
            save.Should().Throw<IOException>().WithMessage("simulated crash*");
        }
        finally
        {
            AtomicFile.BeforeRename = null;
        }

        File.ReadAllBytes(path).Should().Equal(before);
        Directory.GetFiles(_directory).Should().Equal(path);

        ModelFile.Save(new RecurrentLayer<T>(3, 4, 2, seed: 2), path);
        Directory.GetFiles(_directory).Should().Equal(path);
        RandomProblems.ShouldBeUnchanged(ModelFile.Load<T>(path), RandomProblems.Snapshot(new RecurrentLayer<T>(3, 4, 2, seed: 2)));
    }

    [Fact]
    public void TrainingPosition_validates_copies_and_compares_by_value()
    {
        ulong[] words = [1, 2, 3, 4];
        var position = new TrainingPosition(2, 5, words);
        words[0] = 99;
        position.RandomState.Should().Equal(1UL, 2UL, 3UL, 4UL);
        position.Should().Be(new TrainingPosition(2, 5, [1, 2, 3, 4]));
        position.GetHashCode().Should().Be(new TrainingPosition(2, 5, [1, 2, 3, 4]).GetHashCode());
        position.Should().NotBe(new TrainingPosition(2, 5, [1, 2, 3]));
        new TrainingPosition(0, 0).RandomState.Should().BeEmpty();
        Action negative = () => _ = new TrainingPosition(-1, 0);
        negative.Should().Throw<ArgumentOutOfRangeException>();
        Action tooLong = () => _ = new TrainingPosition(0, 0, new ulong[17]);
        tooLong.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("randomState");
    }

    private sealed class ForeignOptimizer : IOptimizer<T>
    {
        public double LearningRate { get; set; } = 0.1;

        public long StepCount => 0;

        public void Step(TensorSet<T> parameters, TensorSet<T> gradients)
        {
        }

        public void Reset()
        {
        }
    }

    internal static OptimizerBase<T> CreateOptimizer(string name) => name switch
    {
        "sgd" => new SgdOptimizer<T>(0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01),
        "sgd-plain" => new SgdOptimizer<T>(0.05),
        "adagrad" => new AdagradOptimizer<T>(0.1, learningRateDecay: 0.01, initialAccumulatorValue: 0.1),
        "rmsprop" => new RmsPropOptimizer<T>(0.01, momentum: 0.5, centered: true),
        _ => new AdamOptimizer<T>(0.01, amsGrad: true, weightDecay: 0.01),
    };

    /// <summary>Recomputes the checksum after a deliberate change, to reach the checks behind it.</summary>
    internal static void Reseal(byte[] file) =>
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(file.Length - 4), Crc32C.Compute(file.AsSpan(0, file.Length - 4)));

    private static TensorSet<T> Gradients(RecurrentLayer<T> layer, Random random)
    {
        TensorSet<T> parameters = layer.Parameters;
        var tensors = new List<Memory<T>>();
        for (int i = 0; i < parameters.Count; i++)
        {
            tensors.Add(Enumerable.Range(0, parameters.GetLength(i)).Select(_ => T.CreateTruncating((2 * random.NextDouble()) - 1)).ToArray());
        }

        return new TensorSet<T>(Enumerable.Range(0, parameters.Count).Select(parameters.GetName).ToArray(), tensors);
    }

    private static void Expect(ModelFormatError error, byte[] file, string message)
    {
        Action load = () => ModelFile.Load<T>(new MemoryStream(file));
        load.Should().Throw<ModelFormatException>().Where(e => e.Error == error, $"the error should be {error}").WithMessage(message);
    }

    private string PathOf(string name) => Path.Combine(_directory, name);
}

public sealed class ModelFileTestsDouble : ModelFileTests<double>;

public sealed class ModelFileTestsSingle : ModelFileTests<float>;
