using System.Buffers.Binary;
using System.Numerics;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// Seeded property tests of the loaders against damaged files: every truncation, thousands of random byte changes, and
/// changes whose checksum was recomputed (so that forged size fields reach the parser). Each load must either throw
/// <see cref="ModelFormatException"/> or, where the damage leaves a valid file, return a model; never another
/// exception, never a hang, never an allocation far beyond the file's size, and never a silently different model from
/// a damaged RnnCore file.
/// </summary>
public abstract class LoaderRobustnessTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly byte[] _checkpoint;
    private readonly byte[] _safetensors;
    private readonly T[][] _parameters;

    protected LoaderRobustnessTests()
    {
        var layer = new RecurrentLayer<T>(3, 4, 2, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 6);
        var adam = new AdamOptimizer<T>(0.01, amsGrad: true);
        var random = new Random(1);
        var gradients = new TensorSet<T>(
            ["Wx", "Wh", "Wy", "Bh", "By"],
            Enumerable.Range(0, 5).Select(i => (Memory<T>)Enumerable.Range(0, layer.Parameters.GetLength(i)).Select(_ => T.CreateTruncating(random.NextDouble() - 0.5)).ToArray()).ToList());
        adam.Step(layer.Parameters, gradients);
        // A version 1 checkpoint: these tests keep the first release's reader honest (ModelFileV2RobustnessTests does the same for version 2).
        _checkpoint = ModelFileV1.Serialize(layer, adam.CaptureState(), new TrainingPosition(3, 1, [1, 2, 3, 4]));
        _safetensors = SafeTensors.Serialize(layer);
        _parameters = RandomProblems.Snapshot(layer);
    }

    [Fact]
    public void Every_truncation_of_a_checkpoint_is_refused()
    {
        RunWithinLimit(() =>
        {
            for (int length = 0; length < _checkpoint.Length; length++)
            {
                byte[] truncated = _checkpoint[..length];
                ModelFormatException e = LoadModelFile(truncated, seekable: length % 2 == 0)!;
                e.Should().NotBeNull($"a file cut to {length} of {_checkpoint.Length} bytes must be refused");
                e.Error.Should().Be(length == 0 ? ModelFormatError.NotAModelFile : ModelFormatError.Truncated, $"cut to {length} bytes");
            }
        });
    }

    [Fact]
    public void Thousands_of_random_byte_changes_in_a_checkpoint_are_all_refused()
    {
        RunWithinLimit(() =>
        {
            var random = new Random(20261201);
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

                LoadModelFile(damaged, seekable: iteration % 3 != 0).Should().NotBeNull(
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

                // Past the preamble (its damage is covered above), up to the checksum; sizes and counts get extreme values.
                int at = random.Next(ModelFile.PreambleLength, damaged.Length - 4);
                damaged[at] = random.Next(3) switch { 0 => 0xFF, 1 => 0x00, _ => (byte)random.Next(256) };
                ModelFileTests<T>.Reseal(damaged);
                if (LoadModelFile(damaged, seekable: true) is null)
                {
                    loaded++;
                }
                else
                {
                    refused++;
                }
            }

            // Changes inside the parameter or buffer values give valid files; changes to sizes, codes and counts do not.
            refused.Should().BeGreaterThan(100);
            loaded.Should().BeGreaterThan(100);
        });
    }

    [Theory]
    [InlineData(ModelFileV1.SizesOffset + 4, 40000u, "*H=40000*need*bytes of parameters but only*remain*")]
    [InlineData(ModelFileV1.SizesOffset + 4, 0x7FFFFFFFu, "*H=2147483647*more than one .NET array can hold*")]
    [InlineData(ModelFileV1.SizesOffset, 0xFFFFFFFFu, "*size I is 4294967295*")]
    [InlineData(ModelFileV1.SizesOffset + 8, 0u, "*size O is 0*")]
    public void A_forged_size_with_a_valid_checksum_is_refused_before_allocating(int offset, uint value, string message)
    {
        byte[] forged = (byte[])_checkpoint.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(forged.AsSpan(offset), value);
        ModelFileTests<T>.Reseal(forged);
        ModelFormatException e = LoadModelFile(forged, seekable: true)!;
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
            ModelFormatException e = LoadModelFile(forged, seekable)!;
            e.Error.Should().Be(ModelFormatError.Truncated);
        }

        BinaryPrimitives.WriteUInt64LittleEndian(forged.AsSpan(ModelFile.LengthOffset), ulong.MaxValue);
        LoadModelFile(forged, seekable: false)!.Error.Should().Be(ModelFormatError.Corrupted);
    }

    [Fact]
    public void Every_truncation_of_a_safetensors_file_is_refused()
    {
        RunWithinLimit(() =>
        {
            for (int length = 0; length < _safetensors.Length; length++)
            {
                ModelFormatException? e = ImportSafeTensors(_safetensors[..length], out _);
                e.Should().NotBeNull($"a safetensors file cut to {length} of {_safetensors.Length} bytes must be refused");
            }
        });
    }

    [Fact]
    public void Random_byte_changes_in_a_safetensors_header_never_give_a_different_model()
    {
        RunWithinLimit(() =>
        {
            var random = new Random(77);
            int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(_safetensors);
            for (int iteration = 0; iteration < 3000; iteration++)
            {
                byte[] damaged = (byte[])_safetensors.Clone();
                int at = random.Next(iteration < 2500 ? headerEnd : damaged.Length);
                damaged[at] ^= (byte)random.Next(1, 256);
                ModelFormatException? e = ImportSafeTensors(damaged, out RecurrentModel<T>? layer);
                if (e is null && at < headerEnd)
                {
                    // safetensors has no checksum: a header change may be harmless (metadata, padding), never meaningful.
                    RandomProblems.ShouldBeUnchanged(layer!, _parameters);
                }
            }
        });
    }

    [Fact]
    public void A_forged_safetensors_header_length_allocates_only_what_arrives()
    {
        var random = new Random(3);
        for (int iteration = 0; iteration < 500; iteration++)
        {
            byte[] forged = (byte[])_safetensors.Clone();
            BinaryPrimitives.WriteUInt64LittleEndian(forged, iteration == 0 ? SafeTensors.MaxHeaderLength : (ulong)random.NextInt64());
            ImportSafeTensors(forged, out _).Should().NotBeNull();
        }
    }

    /// <summary>Loads a damaged checkpoint: its refusal, or null when it loaded (see <see cref="DamagedFiles.Load"/>).</summary>
    private static ModelFormatException? LoadModelFile(byte[] file, bool seekable) =>
        DamagedFiles.Load(file, seekable, stream => ModelFile.LoadCheckpoint<T>(stream));

    private static ModelFormatException? ImportSafeTensors(byte[] file, out RecurrentModel<T>? layer)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        layer = null;
        try
        {
            layer = SafeTensors.Import<T>(new MemoryStream(file));
            return null;
        }
        catch (ModelFormatException e)
        {
            return e;
        }
        finally
        {
            DamagedFiles.RequireBoundedAllocation(GC.GetAllocatedBytesForCurrentThread() - before, file.Length);
        }
    }

    private static void RunWithinLimit(Action body) => DamagedFiles.RunWithinLimit(body);
}

public sealed class LoaderRobustnessTestsDouble : LoaderRobustnessTests<double>;

public sealed class LoaderRobustnessTestsSingle : LoaderRobustnessTests<float>;
