using System.Buffers.Binary;
using System.Numerics;
using RnnCore.Internal;
using RnnCore.Optimizers;

namespace RnnCore.Persistence;

/// <summary>
/// What versions 1 and 2 of the model file share: the activation and sections codes, the parameters (column-major,
/// bounded by the bytes present and checked finite), the optional sections after them, and the closing checksum.
/// </summary>
internal static class ModelFileFields
{
    /// <summary>Bit 0 of the sections byte: the optimizer's state follows the parameters.</summary>
    public const byte OptimizerSection = 1;

    /// <summary>Bit 1 of the sections byte: the training position follows.</summary>
    public const byte PositionSection = 2;

    /// <summary>Bit 2 of the sections byte (version 3 on): the network's vocabulary follows.</summary>
    public const byte VocabularySection = 4;

    /// <summary>The hidden activation's code: 1 = tanh, 2 = ReLU.</summary>
    public static byte HiddenCode(HiddenActivation hidden) => hidden == HiddenActivation.Tanh ? (byte)1 : (byte)2;

    /// <summary>The output activation's code: 1 = identity, 2 = sigmoid, 3 = softmax.</summary>
    public static byte OutputCode(OutputActivation output) => output switch
    {
        OutputActivation.Identity => 1,
        OutputActivation.Sigmoid => 2,
        _ => 3,
    };

    /// <summary>The sections byte for the optional sections written.</summary>
    public static byte SectionsCode<T>(OptimizerState<T>? optimizer, TrainingPosition? position, Vocabulary? vocabulary = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => (byte)((optimizer is null ? 0 : OptimizerSection) | (position is null ? 0 : PositionSection) | (vocabulary is null ? 0 : VocabularySection));

    public static HiddenActivation ReadHidden(ref SpanReader reader) => reader.Byte("hidden activation") switch
    {
        1 => HiddenActivation.Tanh,
        2 => HiddenActivation.Relu,
        var code => throw ModelFile.Invalid($"the hidden activation code is {code}; expected 1 (tanh) or 2 (ReLU)."),
    };

    public static OutputActivation ReadOutput(ref SpanReader reader) => reader.Byte("output activation") switch
    {
        1 => OutputActivation.Identity,
        2 => OutputActivation.Sigmoid,
        3 => OutputActivation.Softmax,
        var code => throw ModelFile.Invalid($"the output activation code is {code}; expected 1 (identity), 2 (sigmoid) or 3 (softmax)."),
    };

    /// <summary>Reads the sections byte; bit 2 (the vocabulary) only where <paramref name="vocabulary"/> says the version defines it.</summary>
    public static int ReadSections(ref SpanReader reader, bool vocabulary = false)
    {
        int sections = reader.Byte("sections");
        int defined = OptimizerSection | PositionSection | (vocabulary ? VocabularySection : 0);
        if ((sections & ~defined) != 0)
        {
            throw ModelFile.Invalid(vocabulary
                ? $"the sections byte is 0x{sections:X2}; only bits 0 (optimizer), 1 (position) and 2 (vocabulary) are defined."
                : $"the sections byte is 0x{sections:X2}; only bits 0 (optimizer) and 1 (position) are defined.");
        }

        return sections;
    }

    /// <summary>
    /// The whole file's length for a header (and table) of <paramref name="headerLength"/> bytes, the parameters and the
    /// optional sections; refuses a file no .NET array can hold.
    /// </summary>
    public static long FileLength<T>(long headerLength, TensorSet<T> parameters, OptimizerState<T>? optimizer, TrainingPosition? position, Vocabulary? vocabulary = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long length = headerLength + (parameters.TotalLength * LittleEndianTensors.SizeOf<T>()) + ModelFile.ChecksumLength;
        if (optimizer is not null)
        {
            length += ModelFileSections.OptimizerLength(optimizer);
        }

        if (position is not null)
        {
            length += ModelFileSections.PositionLength(position);
        }

        if (vocabulary is not null)
        {
            length += ModelFileSections.VocabularyLength(vocabulary);
        }

        if (length > Array.MaxLength)
        {
            throw new NotSupportedException(
                $"the file would be {length:N0} bytes, more than one .NET array can hold ({Array.MaxLength:N0}); models this large are not supported yet.");
        }

        return length;
    }

    /// <summary>Writes the parameters and the optional sections, then the checksum of every byte before it at the file's end.</summary>
    public static void WriteParametersAndSections<T>(
        ref SpanWriter writer, byte[] file, TensorSet<T> parameters, OptimizerState<T>? optimizer, TrainingPosition? position, Vocabulary? vocabulary = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < parameters.Count; i++)
        {
            writer.Elements<T>(parameters[i]);
        }

        if (optimizer is not null)
        {
            ModelFileSections.WriteOptimizer(ref writer, optimizer);
        }

        if (position is not null)
        {
            ModelFileSections.WritePosition(ref writer, position);
        }

        if (vocabulary is not null)
        {
            ModelFileSections.WriteVocabulary(ref writer, vocabulary);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(file.Length - ModelFile.ChecksumLength), Crc32C.Compute(file.AsSpan(0, file.Length - ModelFile.ChecksumLength)));
    }

    /// <summary>
    /// Reads the parameters of the given lengths, bounded first by the bytes that remain, each checked finite; the sizes
    /// are for the messages.
    /// </summary>
    public static T[][] ReadParameters<T>(ref SpanReader reader, long[] lengths, IReadOnlyList<string> names, int inputSize, int hiddenSize, int outputSize)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long parameterBytes = lengths.Sum() * LittleEndianTensors.SizeOf<T>();
        if (parameterBytes > reader.Remaining)
        {
            throw ModelFile.Invalid(
                $"the sizes I={inputSize}, H={hiddenSize}, O={outputSize} need {parameterBytes:N0} bytes of parameters but only {reader.Remaining:N0} remain.");
        }

        T[][] values = new T[lengths.Length][];
        for (int i = 0; i < lengths.Length; i++)
        {
            values[i] = reader.Elements<T>((int)lengths[i], names[i]);
            int bad = Guard.IndexOfNonFinite<T>(values[i]);
            if (bad >= 0)
            {
                throw ModelFile.Invalid($"parameter {names[i]} holds {values[i][bad]} at element {bad}; every parameter must be finite.");
            }
        }

        return values;
    }

    /// <summary>Reads the optional sections the sections byte announces and requires that nothing follows them.</summary>
    public static (OptimizerState<T>? Optimizer, TrainingPosition? Position, Vocabulary? Vocabulary) ReadSections<T>(
        ref SpanReader reader, int sections, long[] lengths, IReadOnlyList<string> names)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        OptimizerState<T>? optimizerState = (sections & OptimizerSection) != 0 ? ModelFileSections.ReadOptimizer<T>(ref reader, lengths, names) : null;
        TrainingPosition? position = (sections & PositionSection) != 0 ? ModelFileSections.ReadPosition(ref reader) : null;
        Vocabulary? vocabulary = (sections & VocabularySection) != 0 ? ModelFileSections.ReadVocabulary(ref reader) : null;
        if (reader.Remaining != 0)
        {
            throw ModelFile.Invalid($"{reader.Remaining} bytes remain after the last section; the sections byte or a count is wrong.");
        }

        return (optimizerState, position, vocabulary);
    }
}
