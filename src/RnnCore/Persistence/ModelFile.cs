using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using RnnCore.Internal;
using RnnCore.Optimizers;

namespace RnnCore.Persistence;

/// <summary>
/// RnnCore's own model and checkpoint file: versioned, checksummed, saved atomically, and loaded only when every byte
/// checks out. A model file holds the sizes, activations and five parameters; a checkpoint adds the optimizer's state
/// and the training position, so that a run stopped after epoch k and resumed from its checkpoint ends with parameters
/// bit-identical to a run that never stopped.
/// </summary>
/// <remarks>
/// <para>Format version 1, every number little-endian:</para>
/// <code>
/// offset  size  field
///      0     8  signature 89 52 4E 4E 0D 0A 1A 0A   ("\x89RNN\r\n\x1A\n": a text-mode copy or a 7-bit channel breaks it)
///      8     4  format version (uint32) = 1
///     12     8  length of the whole file in bytes, checksum included (uint64)
///     20     1  element size: 4 = float32, 8 = float64
///     21     1  hidden activation: 1 = tanh, 2 = ReLU
///     22     1  output activation: 1 = identity, 2 = sigmoid, 3 = softmax
///     23     1  sections: bit 0 = optimizer state follows, bit 1 = training position follows; other bits 0
///     24    12  I, H, O (uint32 each, positive)
///     36        W_x (H·I), W_h (H·H), W_y (O·H), b_h (H), b_y (O): column-major elements, as MathNet stores them
///   then, if bit 0: name length (uint16, ≤ 64), name (ASCII, e.g. "AdamOptimizer"), learning rate (float64),
///                   step count (int64), buffers per tensor (uint32, ≤ 8), tensor count (uint32: 0 before the first
///                   step, else 5), each tensor's length (uint32, equal to the parameter's), the buffers tensor-major
///   then, if bit 1: epoch (int64), batch (int64), random-state word count (uint32, ≤ 16), the words (uint64 each)
///   last       4  CRC-32C of every byte before it
/// </code>
/// <para>
/// Loading reads the declared length (never more than the stream holds), checks the checksum, and only then reads the
/// fields, each bounded by the bytes that remain; the model is built only after the whole file is validated. Any
/// problem is a <see cref="ModelFormatException"/>; I/O errors of the file system keep their own types.
/// </para>
/// </remarks>
public static class ModelFile
{
    /// <summary>The format version this release writes and reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>The file-name extension RnnCore uses for these files, by convention.</summary>
    public const string Extension = ".rnncore";

    internal const int PreambleLength = 20;
    internal const int HeaderLength = 36;
    internal const int ChecksumLength = 4;
    internal const int LengthOffset = 12;
    internal const int ElementSizeOffset = 20;
    internal const int SizesOffset = 24;

    private const byte OptimizerSection = 1;
    private const byte PositionSection = 2;

