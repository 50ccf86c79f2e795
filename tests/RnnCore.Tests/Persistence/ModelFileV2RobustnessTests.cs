using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;
using RnnCore.Tests.Models;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// <see cref="LoaderRobustnessTests{T}"/> for format version 2: a small stacked bidirectional LSTM checkpoint (Adam
/// state and position) cut at every length, thousands of random byte changes, changes with a recomputed checksum, and
/// forged sizes, counts and tables written consistently by hand. Each load must throw <see cref="ModelFormatException"/>
/// of the expected kind or return a model; never another exception, a hang, or an allocation far beyond the file's size.
/// </summary>
public abstract class ModelFileV2RobustnessTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly byte[] _checkpoint;

    protected ModelFileV2RobustnessTests()
    {
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, inputSize: 2, hiddenSize: 2, outputSize: 2, dropout: 0.2, seed: 6));
        var adam = new AdamOptimizer<T>(0.01, amsGrad: true);
        adam.Step(model.Parameters, ModelFileV2Tests<T>.Gradients(model.Parameters, new Random(1)));
        _checkpoint = ModelFile.Serialize(model, adam.CaptureState(), new TrainingPosition(3, 1, [1, 2, 3, 4]));
    }

    [Fact]
    public void Every_truncation_of_a_model_checkpoint_is_refused()
    {
        RunWithinLimit(() =>
        {
            for (int length = 0; length < _checkpoint.Length; length++)
            {
                ModelFormatException e = Load(_checkpoint[..length], seekable: length % 2 == 0)!;
                e.Should().NotBeNull($"a file cut to {length} of {_checkpoint.Length} bytes must be refused");
                e.Error.Should().Be(length == 0 ? ModelFormatError.NotAModelFile : ModelFormatError.Truncated, $"cut to {length} bytes");
            }
        });
    }

    [Fact]
    public void Thousands_of_random_byte_changes_in_a_model_checkpoint_are_all_refused()
    {
        RunWithinLimit(() =>
        {
            var random = new Random(20261202);
            for (int iteration = 0; iteration < 4000; iteration++)
            {
                byte[] damaged = (byte[])_checkpoint.Clone();
                int changes = iteration < 3000 ? 1 : random.Next(2, 9);
                for (int c = 0; c < changes; c++)
                {
                    damaged[random.Next(damaged.Length)] ^= (byte)random.Next(1, 256);
                }

                if (damaged.AsSpan().SequenceEqual(_checkpoint))
                {
                    continue; // two changes cancelled out
                }

                Load(damaged, seekable: iteration % 3 != 0).Should().NotBeNull(
                    $"iteration {iteration}: {changes} changed bytes must be refused (signature, version, length or checksum)");
            }
        });
    }

    [Fact]
    public void Resealed_random_changes_reach_the_field_checks_and_never_crash_or_over_allocate()
    {
        RunWithinLimit(() =>
        {
            var random = new Random(5);
            int refused = 0, loaded = 0;
            for (int iteration = 0; iteration < 3000; iteration++)
            {
                byte[] damaged = (byte[])_checkpoint.Clone();

                // Past the preamble, up to the checksum; the header and table are a quarter of the file, so aim there half the time.
                int end = iteration % 2 == 0 ? TableEnd(_checkpoint) : damaged.Length - 4;
                int at = random.Next(ModelFile.PreambleLength, end);
                damaged[at] = random.Next(3) switch { 0 => 0xFF, 1 => 0x00, _ => (byte)random.Next(256) };
                ModelFileTests<T>.Reseal(damaged);
                if (Load(damaged, seekable: true) is null)
                {
                    loaded++;
                }
                else
                {
                    refused++;
                }
            }

            // Changes inside the values (parameters, buffers, generator) give valid files; changes to sizes, codes, names and counts do not.
            refused.Should().BeGreaterThan(300);
            loaded.Should().BeGreaterThan(300);
        });
    }

    [Theory]
    [InlineData(ModelFileV2.SizesOffset, 0xFFFFFFFFu, "*size I is 4294967295*")]
    [InlineData(ModelFileV2.SizesOffset + 8, 0u, "*size O is 0*")]
    [InlineData(ModelFileV2.LayersOffset, 0x7FFFFFFFu, "*the table lists 18 tensors but*has 17179869178*")]
    [InlineData(ModelFileV2.LayersOffset + 4, 3u, "*directions D is 3*")]
    [InlineData(ModelFileV2.TensorCountOffset, 17u, "*the table lists 17 tensors but*has 18*")]
    [InlineData(ModelFileV2.SizesOffset + 4, 3u, "*tensor 'rnn.weight_ih_l0' is 8 x 2 in the table but the header's sizes give 12 x 2*")]
    [InlineData(ModelFileV2.HeaderLength, 0xFFFFu, "*tensor 0's name is 65535 bytes long*")]
    [InlineData(ModelFileV2.HeaderLength + 2, 0x00000072u, "*tensor 0 is named 'r\0\0\0*")]
    public void A_forged_header_or_table_field_with_a_valid_checksum_is_refused_before_allocating(int offset, uint value, string message)
    {
        byte[] forged = (byte[])_checkpoint.Clone();
        if (offset == ModelFileV2.HeaderLength)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(forged.AsSpan(offset), (ushort)value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(forged.AsSpan(offset), value);
        }

        ModelFileTests<T>.Reseal(forged);
        ModelFormatException e = Load(forged, seekable: true)!;
        e.Error.Should().Be(ModelFormatError.Invalid);
        e.Message.Should().Match(message.Replace("\0", "?", StringComparison.Ordinal));
    }

    [Fact]
    public void Forged_codes_dropout_and_generator_state_are_refused_with_what_is_wrong()
    {
        Expect(f => f[ModelFileV2.KindOffset] = 3, "*model kind code is 3*");
        Expect(f => f[ModelFileV2.KindOffset + 1] = 0, "*cell code is 0*");
        Expect(f => f[ModelFileV2.KindOffset + 4] = 0x80, "*sections byte is 0x80*");
        Expect(f => BinaryPrimitives.WriteDoubleLittleEndian(f.AsSpan(ModelFileV2.DropoutOffset), double.NaN), "*dropout probability is NaN*");
        Expect(f => BinaryPrimitives.WriteDoubleLittleEndian(f.AsSpan(ModelFileV2.DropoutOffset), 1.0), "*dropout probability is 1*");
        Expect(f => f.AsSpan(ModelFileV2.RandomStateOffset, 32).Clear(), "*generator state is four zero words*");
        Expect(f => f[ModelFileV2.KindOffset] = 1, "*a RecurrentLayer is a vanilla cell, 1 layer*but the header says*");
        Expect(
            f =>
            {
                // A NaN in the first parameter value.
                int at = TableEnd(f) + (typeof(T) == typeof(float) ? 4 : 8);
                (typeof(T) == typeof(float) ? BitConverter.GetBytes(float.NaN) : BitConverter.GetBytes(double.NaN)).CopyTo(f, at);
            },
            "*parameter rnn.weight_ih_l0 holds NaN at element 1*");
    }

    [Theory]
    [InlineData(RecurrentCellKind.Vanilla, 40000, 1, "*need*bytes of parameters but only*remain*")]
    [InlineData(RecurrentCellKind.Vanilla, 0x7FFFFFFF, 1, "*rnn.weight_ih_l0*more than one .NET array can hold*")]
    [InlineData(RecurrentCellKind.Gru, 4, 1_000_000, "*the table of 4000002 tensors needs at least*bytes but only*remain*")]
    public void A_consistently_forged_header_and_table_is_refused_before_allocating(RecurrentCellKind cell, int hiddenSize, int layers, string message)
    {
        ModelFormatException e = Load(Forge(cell, inputSize: 2, hiddenSize, outputSize: 2, layers, writeTable: layers == 1), seekable: false)!;
        e.Should().NotBeNull();
        e.Error.Should().Be(ModelFormatError.Invalid);
        e.Message.Should().Match(message);
    }

    [Fact]
    public void A_forged_file_length_on_a_short_stream_allocates_only_what_arrives()
    {
        byte[] forged = (byte[])_checkpoint.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(forged.AsSpan(ModelFile.LengthOffset), (ulong)Array.MaxLength);
        foreach (bool seekable in new[] { true, false })
        {
            Load(forged, seekable)!.Error.Should().Be(ModelFormatError.Truncated);
        }

        BinaryPrimitives.WriteUInt64LittleEndian(forged.AsSpan(ModelFile.LengthOffset), ulong.MaxValue);
        Load(forged, seekable: false)!.Error.Should().Be(ModelFormatError.Corrupted);
        BinaryPrimitives.WriteUInt64LittleEndian(forged.AsSpan(ModelFile.LengthOffset), 50);
        Load(forged, seekable: false)!.Message.Should().Match("*outside the possible range 104..*");
    }

    /// <summary>
    /// A version 2 file written by hand whose header and table agree with each other (as an attacker would write them),
    /// followed by only 64 bytes of values.
    /// </summary>
    private static byte[] Forge(RecurrentCellKind cell, int inputSize, int hiddenSize, int outputSize, int layers, bool writeTable)
    {
        long gates = cell switch { RecurrentCellKind.Vanilla => 1, RecurrentCellKind.Lstm => 4, _ => 3 };
        var table = new List<(string Name, long Rows, long Columns)>();
        for (int k = 0; writeTable && k < layers; k++)
        {
            long inputRows = k == 0 ? inputSize : hiddenSize;
            table.Add(($"rnn.weight_ih_l{k}", gates * hiddenSize, inputRows));
            table.Add(($"rnn.weight_hh_l{k}", gates * hiddenSize, hiddenSize));
            table.Add(($"rnn.bias_ih_l{k}", gates * hiddenSize, 1));
            table.Add(($"rnn.bias_hh_l{k}", gates * hiddenSize, 1));
        }

        if (writeTable)
        {
            table.Add(("head.weight", outputSize, hiddenSize));
            table.Add(("head.bias", outputSize, 1));
        }

        using var body = new MemoryStream();
        var w = new BinaryWriter(body);
        w.Write(new byte[] { 0x89, (byte)'R', (byte)'N', (byte)'N', 0x0D, 0x0A, 0x1A, 0x0A });
        w.Write(2u);
        w.Write(0UL); // length, patched below
        w.Write(new byte[] { (byte)(typeof(T) == typeof(float) ? 4 : 8), 2, (byte)(cell switch { RecurrentCellKind.Vanilla => 1, RecurrentCellKind.Lstm => 2, _ => 3 }), 1, 3, 0, 0, 0 });
        w.Write((uint)inputSize);
        w.Write((uint)hiddenSize);
        w.Write((uint)outputSize);
        w.Write((uint)layers);
        w.Write(1u);
        w.Write(0.0);
        w.Write(0);
        w.Write(0);
        w.Write(1UL);
        w.Write(2UL);
        w.Write(3UL);
        w.Write(4UL);
        w.Write((uint)((4L * layers) + 2));
        foreach ((string name, long rows, long columns) in table)
        {
            w.Write((ushort)name.Length);
            w.Write(Encoding.ASCII.GetBytes(name));
            w.Write((uint)rows);
            w.Write((uint)columns);
        }

        w.Write(new byte[64]);
        w.Write(0u); // checksum, sealed below
        byte[] file = body.ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(ModelFile.LengthOffset), (ulong)file.Length);
        ModelFileTests<T>.Reseal(file);
        return file;
    }

    /// <summary>The offset just past the table of a version 2 file (where the values start).</summary>
    private static int TableEnd(byte[] file)
    {
        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(ModelFileV2.TensorCountOffset));
        int at = ModelFileV2.HeaderLength;
        for (int i = 0; i < count; i++)
        {
            at += 2 + BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(at)) + 8;
        }

        return at;
    }

    private void Expect(Action<byte[]> forge, string message)
    {
        byte[] forged = (byte[])_checkpoint.Clone();
        forge(forged);
        ModelFileTests<T>.Reseal(forged);
        ModelFormatException e = Load(forged, seekable: true)!;
        e.Should().NotBeNull(message);
        e.Error.Should().Be(ModelFormatError.Invalid);
        e.Message.Should().Match(message);
    }

    /// <summary>Loads a damaged model checkpoint: its refusal, or null when it loaded (see <see cref="DamagedFiles.Load"/>).</summary>
    private static ModelFormatException? Load(byte[] file, bool seekable) =>
        DamagedFiles.Load(file, seekable, stream => ModelFile.LoadCheckpoint<T>(stream));

    private static void RunWithinLimit(Action body) => DamagedFiles.RunWithinLimit(body);
}

public sealed class ModelFileV2RobustnessTestsDouble : ModelFileV2RobustnessTests<double>;

public sealed class ModelFileV2RobustnessTestsSingle : ModelFileV2RobustnessTests<float>;
