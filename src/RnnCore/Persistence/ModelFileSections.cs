using System.Numerics;
using System.Text;
using RnnCore.Optimizers;

namespace RnnCore.Persistence;

/// <summary>
/// The optional sections of a model file: the optimizer's state and the training position (every version), and the
/// network's vocabulary (version 3 on). Written after the parameters in that order, read back bounded by the bytes that
/// remain.
/// </summary>
/// <remarks>
/// <code>
/// optimizer: name length (uint16, ≤ 64), name (printable ASCII, e.g. "AdamOptimizer"), learning rate (float64),
///            step count (int64), buffers per tensor (uint32, ≤ 8), tensor count (uint32: 0 before the first step,
///            else the number of parameters), each tensor's length (uint32, equal to the parameter's), the buffers
///            tensor-major
/// position:  epoch (int64), batch (int64), random-state word count (uint32, ≤ 16), the words (uint64 each)
/// vocabulary: mode (byte: 1 = characters, 2 = words), lower-casing (byte: 0 or 1), padding id (uint32, = 0), unknown
///            id (uint32, = 1), token count n (uint32, ≥ 2), then n tokens in id order, each as its length in UTF-16
///            code units (uint32, ≥ 1) and the code units (uint16 each; .NET's strings, so a character vocabulary's lone
///            surrogates survive)
/// </code>
/// </remarks>
internal static class ModelFileSections
{
    /// <summary>The vocabulary section's mode code of a character vocabulary.</summary>
    private const byte CharacterVocabulary = 1;

    /// <summary>The vocabulary section's mode code of a word vocabulary.</summary>
    private const byte WordVocabulary = 2;

    /// <summary>The bytes the optimizer section takes.</summary>
    public static long OptimizerLength<T>(OptimizerState<T> optimizer)
        where T : unmanaged, IFloatingPointIeee754<T>
        => 2 + Encoding.ASCII.GetByteCount(optimizer.OptimizerName) + 8 + 8 + 4 + 4 + (4L * optimizer.TensorLengths.Count)
            + (optimizer.TensorLengths.Sum(n => (long)n) * optimizer.BuffersPerTensor * LittleEndianTensors.SizeOf<T>());

    /// <summary>The bytes the position section takes.</summary>
    public static long PositionLength(TrainingPosition position) => 8 + 8 + 4 + (8L * position.RandomState.Count);

    /// <summary>The bytes the vocabulary section takes.</summary>
    public static long VocabularyLength(Vocabulary vocabulary)
        => 1 + 1 + 4 + 4 + 4 + vocabulary.Tokens.Sum(t => 4L + (2L * t.Length));

    public static void WriteVocabulary(ref SpanWriter writer, Vocabulary vocabulary)
    {
        writer.Byte(vocabulary.ByCharacters ? CharacterVocabulary : WordVocabulary);
        writer.Byte(vocabulary.LowerCase ? (byte)1 : (byte)0);
        writer.UInt32((uint)vocabulary.PaddingId);
        writer.UInt32((uint)vocabulary.UnknownId);
        writer.UInt32((uint)vocabulary.Count);
        foreach (string token in vocabulary.Tokens)
        {
            writer.UInt32((uint)token.Length);
            foreach (char c in token)
            {
                writer.UInt16(c);
            }
        }
    }

    /// <summary>Reads a vocabulary section, every count bounded by the bytes that remain; a damaged one is refused.</summary>
    public static Vocabulary ReadVocabulary(ref SpanReader reader)
    {
        byte mode = reader.Byte("vocabulary mode");
        if (mode is not (CharacterVocabulary or WordVocabulary))
        {
            throw ModelFile.Invalid($"the vocabulary's mode is {mode}; expected {CharacterVocabulary} (characters) or {WordVocabulary} (words).");
        }

        byte lowerCase = reader.Byte("vocabulary lower-casing");
        if (lowerCase > 1)
        {
            throw ModelFile.Invalid($"the vocabulary's lower-casing flag is {lowerCase}; expected 0 or 1.");
        }

        uint padding = reader.UInt32("vocabulary padding id");
        uint unknown = reader.UInt32("vocabulary unknown id");
        if (padding != 0 || unknown != 1)
        {
            throw ModelFile.Invalid($"the vocabulary's padding and unknown ids are {padding} and {unknown}; a vocabulary of this release has 0 and 1.");
        }

        uint count = reader.UInt32("vocabulary token count");
        if (count < 2 || count * 6L > reader.Remaining)
        {
            throw ModelFile.Invalid($"the vocabulary holds {count} tokens; expected at least 2 (padding, unknown), each taking at least 6 bytes of the {reader.Remaining:N0} that remain.");
        }

        string[] tokens = new string[count];
        for (int id = 0; id < tokens.Length; id++)
        {
            uint length = reader.UInt32("vocabulary token length");
            if (length == 0 || length * 2L > reader.Remaining)
            {
                throw ModelFile.Invalid($"the vocabulary's token {id} is {length} characters long; expected 1 to what the {reader.Remaining:N0} remaining bytes hold.");
            }

            char[] chars = new char[length];
            for (int i = 0; i < chars.Length; i++)
            {
                chars[i] = (char)reader.UInt16("vocabulary token");
            }

            tokens[id] = new string(chars);
        }

        try
        {
            return Vocabulary.FromTokens(tokens, mode == CharacterVocabulary, lowerCase == 1);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(ModelFormatError.Invalid, $"the file is not a valid RnnCore model: its vocabulary is damaged: {e.Message}", e);
        }
    }

    public static void WriteOptimizer<T>(ref SpanWriter writer, OptimizerState<T> optimizer)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        byte[] name = Encoding.ASCII.GetBytes(optimizer.OptimizerName);
        writer.UInt16((ushort)name.Length);
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