    /// <summary>The file signature: the first 8 bytes of every file.</summary>
    internal static ReadOnlySpan<byte> Signature => [0x89, (byte)'R', (byte)'N', (byte)'N', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// Saves the model, and optionally the optimizer's state and the training position (a checkpoint), to
    /// <paramref name="path"/> atomically: the bytes go to a temporary file in the same directory, are flushed to the
    /// disk, and replace <paramref name="path"/> in one rename, so a crash never leaves a broken file where a good one was.
    /// </summary>
    /// <param name="layer">The model.</param>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="optimizer">The optimizer whose state to include (one of RnnCore's, which derive from <see cref="OptimizerBase{T}"/>), or null for a plain model file.</param>
    /// <param name="position">The training position to include, or null.</param>
    /// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <exception cref="ArgumentException">The optimizer's state was built for another shape than the layer's, or the optimizer is not one of RnnCore's.</exception>
    /// <exception cref="IOException">The file system refused the write (a permission denied or a file-size limit comes as an IOException whose inner exception is .NET's original); an existing file at <paramref name="path"/> is unchanged. See docs/hosting.md.</exception>
    /// <exception cref="ArgumentException"><paramref name="layer"/> holds a NaN or infinite parameter (such a file could not be loaded again); nothing is written.</exception>
    public static void Save<T>(RecurrentLayer<T> layer, string path, IOptimizer<T>? optimizer = null, TrainingPosition? position = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = Serialize(layer, CaptureState(optimizer), position);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>Writes the model (and optionally the optimizer's state and the training position) to a stream, at its current position.</summary>
    /// <param name="layer">The model.</param>
    /// <param name="stream">A writable stream; it is not closed.</param>
    /// <param name="optimizer">The optimizer whose state to include (one of RnnCore's), or null.</param>
    /// <param name="position">The training position to include, or null.</param>
    /// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <exception cref="ArgumentException">The stream is not writable, the optimizer's state was built for another shape than the layer's, or the optimizer is not one of RnnCore's.</exception>
    public static void Save<T>(RecurrentLayer<T> layer, Stream stream, IOptimizer<T>? optimizer = null, TrainingPosition? position = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite)
        {
            throw new ArgumentException("stream is not writable.", nameof(stream));
        }

        stream.Write(Serialize(layer, CaptureState(optimizer), position));
    }

    /// <summary>Loads a model from a file written by <see cref="Save{T}(RecurrentLayer{T}, string, IOptimizer{T}, TrainingPosition)"/> (a checkpoint's extra sections are validated and ignored).</summary>
    /// <param name="path">The file.</param>
    /// <typeparam name="T">The element type the file must hold.</typeparam>
    /// <returns>A new layer with the saved sizes, activations and parameters.</returns>
    /// <exception cref="FileNotFoundException">There is no such file (file-system errors keep their own types).</exception>
    /// <exception cref="ModelFormatException">The file is truncated, corrupted, of an unknown version, of the other element type, or not a valid model (see <see cref="ModelFormatException.Error"/>).</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static RecurrentLayer<T> Load<T>(string path)
        where T : unmanaged, IFloatingPointIeee754<T> => LoadCheckpoint<T>(path).Layer;

    /// <summary>Loads a model from a stream, reading exactly the file's declared length from its current position.</summary>
    /// <param name="stream">A readable stream; it is not closed.</param>
    /// <typeparam name="T">The element type the file must hold.</typeparam>
    /// <returns>A new layer with the saved sizes, activations and parameters.</returns>
    /// <exception cref="ModelFormatException">The data is truncated, corrupted, of an unknown version, of the other element type, or not a valid model.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static RecurrentLayer<T> Load<T>(Stream stream)
        where T : unmanaged, IFloatingPointIeee754<T> => LoadCheckpoint<T>(stream).Layer;

    /// <summary>Loads a model with its optimizer state and training position, when the file holds them.</summary>
    /// <param name="path">The file.</param>
    /// <typeparam name="T">The element type the file must hold.</typeparam>
    /// <returns>The layer, and the optimizer state and position or null for each section the file does not hold.</returns>
    /// <exception cref="ModelFormatException">The file is truncated, corrupted, of an unknown version, of the other element type, has data after its declared end, or is not a valid model.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static Checkpoint<T> LoadCheckpoint<T>(string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Guard.RequireSupportedElementType<T>();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        byte[] file = ReadFile(stream);
        if (stream.Length != file.Length)
        {
            throw new ModelFormatException(
                ModelFormatError.Corrupted,
                $"the file is {stream.Length:N0} bytes long but declares {file.Length:N0}: there is data after its end.");
        }

        return Parse<T>(file);
    }

    /// <summary>Loads a model with its optimizer state and training position from a stream, reading exactly the file's declared length.</summary>
    /// <param name="stream">A readable stream; it is not closed.</param>
    /// <typeparam name="T">The element type the file must hold.</typeparam>
    /// <returns>The layer, and the optimizer state and position or null for each section the data does not hold.</returns>
    /// <exception cref="ModelFormatException">The data is truncated, corrupted, of an unknown version, of the other element type, or not a valid model.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static Checkpoint<T> LoadCheckpoint<T>(Stream stream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        Guard.RequireSupportedElementType<T>();
        return Parse<T>(ReadFile(stream));
    }

