using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using RnnCore.Internal;
using RnnCore.Models;
using RnnCore.Optimizers;

namespace RnnCore.Persistence;

/// <summary>
/// RnnCore's own model and checkpoint file, for every network (a <see cref="RecurrentLayer{T}"/> or any
/// <see cref="RecurrentModel{T}"/>): versioned, checksummed, saved atomically, and loaded only when every byte checks
/// out. A model file holds the kind of network, its cell, sizes, layers, directions, dropout, activations, its embedding
/// (V, padding id and <c>embedding.weight</c>) when it has one, its dropout generator's state, a table of named tensors
/// and, when the network carries one, its <see cref="Vocabulary"/>; a checkpoint adds the optimizer's state and the training position, so
/// that a run stopped after any batch and resumed from its checkpoint ends with parameters bit-identical to a run that
/// never stopped.
/// </summary>
/// <remarks>
/// <para>
/// This release writes format version 2 (laid out in docs/saving-and-interop.md), or version 3 for a network with an
/// embedding or a vocabulary (version 2 with the embedding's fields and the vocabulary section, which earlier releases
/// refuse as a newer version), and reads versions 1 (the first release's, which only held a
/// <see cref="RecurrentLayer{T}"/>), 2 and 3. A layer's file loads as a
/// <see cref="RecurrentLayer{T}"/> (test it with <c>is RecurrentLayer&lt;T&gt; layer</c>), any other as a
/// <see cref="RecurrentModel{T}"/>. Every number is little-endian; every file starts with the
/// signature 89 52 4E 4E 0D 0A 1A 0A ("\x89RNN\r\n\x1A\n": a text-mode copy or a 7-bit channel breaks it), the format
/// version (uint32) and the length of the whole file (uint64), and ends with the CRC-32C of every byte before it.
/// </para>
/// <para>
/// Loading reads the declared length (never more than the stream holds), checks the checksum, and only then reads the
/// fields, each bounded by the bytes that remain; the model is built only after the whole file is validated. Any
/// problem is a <see cref="ModelFormatException"/>; I/O errors of the file system keep their own types. A valid file
/// whose network differs from the target of a <c>LoadInto</c> is refused with <see cref="ModelFormatError.Mismatch"/>
/// and a message saying what differs. A file naming a cell this build does not know is refused, never read as another.
/// </para>
/// </remarks>
public static class ModelFile
{
    /// <summary>
    /// The newest format version this release writes (3, for a network with an embedding or a vocabulary; any other
    /// network is written as version 2, which earlier releases read). It reads versions 1 to 3.
    /// </summary>
    public const int FormatVersion = 3;

    /// <summary>The file-name extension RnnCore uses for these files, by convention.</summary>
    public const string Extension = ".rnncore";

    internal const int PreambleLength = 20;
    internal const int V1HeaderLength = 36;
    internal const int ChecksumLength = 4;
    internal const int LengthOffset = 12;
    internal const int ElementSizeOffset = 20;

