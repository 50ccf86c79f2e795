using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;
using RnnCore.Tests.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// Format version 2 with <see cref="RecurrentModel{T}"/>: every cell x {1, 2 layers} x {uni, bi} round trips
/// bit-exactly (parameters, options, dropout generator, Forward and a dropout training pass), the header and table are
/// laid out as documented, a vanilla layer is written as version 2 too, and a file given to the wrong call or to a
/// model of another shape is refused as a mismatch that says what differs.
/// </summary>
public abstract class ModelFileV2Tests<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnncore-modelfile-v2-").FullName;

    public static TheoryData<RecurrentCellKind, int, bool> Shapes
    {
        get
        {
            var data = new TheoryData<RecurrentCellKind, int, bool>();
            foreach (RecurrentCellKind cell in Enum.GetValues<RecurrentCellKind>())
            {
                foreach (int layers in new[] { 1, 2 })
                {
                    data.Add(cell, layers, false);
                    data.Add(cell, layers, true);
                }
            }

            return data;
        }
    }

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        GC.SuppressFinalize(this);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_model_round_trips_bit_exactly_with_its_options_and_dropout_generator(RecurrentCellKind cell, int layers, bool bidirectional)
    {
        RecurrentModelOptions options = ModelProblems.Options(cell, layers, bidirectional, OutputActivation.Sigmoid, inputSize: 3, hiddenSize: 4, outputSize: 2, dropout: 0.25, seed: -7)
            with { HiddenActivation = cell == RecurrentCellKind.Vanilla ? HiddenActivation.Relu : HiddenActivation.Tanh };
        var model = new RecurrentModel<T>(options);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(new Random(3), 3, 5, 2);

        // Advance the dropout generator first, so that the file must carry its state, not the seed's.
        model.Forward(inputs, model.CreateCache(5, 2), training: true);
        string path = Path.Combine(_directory, "model.rnncore");
        ModelFile.Save(model, path);
        RecurrentModel<T> loaded = ModelFile.Load<T>(path);

        loaded.Options.Should().Be(options);
        loaded.Parameters.Count.Should().Be(model.Parameters.Count);
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            loaded.Parameters.GetName(i).Should().Be(model.Parameters.GetName(i));
            loaded.Parameters[i].ToArray().Should().Equal(model.Parameters[i].ToArray(), $"{model.Parameters.GetName(i)} must be bit-identical");
        }

        Outputs(loaded.Forward(inputs)).Should().Equal(Outputs(model.Forward(inputs)));

        // The next training passes draw the same dropout masks (only a 2-layer model uses dropout).
        ForwardCache<T> expected = model.CreateCache(5, 2), actual = loaded.CreateCache(5, 2);
        model.Forward(inputs, expected, training: true);
        loaded.Forward(inputs, actual, training: true);
        Outputs(actual).Should().Equal(Outputs(expected));
        loaded.RandomState.Should().Equal(model.RandomState);
    }

    private static string ThisType => typeof(T) == typeof(float) ? "float" : "double";

    private static string OtherType => typeof(T) == typeof(float) ? "double" : "float";

    [Fact]
    public void A_model_and_its_checkpoint_round_trip_through_streams_back_to_back()
    {
        var first = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Gru, 2, true, OutputActivation.Softmax, seed: 1));
        var second = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 1, false, OutputActivation.Identity, seed: 2));
        var adam = new AdamOptimizer<T>(0.01, amsGrad: true);
        adam.Step(second.Parameters, Gradients(second.Parameters, new Random(4)));
        using var stream = new MemoryStream();
        ModelFile.Save(first, stream);
        ModelFile.Save(second, stream, adam, new TrainingPosition(4, 2, [9UL, 8UL, 7UL, 6UL]));
        stream.WriteByte(0x42);
        stream.Position = 0;

        ModelFile.Load<T>(stream).Parameters[0].ToArray().Should().Equal(first.Parameters[0].ToArray());
        Checkpoint<T> checkpoint = ModelFile.LoadCheckpoint<T>(new NonSeekableStream(ReadRest(stream)));
        checkpoint.Model.Options.Should().Be(second.Options);
        checkpoint.Position.Should().Be(new TrainingPosition(4, 2, [9UL, 8UL, 7UL, 6UL]));
        checkpoint.OptimizerState!.StepCount.Should().Be(1);
        checkpoint.OptimizerState.TensorLengths.Should().Equal(Enumerable.Range(0, second.Parameters.Count).Select(second.Parameters.GetLength));
        var restored = new AdamOptimizer<T>(0.01, amsGrad: true);
        checkpoint.RestoreOptimizer(restored);
        restored.StepCount.Should().Be(1);
    }

    [Fact]
    public void The_header_and_table_are_laid_out_as_documented()
    {
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Gru, 2, true, OutputActivation.Identity, inputSize: 3, hiddenSize: 2, outputSize: 4, dropout: 0.5, seed: -3));
        byte[] file = ModelFile.Serialize(model, null, null);
        int size = typeof(T) == typeof(float) ? 4 : 8;

        file.AsSpan(0, 8).ToArray().Should().Equal(0x89, (byte)'R', (byte)'N', (byte)'N', 0x0D, 0x0A, 0x1A, 0x0A);
        BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8)).Should().Be(2);
        BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(12)).Should().Be((ulong)file.Length);
        file.AsSpan(20, 8).ToArray().Should().Equal((byte)size, 2, 3, 1, 1, 0, 0, 0); // size, RecurrentModel, GRU, tanh, identity, no sections, reserved
        Enumerable.Range(0, 5).Select(i => BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(28 + (4 * i)))).Should().Equal(3u, 2u, 4u, 2u, 2u);
        BinaryPrimitives.ReadDoubleLittleEndian(file.AsSpan(48)).Should().Be(0.5);
        BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(56)).Should().Be(-3);
        Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(64 + (8 * i)))).Should().Equal(model.RandomState);
        BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(96)).Should().Be(18u, "4 tensors per layer-direction x 4, plus the head's two");

        // The table: name, rows, columns, in state_dict order.
        int at = 100;
        var table = new List<(string Name, uint Rows, uint Columns)>();
        for (int i = 0; i < 18; i++)
        {
            int length = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(at));
            string name = Encoding.ASCII.GetString(file, at + 2, length);
            table.Add((name, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 2 + length)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 6 + length))));
            at += 10 + length;
        }

        table[0].Should().Be(("rnn.weight_ih_l0", 6u, 3u));
        table[5].Should().Be(("rnn.weight_hh_l0_reverse", 6u, 2u));
        table[8].Should().Be(("rnn.weight_ih_l1", 6u, 4u));
        table[15].Should().Be(("rnn.bias_hh_l1_reverse", 6u, 1u));
        table[16].Should().Be(("head.weight", 4u, 4u));
        table[17].Should().Be(("head.bias", 4u, 1u));
        table.Select(e => e.Name).Should().Equal(Enumerable.Range(0, 18).Select(model.Parameters.GetName));

        // Then the values, column-major: W_ih_l0's (0,0) and (1,0).
        Matrix<T> wih = model.Parameter("rnn.weight_ih_l0");
        T[] first = new T[2];
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(file.AsSpan(at, 2 * size)).CopyTo(first);
        first.Should().Equal(wih[0, 0], wih[1, 0]);
        file.Length.Should().Be(at + (int)(model.Parameters.TotalLength * size) + 4);
        BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(file.Length - 4)).Should().Be(Crc32C.Compute(file.AsSpan(0, file.Length - 4)));
    }

    [Fact]
    public void A_vanilla_layer_is_written_as_version_2_with_its_five_named_parameters()
    {
        var layer = new RecurrentLayer<T>(3, 5, 4, HiddenActivation.Relu, OutputActivation.Sigmoid, seed: 3);
        byte[] file = ModelFile.Serialize(layer, null, null);
        BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8)).Should().Be(2);
        file.AsSpan(21, 4).ToArray().Should().Equal(1, 1, 2, 2); // RecurrentLayer, vanilla, ReLU, sigmoid
        BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(96)).Should().Be(5);
        Encoding.ASCII.GetString(file, 102, 2).Should().Be("Wx");
        RandomProblems.ShouldBeUnchanged(ModelFile.Load<T>(new MemoryStream(file)), RandomProblems.Snapshot(layer));
    }

    [Fact]
    public void One_call_loads_every_file_as_the_network_it_holds_and_LoadInto_refuses_another_kind()
    {
        var layer = new RecurrentLayer<T>(2, 3, 2);
        byte[] layerFile = ModelFile.Serialize(layer, null, null);
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax));
        byte[] modelFile = ModelFile.Serialize(model, null, null);

        // A layer's file (version 2 or 1) comes back as a RecurrentLayer; a model's as a RecurrentModel that is not one.
        ModelFile.Load<T>(new MemoryStream(layerFile)).Should().BeOfType<RecurrentLayer<T>>();
        RecurrentModel<T> loaded = ModelFile.Load<T>(new MemoryStream(modelFile));
        loaded.Should().NotBeOfType<RecurrentLayer<T>>();
        loaded.Options.Should().Be(model.Options);
        string v1 = Path.Combine(RepositoryPaths.Root, "tests", "RnnCore.Tests", "Persistence", "fixtures", "v1", "layer-double-relu-sigmoid.rnncore");
        ModelFile.Load<double>(v1).Should().BeOfType<RecurrentLayer<double>>();

        // A one-layer vanilla model has a b_ih and a b_hh, the layer one b_h: neither file loads into the other kind.
        var vanillaModel = new RecurrentModel<T>(new RecurrentModelOptions(2, 3, 2) { Cell = RecurrentCellKind.Vanilla });
        T[][] before = RandomProblems.Snapshot(vanillaModel);
        FluentActions.Invoking(() => ModelFile.LoadInto(vanillaModel, new MemoryStream(layerFile)))
            .Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Mismatch)
            .WithMessage("the file holds a valid model that does not fit the target model: the file holds a RecurrentLayer but the target is a RecurrentModel. Use ModelFile.Load*");
        RandomProblems.ShouldBeUnchanged(vanillaModel, before);
        FluentActions.Invoking(() => ModelFile.LoadInto(layer, new MemoryStream(ModelFile.Serialize(vanillaModel, null, null))))
            .Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Mismatch)
            .WithMessage("*the file holds a RecurrentModel but the target is a RecurrentLayer*");
    }

    [Fact]
    public void A_file_naming_a_cell_this_build_does_not_know_is_refused_not_read_as_another()
    {
        byte[] file = ModelFile.Serialize(new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Gru, 1, false, OutputActivation.Softmax)), null, null);
        file[22].Should().Be(3, "the GRU's code");
        file[22] = 9;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(file.Length - 4), Crc32C.Compute(file.AsSpan(0, file.Length - 4)));
        FluentActions.Invoking(() => ModelFile.Load<T>(new MemoryStream(file)))
            .Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Invalid)
            .WithMessage("the file is not a valid RnnCore model: the cell code is 9, a cell this build of RnnCore does not know; it knows 1 (vanilla), 2 (LSTM), 3 (GRU) or 4 (LSTM with projections).");
    }

    [Fact]
    public void Loading_into_a_model_of_another_shape_says_what_differs_and_changes_nothing()
    {
        var saved = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, seed: 1));
        string path = Path.Combine(_directory, "into.rnncore");
        ModelFile.Save(saved, path);

        var cases = new (RecurrentModelOptions Options, string Message)[]
        {
            (saved.Options with { Cell = RecurrentCellKind.Gru }, "*the cell is Lstm in the file but Gru in the model*"),
            (saved.Options with { Layers = 1 }, "*layers is 2 in the file but 1 in the model*"),
            (saved.Options with { Bidirectional = false }, "*directions is 2 in the file but 1 in the model*"),
            (saved.Options with { HiddenSize = 5 }, "*hiddenSize H is 3 in the file but 5 in the model*"),
            (saved.Options with { InputSize = 4, OutputSize = 2 }, "*inputSize I is 3 in the file but 4*outputSize O is 3 in the file but 2*"),
            (saved.Options with { Dropout = 0.5 }, "*dropout is 0 in the file but 0.5*"),
        };
        foreach ((RecurrentModelOptions options, string message) in cases)
        {
            var target = new RecurrentModel<T>(options with { Seed = 9 });
            T[][] before = ModelProblems.Snapshot(target);
            ulong[] state = target.RandomState;
            FluentActions.Invoking(() => ModelFile.LoadInto(target, path))
                .Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Mismatch).WithMessage(message).WithMessage("*holds a valid model*");
            ModelProblems.Snapshot(target).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
            target.RandomState.Should().Equal(state);
        }

        var same = new RecurrentModel<T>(saved.Options with { Seed = 9 });
        ModelFile.LoadInto(same, path);
        ModelProblems.Snapshot(same).Should().BeEquivalentTo(ModelProblems.Snapshot(saved), o => o.WithStrictOrdering());
        same.RandomState.Should().Equal(saved.RandomState);
    }

    [Fact]
    public void A_non_finite_parameter_or_a_foreign_optimizer_state_is_refused_on_save_and_nothing_is_written()
    {
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Gru, 1, false, OutputActivation.Softmax));
        var other = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 1, false, OutputActivation.Softmax));
        var adam = new AdamOptimizer<T>(0.01);
        adam.Step(other.Parameters, Gradients(other.Parameters, new Random(1)));
        string path = Path.Combine(_directory, "refused.rnncore");
        FluentActions.Invoking(() => ModelFile.Save(model, path, adam))
            .Should().Throw<ArgumentException>().WithParameterName("optimizer").WithMessage("*built for tensors of lengths*");

        model.Parameter("rnn.bias_hh_l0")[2, 0] = T.NaN;
        FluentActions.Invoking(() => ModelFile.Save(model, path))
            .Should().Throw<ArgumentException>().WithParameterName("network").WithMessage("*rnn.bias_hh_l0 holds NaN at element 2*");
        File.Exists(path).Should().BeFalse();
        Directory.EnumerateFileSystemEntries(_directory).Should().BeEmpty("no temporary file is left either");
    }

    [Fact]
    public void Another_format_version_the_other_element_type_and_trailing_data_are_refused()
    {
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Vanilla, 1, true, OutputActivation.Softmax));
        byte[] file = ModelFile.Serialize(model, null, null);
        byte[] future = (byte[])file.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(future.AsSpan(8), 4);
        ModelFileTests<T>.Reseal(future);
        FluentActions.Invoking(() => ModelFile.Load<T>(new MemoryStream(future)))
            .Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.UnsupportedVersion).WithMessage("*version 4*reads versions 1 to 3 only*");

        byte[] other = typeof(T) == typeof(float)
            ? ModelFile.Serialize(new RecurrentModel<double>(model.Options), null, null)
            : ModelFile.Serialize(new RecurrentModel<float>(model.Options), null, null);
        FluentActions.Invoking(() => ModelFile.Load<T>(new MemoryStream(other)))
            .Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.WrongElementType)
            .WithMessage($"the file holds {(typeof(T) == typeof(float) ? "float64" : "float32")} parameters but was loaded as {ThisType}; load it with ModelFile.Load<{OtherType}>.");

        string path = Path.Combine(_directory, "trailing.rnncore");
        File.WriteAllBytes(path, [.. file, 0]);
        FluentActions.Invoking(() => ModelFile.Load<T>(path))
            .Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Corrupted).WithMessage("*data after its end*");
    }

    [Fact]
    public void A_model_save_is_atomic_and_writes_through_a_symbolic_link()
    {
        var good = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, false, OutputActivation.Softmax, seed: 1));
        string target = Path.Combine(_directory, "target.rnncore");
        string link = Path.Combine(_directory, "link.rnncore");
        ModelFile.Save(good, target);
        File.CreateSymbolicLink(link, target);
        byte[] before = File.ReadAllBytes(target);

        AtomicFile.BeforeRename = _ => throw new IOException("simulated crash before the rename");
        try
        {
            FluentActions.Invoking(() => ModelFile.Save(new RecurrentModel<T>(good.Options with { Seed = 2 }), link))
                .Should().Throw<IOException>().WithMessage("simulated crash*");
        }
        finally
        {
            AtomicFile.BeforeRename = null;
        }

        File.ReadAllBytes(target).Should().Equal(before);
        Directory.GetFiles(_directory).Order().Should().Equal(new[] { link, target }.Order(), "no temporary file is left");

        var next = new RecurrentModel<T>(good.Options with { Seed = 2 });
        ModelFile.Save(next, link);
        new FileInfo(link).LinkTarget.Should().NotBeNull("the link is kept and the file it points to replaced");
        ModelProblems.Snapshot(ModelFile.Load<T>(target)).Should().BeEquivalentTo(ModelProblems.Snapshot(next), o => o.WithStrictOrdering());
    }

    internal static TensorSet<T> Gradients(TensorSet<T> parameters, Random random)
        => new(
            Enumerable.Range(0, parameters.Count).Select(parameters.GetName).ToArray(),
            Enumerable.Range(0, parameters.Count)
                .Select(i => (Memory<T>)Enumerable.Range(0, parameters.GetLength(i)).Select(_ => T.CreateTruncating((2 * random.NextDouble()) - 1)).ToArray())
                .ToList());

    private static T[] Outputs(ForwardCache<T> cache)
        => Enumerable.Range(0, cache.Steps).SelectMany(t => cache.Output(t).ToColumnMajorArray()).ToArray();

    private static byte[] ReadRest(Stream stream)
    {
        using var rest = new MemoryStream();
        stream.CopyTo(rest);
        return rest.ToArray()[..^1]; // without the trailing marker byte
    }
}

public sealed class ModelFileV2TestsDouble : ModelFileV2Tests<double>;

public sealed class ModelFileV2TestsSingle : ModelFileV2Tests<float>;