    /// <summary>
    /// Loads the parameters of a saved model into an existing layer of the same sizes and activations. The whole file is
    /// validated first: on any failure the layer is unchanged.
    /// </summary>
    /// <param name="layer">The layer to overwrite.</param>
    /// <param name="path">The file.</param>
    /// <typeparam name="T">The element type.</typeparam>
    /// <returns>The loaded checkpoint (its <see cref="Checkpoint{T}.Layer"/> is a separate copy; <paramref name="layer"/> now holds the same parameters).</returns>
    /// <exception cref="ModelFormatException">As for <see cref="LoadCheckpoint{T}(string)"/>, or the file is a valid model whose sizes or activations differ from the layer's (<see cref="ModelFormatError.Mismatch"/>; the message says which).</exception>
    public static Checkpoint<T> LoadInto<T>(RecurrentLayer<T> layer, string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        return CopyInto(layer, LoadCheckpoint<T>(path));
    }

    /// <summary>Loads the parameters of a saved model from a stream into an existing layer; on any failure the layer is unchanged.</summary>
    /// <param name="layer">The layer to overwrite.</param>
    /// <param name="stream">A readable stream; it is not closed.</param>
    /// <typeparam name="T">The element type.</typeparam>
    /// <returns>The loaded checkpoint.</returns>
    /// <exception cref="ModelFormatException">As for <see cref="LoadCheckpoint{T}(Stream)"/>, or the sizes or activations differ from the layer's.</exception>
    public static Checkpoint<T> LoadInto<T>(RecurrentLayer<T> layer, Stream stream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        return CopyInto(layer, LoadCheckpoint<T>(stream));
    }

    /// <summary>The complete file for a layer and optional sections.</summary>
    internal static byte[] Serialize<T>(RecurrentLayer<T> layer, OptimizerState<T>? optimizer, TrainingPosition? position)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        Guard.RequireFiniteParameters(layer, nameof(layer));
        int size = LittleEndianTensors.SizeOf<T>();
        TensorSet<T> parameters = layer.Parameters;
        if (optimizer is not null && optimizer.TensorLengths.Count != 0)
        {
            RequireMatchingLengths(optimizer, parameters);
        }

        long length = HeaderLength + (parameters.TotalLength * size) + ChecksumLength;
        byte[]? name = null;
        if (optimizer is not null)
        {
            name = Encoding.ASCII.GetBytes(optimizer.OptimizerName);
            length += 2 + name.Length + 8 + 8 + 4 + 4 + (4L * optimizer.TensorLengths.Count)
                + (optimizer.TensorLengths.Sum(n => (long)n) * optimizer.BuffersPerTensor * size);
        }

        if (position is not null)
        {
            length += 8 + 8 + 4 + (8L * position.RandomState.Count);
        }

        if (length > Array.MaxLength)
        {
            throw new NotSupportedException(
                $"the file would be {length:N0} bytes, more than one .NET array can hold ({Array.MaxLength:N0}); models this large are not supported yet.");
        }

        byte[] file = new byte[length];
        var writer = new SpanWriter(file);
        writer.Bytes(Signature);
        writer.UInt32(FormatVersion);
        writer.UInt64((ulong)length);
        writer.Byte((byte)size);
        writer.Byte(layer.HiddenActivation == HiddenActivation.Tanh ? (byte)1 : (byte)2);
        writer.Byte(layer.OutputActivation switch
        {
            OutputActivation.Identity => 1,
            OutputActivation.Sigmoid => 2,
            _ => 3,
        });
        writer.Byte((byte)((optimizer is null ? 0 : OptimizerSection) | (position is null ? 0 : PositionSection)));
        writer.UInt32((uint)layer.InputSize);
        writer.UInt32((uint)layer.HiddenSize);
        writer.UInt32((uint)layer.OutputSize);
        for (int i = 0; i < parameters.Count; i++)
        {
            writer.Elements<T>(parameters[i]);
        }

        if (optimizer is not null)
        {
            writer.UInt16((ushort)name!.Length);
            writer.Bytes(name);
            writer.Double(optimizer.LearningRate);
            writer.Int64(optimizer.StepCount);
            writer.UInt32((uint)optimizer.BuffersPerTensor);
            writer.UInt32((uint)optimizer.TensorLengths.Count);
            foreach (int tensorLength in optimizer.TensorLengths)
            {
                writer.UInt32((uint)tensorLength);
            }

            for (int i = 0; i < optimizer.TensorLengths.Count; i++)
            {
                for (int slot = 0; slot < optimizer.BuffersPerTensor; slot++)
                {
                    writer.Elements(optimizer.Buffer(i, slot));
                }
            }
        }