    /// <summary>The file signature: the first 8 bytes of every file.</summary>
    internal static ReadOnlySpan<byte> Signature => [0x89, (byte)'R', (byte)'N', (byte)'N', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// Saves the network, and optionally the optimizer's state and the training position (a checkpoint), to
    /// <paramref name="path"/> atomically: the bytes go to a temporary file in the same directory, are flushed to the
    /// disk, and replace <paramref name="path"/> in one rename, so a crash never leaves a broken file where a good one was.
    /// The file records the network's dropout generator state, so a network loaded from it draws the same masks next.
    /// </summary>
    /// <param name="network">The network: a <see cref="RecurrentLayer{T}"/> or any <see cref="RecurrentModel{T}"/>.</param>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="optimizer">The optimizer whose state to include (one of RnnCore's, which derive from <see cref="OptimizerBase{T}"/>), or null for a plain model file.</param>
    /// <param name="position">The training position to include, or null.</param>
    /// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <exception cref="ArgumentException">The optimizer's state was built for other tensors than the network's, the optimizer is not one of RnnCore's, or <paramref name="network"/> holds a NaN or infinite parameter (such a file could not be loaded again); nothing is written.</exception>
    /// <exception cref="IOException">The file system refused the write (a permission denied or a file-size limit comes as an IOException whose inner exception is .NET's original); an existing file at <paramref name="path"/> is unchanged. See docs/hosting.md.</exception>
    public static void Save<T>(RecurrentModel<T> network, string path, IOptimizer<T>? optimizer = null, TrainingPosition? position = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = ModelFileV2.Serialize(network, ModelFileSections.CaptureState(optimizer), position);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>Writes the network (and optionally the optimizer's state and the training position) to a stream, at its current position.</summary>
    /// <param name="network">The network.</param>
    /// <param name="stream">A writable stream; it is not closed.</param>
    /// <param name="optimizer">The optimizer whose state to include (one of RnnCore's), or null.</param>
    /// <param name="position">The training position to include, or null.</param>
    /// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <exception cref="ArgumentException">The stream is not writable, the optimizer's state was built for other tensors than the network's, the optimizer is not one of RnnCore's, or the network holds a NaN or infinite parameter.</exception>
    public static void Save<T>(RecurrentModel<T> network, Stream stream, IOptimizer<T>? optimizer = null, TrainingPosition? position = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        RequireWritable(stream);
        stream.Write(ModelFileV2.Serialize(network, ModelFileSections.CaptureState(optimizer), position));
    }

    /// <summary>
    /// Loads a network from a file written by <see cref="Save{T}(RecurrentModel{T}, string, IOptimizer{T}, TrainingPosition)"/>
    /// (a checkpoint's extra sections are validated and ignored): a <see cref="RecurrentLayer{T}"/> for a layer's file
    /// (every version 1 file is one), else a <see cref="RecurrentModel{T}"/> with the saved dropout generator state.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <typeparam name="T">The element type the file must hold.</typeparam>
    /// <returns>A new network with the saved options and parameters.</returns>
    /// <exception cref="FileNotFoundException">There is no such file (file-system errors keep their own types).</exception>
    /// <exception cref="ModelFormatException">The file is truncated, corrupted, of an unknown version, of the other element type, names a cell this build does not know, has data after its declared end, or is not a valid model (see <see cref="ModelFormatException.Error"/>).</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static RecurrentModel<T> Load<T>(string path)
        where T : unmanaged, IFloatingPointIeee754<T> => LoadCheckpoint<T>(path).Model;

    /// <summary>Loads a network from a stream, reading exactly the file's declared length from its current position; see <see cref="Load{T}(string)"/>.</summary>
    /// <param name="stream">A readable stream; it is not closed.</param>
    /// <typeparam name="T">The element type the file must hold.</typeparam>
    /// <returns>A new network with the saved options and parameters.</returns>
    /// <exception cref="ModelFormatException">The data is truncated, corrupted, of an unknown version, of the other element type, or not a valid model.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static RecurrentModel<T> Load<T>(Stream stream)
        where T : unmanaged, IFloatingPointIeee754<T> => LoadCheckpoint<T>(stream).Model;

    /// <summary>Loads a network with its optimizer state and training position, when the file holds them.</summary>
    /// <param name="path">The file.</param>
    /// <typeparam name="T">The element type the file must hold.</typeparam>
    /// <returns>The network, and the optimizer state and position or null for each section the file does not hold.</returns>
    /// <exception cref="FileNotFoundException">There is no such file (file-system errors keep their own types).</exception>
    /// <exception cref="ModelFormatException">As for <see cref="Load{T}(string)"/>.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static Checkpoint<T> LoadCheckpoint<T>(string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Guard.RequireSupportedElementType<T>();
        return Build(Parse<T>(ReadWholeFile(path)));
    }

    /// <summary>Loads a network with its optimizer state and training position from a stream, reading exactly the file's declared length.</summary>
    /// <param name="stream">A readable stream; it is not closed.</param>
    /// <typeparam name="T">The element type the file must hold.</typeparam>
    /// <returns>The network, and the optimizer state and position or null for each section the data does not hold.</returns>
    /// <exception cref="ModelFormatException">The data is truncated, corrupted, of an unknown version, of the other element type, or not a valid model.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static Checkpoint<T> LoadCheckpoint<T>(Stream stream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        Guard.RequireSupportedElementType<T>();
        return Build(Parse<T>(ReadFile(stream)));
    }

    /// <summary>
    /// Loads a saved network's parameters (and a model's dropout generator state, and the file's vocabulary when it holds
    /// one) into an existing network of the same kind, cell, layers, directions, sizes, embedding, dropout and activations. The whole file is validated first: on any failure
    /// the network is unchanged.
    /// </summary>
    /// <param name="network">The network to overwrite.</param>
    /// <param name="path">The file.</param>
    /// <typeparam name="T">The element type.</typeparam>
    /// <returns>The loaded checkpoint (its <see cref="Checkpoint{T}.Model"/> is a separate copy; <paramref name="network"/> now holds the same parameters).</returns>
    /// <exception cref="ModelFormatException">As for <see cref="LoadCheckpoint{T}(string)"/>, or the file is a valid model that differs from <paramref name="network"/> (<see cref="ModelFormatError.Mismatch"/>; the message says what).</exception>
    public static Checkpoint<T> LoadInto<T>(RecurrentModel<T> network, string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        return CopyInto(network, LoadCheckpoint<T>(path));
    }

    /// <summary>Loads a saved network's parameters from a stream into an existing network; on any failure the network is unchanged.</summary>
    /// <param name="network">The network to overwrite.</param>
    /// <param name="stream">A readable stream; it is not closed.</param>
    /// <typeparam name="T">The element type.</typeparam>
    /// <returns>The loaded checkpoint.</returns>
    /// <exception cref="ModelFormatException">As for <see cref="LoadCheckpoint{T}(Stream)"/>, or the file's network differs from <paramref name="network"/>.</exception>
    public static Checkpoint<T> LoadInto<T>(RecurrentModel<T> network, Stream stream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        return CopyInto(network, LoadCheckpoint<T>(stream));
    }

    /// <summary>The complete file (the current version) for a network and optional sections.</summary>
    internal static byte[] Serialize<T>(RecurrentModel<T> network, OptimizerState<T>? optimizer, TrainingPosition? position)
        where T : unmanaged, IFloatingPointIeee754<T> => ModelFileV2.Serialize(network, optimizer, position);

    /// <summary>The checks both stream overloads of Save make before serializing anything.</summary>
    private static void RequireWritable(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite)
        {
            throw new ArgumentException("stream is not writable.", nameof(stream));
        }
    }