    public static void WritePosition(ref SpanWriter writer, TrainingPosition position)
    {
        writer.Int64(position.Epoch);
        writer.Int64(position.Batch);
        writer.UInt32((uint)position.RandomState.Count);
        foreach (ulong word in position.RandomState)
        {
            writer.UInt64(word);
        }
    }

    public static OptimizerState<T> ReadOptimizer<T>(ref SpanReader reader, long[] parameterLengths, IReadOnlyList<string> parameterNames)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int nameLength = reader.UInt16("optimizer name length");
        if (nameLength == 0 || nameLength > OptimizerState<T>.MaxNameLength)
        {
            throw ModelFile.Invalid($"the optimizer name is {nameLength} bytes long; expected 1..{OptimizerState<T>.MaxNameLength}.");
        }

        ReadOnlySpan<byte> nameBytes = reader.Bytes(nameLength, "optimizer name");
        foreach (byte b in nameBytes)
        {
            if (b < 0x21 || b > 0x7E)
            {
                throw ModelFile.Invalid("the optimizer name contains a byte that is not printable ASCII.");
            }
        }

        string name = Encoding.ASCII.GetString(nameBytes);
        double learningRate = reader.Double("learning rate");
        if (!double.IsFinite(learningRate) || learningRate < 0)
        {
            throw ModelFile.Invalid($"the optimizer's learning rate is {learningRate}; it must be non-negative and finite.");
        }

        long stepCount = reader.Int64("step count");
        if (stepCount < 0)
        {
            throw ModelFile.Invalid($"the optimizer's step count is {stepCount}; it cannot be negative.");
        }

        uint buffersPerTensor = reader.UInt32("buffers per tensor");
        if (buffersPerTensor > OptimizerState<T>.MaxBuffersPerTensor)
        {
            throw ModelFile.Invalid($"the optimizer keeps {buffersPerTensor} buffers per tensor; at most {OptimizerState<T>.MaxBuffersPerTensor} are possible.");
        }

        uint tensorCount = reader.UInt32("tensor count");
        if (tensorCount != 0 && tensorCount != parameterLengths.Length)
        {
            throw ModelFile.Invalid($"the optimizer state covers {tensorCount} tensors; expected 0 (before the first step) or {parameterLengths.Length}.");
        }

        if (tensorCount != 0 && stepCount == 0)
        {
            throw ModelFile.Invalid("the optimizer state has buffers but a step count of 0.");
        }

        int[] tensorLengths = new int[tensorCount];
        for (int i = 0; i < tensorCount; i++)
        {
            uint length = reader.UInt32("optimizer tensor length");
            if (length != parameterLengths[i])
            {
                throw ModelFile.Invalid(
                    $"the optimizer state of {parameterNames[i]} has {length} elements but the parameter has {parameterLengths[i]}.");
            }

            tensorLengths[i] = (int)length;
        }

        // The lengths equal the parameters', which already fitted, but the buffers are bounded by the bytes left too.
        long bufferBytes = tensorLengths.Sum(n => (long)n) * buffersPerTensor * LittleEndianTensors.SizeOf<T>();
        if (bufferBytes > reader.Remaining)
        {
            throw ModelFile.Invalid($"the optimizer buffers need {bufferBytes:N0} bytes but only {reader.Remaining:N0} remain.");
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

    public static TrainingPosition ReadPosition(ref SpanReader reader)
    {
        long epoch = reader.Int64("epoch");
        long batch = reader.Int64("batch");
        if (epoch < 0 || batch < 0)
        {
            throw ModelFile.Invalid($"the training position (epoch {epoch}, batch {batch}) is negative.");
        }

        uint count = reader.UInt32("random state length");
        if (count > TrainingPosition.MaxRandomStateLength)
        {
            throw ModelFile.Invalid($"the random state has {count} words; at most {TrainingPosition.MaxRandomStateLength} are stored.");
        }

        ulong[] words = new ulong[count];
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = reader.UInt64("random state");
        }

        return new TrainingPosition(epoch, batch, words);
    }

    public static void RequireMatchingLengths<T>(OptimizerState<T> optimizer, TensorSet<T> parameters)
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
                $"optimizer's state was built for tensors of lengths [{string.Join(", ", optimizer.TensorLengths)}] but the model's parameters have " +
                $"[{string.Join(", ", Enumerable.Range(0, parameters.Count).Select(parameters.GetLength))}]; save the optimizer that trains this model.",
                "optimizer");
        }
    }

    public static OptimizerState<T>? CaptureState<T>(IOptimizer<T>? optimizer)
        where T : unmanaged, IFloatingPointIeee754<T> => optimizer switch
        {
            null => null,
            OptimizerBase<T> known => known.CaptureState(),
            _ => throw new ArgumentException(
                $"optimizer is a {optimizer.GetType().Name}, which does not expose its state; only RnnCore's optimizers (OptimizerBase<T>) can be saved in a checkpoint.",
                nameof(optimizer)),
        };


    /// <summary>Puts a checkpoint's optimizer state into <paramref name="optimizer"/> (both checkpoint types share this).</summary>
    public static void RestoreOptimizer<T>(OptimizerState<T>? state, IOptimizer<T> optimizer)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (state is null)
        {
            throw new InvalidOperationException("this checkpoint holds no optimizer state; it was saved without an optimizer.");
        }

        if (optimizer is not OptimizerBase<T> known)
        {
            throw new ArgumentException(
                $"optimizer is a {optimizer.GetType().Name}, which cannot take a saved state; only RnnCore's optimizers (OptimizerBase<T>) can.", nameof(optimizer));
        }

        known.RestoreState(state);
    }
}