        if (position is not null)
        {
            writer.Int64(position.Epoch);
            writer.Int64(position.Batch);
            writer.UInt32((uint)position.RandomState.Count);
            foreach (ulong word in position.RandomState)
            {
                writer.UInt64(word);
            }
        }

        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(file.Length - ChecksumLength), Crc32C.Compute(file.AsSpan(0, file.Length - ChecksumLength)));
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

        RequireVersion(BinaryPrimitives.ReadUInt32LittleEndian(got.Slice(8)));
        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(got.Slice(LengthOffset));
        if (declared < HeaderLength + ChecksumLength || declared > (ulong)Array.MaxLength)
        {
            throw new ModelFormatException(
                ModelFormatError.Corrupted,
                $"the file declares a length of {declared:N0} bytes, outside the possible range {HeaderLength + ChecksumLength}..{Array.MaxLength:N0}; the length field is damaged.");
        }

        byte[] rest = StreamReading.ReadExactly(stream, (long)declared - PreambleLength, "the file (by its declared length)");
        byte[] file = new byte[(int)declared];
        got.CopyTo(file);
        rest.CopyTo(file, PreambleLength);
        return file;
    }

    private static void RequireVersion(uint version)
    {
        if (version != FormatVersion)
        {
            throw new ModelFormatException(
                ModelFormatError.UnsupportedVersion,
                $"the file has format version {version}, but this release of RnnCore reads version {FormatVersion} only"
                + (version > FormatVersion ? "; it was written by a newer RnnCore." : "."));
        }
    }

    /// <summary>Validates a whole file (checksum first, then every field) and builds the checkpoint.</summary>
    private static Checkpoint<T> Parse<T>(byte[] file)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(file.Length - ChecksumLength));
        uint actual = Crc32C.Compute(file.AsSpan(0, file.Length - ChecksumLength));
        if (stored != actual)
        {
            throw new ModelFormatException(
                ModelFormatError.Corrupted,
                $"the file is corrupted: its CRC-32C checksum is 0x{stored:X8} but its contents give 0x{actual:X8}.");
        }

        var reader = new SpanReader(file.AsSpan(0, file.Length - ChecksumLength));
        reader.Skip(ElementSizeOffset);
        int elementSize = reader.Byte("element size");
        int expectedSize = LittleEndianTensors.SizeOf<T>();
        if (elementSize != 4 && elementSize != 8)
        {
            throw Invalid($"the element size is {elementSize}; expected 4 (float32) or 8 (float64).");
        }

        if (elementSize != expectedSize)
        {
            string held = elementSize == 4 ? "float32" : "float64";
            throw new ModelFormatException(
                ModelFormatError.WrongElementType,
                $"the file holds {held} parameters but was loaded as {typeof(T).Name}; load it with ModelFile.Load<{(elementSize == 4 ? "float" : "double")}>.");
        }

        HiddenActivation hidden = reader.Byte("hidden activation") switch
        {
            1 => HiddenActivation.Tanh,
            2 => HiddenActivation.Relu,
            var code => throw Invalid($"the hidden activation code is {code}; expected 1 (tanh) or 2 (ReLU)."),
        };
        OutputActivation output = reader.Byte("output activation") switch
        {
            1 => OutputActivation.Identity,
            2 => OutputActivation.Sigmoid,
            3 => OutputActivation.Softmax,
            var code => throw Invalid($"the output activation code is {code}; expected 1 (identity), 2 (sigmoid) or 3 (softmax)."),
        };
        int sections = reader.Byte("sections");
        if ((sections & ~(OptimizerSection | PositionSection)) != 0)
        {
            throw Invalid($"the sections byte is 0x{sections:X2}; only bits 0 (optimizer) and 1 (position) are defined.");
        }

        int inputSize = reader.Size("I");
        int hiddenSize = reader.Size("H");
        int outputSize = reader.Size("O");
        if (output == OutputActivation.Softmax && outputSize < 2)
        {
            // Older releases accepted this model; it cannot have learned anything (its output is always 1).
            throw Invalid(RecurrentLayer<T>.SoftmaxNeedsTwoClasses(outputSize));
        }

        // Bound every parameter by the bytes actually present before allocating anything.
        long[] lengths = [(long)hiddenSize * inputSize, (long)hiddenSize * hiddenSize, (long)outputSize * hiddenSize, hiddenSize, outputSize];
        for (int i = 0; i < lengths.Length; i++)
        {
            // Each product of two sizes fits a long; bounding each keeps their sum in range too.
            if (lengths[i] > Array.MaxLength)
            {
                throw Invalid(
                    $"the sizes I={inputSize}, H={hiddenSize}, O={outputSize} give {RecurrentLayer<T>.ParameterNames[i]} {lengths[i]:N0} elements, more than one .NET array can hold.");
            }
        }

        long parameterBytes = lengths.Sum() * elementSize;
        if (parameterBytes > reader.Remaining)
        {
            throw Invalid(
                $"the sizes I={inputSize}, H={hiddenSize}, O={outputSize} need {parameterBytes:N0} bytes of parameters but only {reader.Remaining:N0} remain.");
        }

        T[][] values = new T[lengths.Length][];
        for (int i = 0; i < lengths.Length; i++)
        {
            values[i] = reader.Elements<T>((int)lengths[i], RecurrentLayer<T>.ParameterNames[i]);
            int bad = Guard.IndexOfNonFinite<T>(values[i]);
            if (bad >= 0)
            {
                throw Invalid($"parameter {RecurrentLayer<T>.ParameterNames[i]} holds {values[i][bad]} at element {bad}; every parameter must be finite.");
            }
        }

        OptimizerState<T>? optimizerState = (sections & OptimizerSection) != 0 ? ReadOptimizer<T>(ref reader, lengths) : null;
        TrainingPosition? position = (sections & PositionSection) != 0 ? ReadPosition(ref reader) : null;
        if (reader.Remaining != 0)
        {
            throw Invalid($"{reader.Remaining} bytes remain after the last section; the sections byte or a count is wrong.");
        }

        // Only now, with everything validated, build the model.
        var layer = new RecurrentLayer<T>(inputSize, hiddenSize, outputSize, hidden, output);
        for (int i = 0; i < values.Length; i++)
        {
            values[i].CopyTo(layer.Parameters[i]);
        }

        return new Checkpoint<T>(layer, optimizerState, position);
    }

    private static OptimizerState<T> ReadOptimizer<T>(ref SpanReader reader, long[] parameterLengths)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int nameLength = reader.UInt16("optimizer name length");
        if (nameLength == 0 || nameLength > OptimizerState<T>.MaxNameLength)
        {
            throw Invalid($"the optimizer name is {nameLength} bytes long; expected 1..{OptimizerState<T>.MaxNameLength}.");
        }

        ReadOnlySpan<byte> nameBytes = reader.Bytes(nameLength, "optimizer name");
        foreach (byte b in nameBytes)
        {
            if (b < 0x21 || b > 0x7E)
            {
                throw Invalid("the optimizer name contains a byte that is not printable ASCII.");
            }
        }

        string name = Encoding.ASCII.GetString(nameBytes);
        double learningRate = reader.Double("learning rate");
        if (!double.IsFinite(learningRate) || learningRate < 0)
        {
            throw Invalid($"the optimizer's learning rate is {learningRate}; it must be non-negative and finite.");
        }

        long stepCount = reader.Int64("step count");
        if (stepCount < 0)
        {
            throw Invalid($"the optimizer's step count is {stepCount}; it cannot be negative.");
        }

        uint buffersPerTensor = reader.UInt32("buffers per tensor");
        if (buffersPerTensor > OptimizerState<T>.MaxBuffersPerTensor)
        {
            throw Invalid($"the optimizer keeps {buffersPerTensor} buffers per tensor; at most {OptimizerState<T>.MaxBuffersPerTensor} are possible.");
        }

        uint tensorCount = reader.UInt32("tensor count");
        if (tensorCount != 0 && tensorCount != parameterLengths.Length)
        {
            throw Invalid($"the optimizer state covers {tensorCount} tensors; expected 0 (before the first step) or {parameterLengths.Length}.");
        }

        if (tensorCount != 0 && stepCount == 0)
        {
            throw Invalid("the optimizer state has buffers but a step count of 0.");
        }

        int[] tensorLengths = new int[tensorCount];
        for (int i = 0; i < tensorCount; i++)
        {
            uint length = reader.UInt32("optimizer tensor length");
            if (length != parameterLengths[i])
            {
                throw Invalid(
                    $"the optimizer state of {RecurrentLayer<T>.ParameterNames[i]} has {length} elements but the parameter has {parameterLengths[i]}.");
            }

            tensorLengths[i] = (int)length;
        }

        // The lengths equal the parameters', which already fitted, but the buffers are bounded by the bytes left too.
        long bufferBytes = tensorLengths.Sum(n => (long)n) * buffersPerTensor * LittleEndianTensors.SizeOf<T>();
        if (bufferBytes > reader.Remaining)
        {
            throw Invalid($"the optimizer buffers need {bufferBytes:N0} bytes but only {reader.Remaining:N0} remain.");
        }

        var buffers = new T[tensorCount * buffersPerTensor][];
        for (int k = 0; k < buffers.Length; k++)
        {
            buffers[k] = reader.Elements<T>(tensorLengths[k / (int)buffersPerTensor], "optimizer buffer");
        }

        try
        {
            return new OptimizerState<T>(name, stepCount, learningRate, (int)buffersPerTensor, tensorLengths, buffers);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(ModelFormatError.Invalid, $"the optimizer state is inconsistent: {e.Message}", e);
        }
    }

    private static TrainingPosition ReadPosition(ref SpanReader reader)
    {
        long epoch = reader.Int64("epoch");
        long batch = reader.Int64("batch");
        if (epoch < 0 || batch < 0)
        {
            throw Invalid($"the training position (epoch {epoch}, batch {batch}) is negative.");
        }

        uint count = reader.UInt32("random state length");
        if (count > TrainingPosition.MaxRandomStateLength)
        {
            throw Invalid($"the random state has {count} words; at most {TrainingPosition.MaxRandomStateLength} are stored.");
        }

        ulong[] words = new ulong[count];
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = reader.UInt64("random state");
        }

        return new TrainingPosition(epoch, batch, words);
    }

    private static Checkpoint<T> CopyInto<T>(RecurrentLayer<T> layer, Checkpoint<T> loaded)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        RecurrentLayer<T> source = loaded.Layer;
        if (source.InputSize != layer.InputSize || source.HiddenSize != layer.HiddenSize || source.OutputSize != layer.OutputSize
            || source.HiddenActivation != layer.HiddenActivation || source.OutputActivation != layer.OutputActivation)
        {
            // The file is fine; the layer is not the one it was saved from. Say what differs, not that the file is bad.
            string[] differences = new[]
            {
                source.InputSize != layer.InputSize ? $"inputSize I is {source.InputSize} in the file but {layer.InputSize} in the layer" : null,
                source.HiddenSize != layer.HiddenSize ? $"hiddenSize H is {source.HiddenSize} in the file but {layer.HiddenSize} in the layer" : null,
                source.OutputSize != layer.OutputSize ? $"outputSize O is {source.OutputSize} in the file but {layer.OutputSize} in the layer" : null,
                source.HiddenActivation != layer.HiddenActivation ? $"the hidden activation is {source.HiddenActivation} in the file but {layer.HiddenActivation} in the layer" : null,
                source.OutputActivation != layer.OutputActivation ? $"the output activation is {source.OutputActivation} in the file but {layer.OutputActivation} in the layer" : null,
            }.OfType<string>().ToArray();
            throw new ModelFormatException(
                ModelFormatError.Mismatch,
                $"the file holds a valid model (I={source.InputSize}, H={source.HiddenSize}, O={source.OutputSize}, " +
                $"{source.HiddenActivation}/{source.OutputActivation}) that does not fit the layer: {string.Join("; ", differences)}. " +
                "Use ModelFile.Load to create a layer of the saved shape.");
        }

        for (int i = 0; i < layer.Parameters.Count; i++)
        {
            source.Parameters[i].CopyTo(layer.Parameters[i]);
        }

        return loaded;
    }

    private static void RequireMatchingLengths<T>(OptimizerState<T> optimizer, TensorSet<T> parameters)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool same = optimizer.TensorLengths.Count == parameters.Count;
        for (int i = 0; same && i < parameters.Count; i++)
        {
            same = optimizer.TensorLengths[i] == parameters.GetLength(i);
        }

        if (!same)
        {
            throw new ArgumentException(
                $"optimizer's state was built for tensors of lengths [{string.Join(", ", optimizer.TensorLengths)}] but the layer's parameters have " +
                $"[{string.Join(", ", Enumerable.Range(0, parameters.Count).Select(parameters.GetLength))}]; save the optimizer that trains this layer.",
                "optimizer");
        }
    }

    private static OptimizerState<T>? CaptureState<T>(IOptimizer<T>? optimizer)
        where T : unmanaged, IFloatingPointIeee754<T> => optimizer switch
        {
            null => null,
            OptimizerBase<T> known => known.CaptureState(),
            _ => throw new ArgumentException(
                $"optimizer is a {optimizer.GetType().Name}, which does not expose its state; only RnnCore's optimizers (OptimizerBase<T>) can be saved in a checkpoint.",
                nameof(optimizer)),
        };

    private static ModelFormatException Invalid(string message) => new(ModelFormatError.Invalid, "the file is not a valid RnnCore model: " + message);

    /// <summary>Sequential little-endian writes into a buffer sized in advance.</summary>
    private ref struct SpanWriter(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        private int _position;

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_buffer.Slice(_position));
            _position += bytes.Length;
        }

        public void Byte(byte value) => _buffer[_position++] = value;

        public void UInt16(ushort value)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(_buffer.Slice(_position), value);
            _position += 2;
        }

        public void UInt32(uint value)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.Slice(_position), value);
            _position += 4;
        }

        public void UInt64(ulong value)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer.Slice(_position), value);
            _position += 8;
        }

        public void Int64(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(_buffer.Slice(_position), value);
            _position += 8;
        }

        public void Double(double value)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(_buffer.Slice(_position), value);
            _position += 8;
        }

        public void Elements<T>(ReadOnlySpan<T> values)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            LittleEndianTensors.Write(values, _buffer.Slice(_position));
            _position += values.Length * LittleEndianTensors.SizeOf<T>();
        }
    }

    /// <summary>Sequential little-endian reads that refuse, with a format error, to read past the end.</summary>
    private ref struct SpanReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly long Remaining => _data.Length - _position;

        public void Skip(int count) => Take(count, "header");

        public byte Byte(string what) => Take(1, what)[0];

        public ushort UInt16(string what) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, what));

        public uint UInt32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));

        public ulong UInt64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));

        public long Int64(string what) => BinaryPrimitives.ReadInt64LittleEndian(Take(8, what));

        public double Double(string what) => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, what));

        public ReadOnlySpan<byte> Bytes(int count, string what) => Take(count, what);

        /// <summary>A size field: positive, and small enough that its products stay in range.</summary>
        public int Size(string what)
        {
            uint value = UInt32(what);
            if (value == 0 || value > int.MaxValue)
            {
                throw Invalid($"size {what} is {value}; it must be between 1 and {int.MaxValue}.");
            }

            return (int)value;
        }

        public T[] Elements<T>(int count, string what)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            long bytes = (long)count * LittleEndianTensors.SizeOf<T>();
            if (bytes > Remaining)
            {
                throw Invalid($"{what} needs {bytes:N0} bytes but only {Remaining:N0} remain.");
            }

            T[] values = new T[count];
            LittleEndianTensors.Read(Take((int)bytes, what), values.AsSpan());
            return values;
        }

        private ReadOnlySpan<byte> Take(int count, string what)
        {
            if (count > Remaining)
            {
                throw Invalid($"the file ends inside field '{what}'.");
            }

            ReadOnlySpan<byte> slice = _data.Slice(_position, count);
            _position += count;
            return slice;
        }
    }
}