    internal static ModelFormatException Invalid(string message) => new(ModelFormatError.Invalid, "the file is not a valid RnnCore model: " + message);

    /// <summary>Checks the trailing CRC-32C before any field is trusted.</summary>
    internal static void VerifyChecksum(byte[] file)
    {
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(file.Length - ChecksumLength));
        uint actual = Crc32C.Compute(file.AsSpan(0, file.Length - ChecksumLength));
        if (stored != actual)
        {
            throw new ModelFormatException(
                ModelFormatError.Corrupted,
                $"the file is corrupted: its CRC-32C checksum is 0x{stored:X8} but its contents give 0x{actual:X8}.");
        }
    }

    /// <summary>Checks the element-size byte against <typeparamref name="T"/>; a refusal names the call that reads the file.</summary>
    internal static void RequireElementType<T>(int elementSize)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (elementSize != 4 && elementSize != 8)
        {
            throw Invalid($"the element size is {elementSize}; expected 4 (float32) or 8 (float64).");
        }

        if (elementSize != LittleEndianTensors.SizeOf<T>())
        {
            string held = elementSize == 4 ? "float32" : "float64";
            throw new ModelFormatException(
                ModelFormatError.WrongElementType,
                $"the file holds {held} parameters but was loaded as {TypeName<T>()}; load it with ModelFile.Load<{(elementSize == 4 ? "float" : "double")}>.");
        }
    }

    /// <summary>The element type as C# spells it in a call (float, double), for messages that name a call to make.</summary>
    internal static string TypeName<T>()
        where T : unmanaged => LittleEndianTensors.SizeOf<T>() == 4 ? "float" : "double";

    /// <summary>Reads a whole file from a path, refusing data after its declared end.</summary>
    private static byte[] ReadWholeFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        byte[] file = ReadFile(stream);
        if (stream.Length != file.Length)
        {
            throw new ModelFormatException(
                ModelFormatError.Corrupted,
                $"the file is {stream.Length:N0} bytes long but declares {file.Length:N0}: there is data after its end.");
        }

        return file;
    }

    /// <summary>
    /// Reads one whole file from the stream: the preamble, then exactly the declared length (bounded by what the stream
    /// holds, never allocated up front from the declaration alone).
    /// </summary>
    private static byte[] ReadFile(Stream stream)
    {
        if (!stream.CanRead)
        {
            throw new ArgumentException("stream is not readable.", nameof(stream));
        }

        Span<byte> preamble = stackalloc byte[PreambleLength];
        int read = StreamReading.ReadUpTo(stream, preamble);
        ReadOnlySpan<byte> got = preamble.Slice(0, read);
        int compared = Math.Min(read, Signature.Length);
        if (!got.Slice(0, compared).SequenceEqual(Signature.Slice(0, compared)) || read == 0)
        {
            throw new ModelFormatException(
                ModelFormatError.NotAModelFile,
                read == 0
                    ? "the file is empty; an RnnCore model file starts with the signature 89 52 4E 4E 0D 0A 1A 0A."
                    : $"the file does not start with the RnnCore model signature 89 52 4E 4E 0D 0A 1A 0A but with {Convert.ToHexString(got.Slice(0, compared))}; it is not an RnnCore model file.");
        }

        if (read < PreambleLength)
        {
            // The version is checked first when it is there, so that a short file of a future version says so.
            if (read >= 12)
            {
                RequireVersion(BinaryPrimitives.ReadUInt32LittleEndian(got.Slice(8)));
            }

            throw new ModelFormatException(
                ModelFormatError.Truncated, $"the file is truncated: it ends after {read} bytes, inside the {PreambleLength}-byte preamble.");
        }

        uint version = BinaryPrimitives.ReadUInt32LittleEndian(got.Slice(8));
        RequireVersion(version);
        int minimum = (version == ModelFileV1.Version ? V1HeaderLength : ModelFileV2.HeaderLengthOf(version)) + ChecksumLength;
        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(got.Slice(LengthOffset));
        if (declared < (ulong)minimum || declared > (ulong)Array.MaxLength)
        {
            throw new ModelFormatException(
                ModelFormatError.Corrupted,
                $"the file declares a length of {declared:N0} bytes, outside the possible range {minimum}..{Array.MaxLength:N0}; the length field is damaged.");
        }

        byte[] rest = StreamReading.ReadExactly(stream, (long)declared - PreambleLength, "the file (by its declared length)");
        byte[] file = new byte[(int)declared];
        got.CopyTo(file);
        rest.CopyTo(file, PreambleLength);
        return file;
    }

    private static void RequireVersion(uint version)
    {
        if (version != ModelFileV1.Version && version != ModelFileV2.Version && version != ModelFileV2.TokenVersion)
        {
            throw new ModelFormatException(
                ModelFormatError.UnsupportedVersion,
                $"the file has format version {version}, but this release of RnnCore reads versions 1 to 3 only"
                + (version > FormatVersion ? "; it was written by a newer RnnCore." : "."));
        }
    }

    /// <summary>Validates a whole file of either version; builds nothing.</summary>
    private static ModelFileV2.Contents<T> Parse<T>(byte[] file)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8));
        return version == ModelFileV1.Version ? ModelFileV1.Parse<T>(file) : ModelFileV2.Parse<T>(file, version);
    }

    /// <summary>Only now, with the whole file validated, builds the network: a layer for a layer's file, else a model.</summary>
    private static Checkpoint<T> Build<T>(ModelFileV2.Contents<T> contents)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ModelFileV2.Header header = contents.Header;
        RecurrentModel<T> network;
        try
        {
            // The constructors' own checks are a last guard.
            network = header.IsLayer
                ? new RecurrentLayer<T>(header.InputSize, header.HiddenSize, header.OutputSize, header.Hidden, header.Output)
                : new RecurrentModel<T>(header.Options);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(ModelFormatError.Invalid, $"the file is not a valid RnnCore model: {e.Message}", e);
        }

        for (int i = 0; i < contents.Tensors.Length; i++)
        {
            contents.Tensors[i].CopyTo(network.Parameters[i]);
        }

        if (!header.IsLayer)
        {
            network.RandomState = header.RandomState;
        }

        // Parse checked the vocabulary against V (or I) and the padding id; the setter checks again.
        network.Vocabulary = contents.Vocabulary;
        return new Checkpoint<T>(network, contents.OptimizerState, contents.Position);
    }

    private static Checkpoint<T> CopyInto<T>(RecurrentModel<T> network, Checkpoint<T> loaded)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        RecurrentModel<T> source = loaded.Model;
        RecurrentModelOptions file = source.Options, target = network.Options;
        string noun = network.Noun;
        string[] differences = new[]
        {
            source.FusedBias != network.FusedBias ? $"the file holds a {(source.FusedBias ? "RecurrentLayer" : "RecurrentModel")} but the target is a {(network.FusedBias ? "RecurrentLayer" : "RecurrentModel")}" : null,
            file.Cell != target.Cell ? $"the cell is {file.Cell} in the file but {target.Cell} in the {noun}" : null,
            file.Layers != target.Layers ? $"layers is {file.Layers} in the file but {target.Layers} in the {noun}" : null,
            file.Bidirectional != target.Bidirectional ? $"directions is {(file.Bidirectional ? 2 : 1)} in the file but {(target.Bidirectional ? 2 : 1)} in the {noun}" : null,
            file.InputSize != target.InputSize ? $"inputSize I is {file.InputSize} in the file but {target.InputSize} in the {noun}" : null,
            file.HiddenSize != target.HiddenSize ? $"hiddenSize H is {file.HiddenSize} in the file but {target.HiddenSize} in the {noun}" : null,
            file.ProjectionSize != target.ProjectionSize ? $"projectionSize P is {file.ProjectionSize?.ToString(CultureInfo.InvariantCulture) ?? "none"} in the file but {target.ProjectionSize?.ToString(CultureInfo.InvariantCulture) ?? "none"} in the {noun}" : null,
            file.OutputSize != target.OutputSize ? $"outputSize O is {file.OutputSize} in the file but {target.OutputSize} in the {noun}" : null,
            file.VocabularySize != target.VocabularySize ? $"the embedding's VocabularySize V is {file.VocabularySize} in the file but {target.VocabularySize} in the {noun}" : null,
            file.PaddingId != target.PaddingId ? $"the embedding's PaddingId is {file.PaddingId?.ToString(CultureInfo.InvariantCulture) ?? "none"} in the file but {target.PaddingId?.ToString(CultureInfo.InvariantCulture) ?? "none"} in the {noun}" : null,
            file.Dropout != target.Dropout ? $"dropout is {file.Dropout} in the file but {target.Dropout} in the {noun}" : null,
            file.HiddenActivation != target.HiddenActivation && source.Cell.Description.UsesHiddenActivation ? $"the hidden activation is {file.HiddenActivation} in the file but {target.HiddenActivation} in the {noun}" : null,
            file.OutputActivation != target.OutputActivation ? $"the output activation is {file.OutputActivation} in the file but {target.OutputActivation} in the {noun}" : null,
        }.OfType<string>().ToArray();
        if (differences.Length != 0)
        {
            // The file is fine; the network is not the one it was saved from. Say what differs, not that the file is bad.
            throw new ModelFormatException(
                ModelFormatError.Mismatch,
                $"the file holds a valid model that does not fit the target {noun}: {string.Join("; ", differences)}. " +
                "Use ModelFile.Load to create a network of the saved shape.");
        }

        // A file with a vocabulary gives the network that vocabulary; a file without one leaves the network's as it was.
        network.CopyStateFrom(source);
        return loaded;
    }
}
