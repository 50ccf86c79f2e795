using System.Numerics;
using RnnCore.Models;
using RnnCore.Optimizers;

namespace RnnCore.Persistence;

/// <summary>
/// Format version 1, the first release's: one vanilla <see cref="RecurrentLayer{T}"/> and its five parameters at fixed
/// places. Every release reads it; this one writes versions 2 and 3, and keeps this writer only so that tests can build
/// version 1 files (and damaged ones) for the reader.
/// </summary>
/// <remarks>
/// <code>
/// offset  size  field
///      0     8  signature 89 52 4E 4E 0D 0A 1A 0A
///      8     4  format version (uint32) = 1
///     12     8  length of the whole file in bytes, checksum included (uint64)
///     20     1  element size: 4 = float32, 8 = float64
///     21     1  hidden activation: 1 = tanh, 2 = ReLU
///     22     1  output activation: 1 = identity, 2 = sigmoid, 3 = softmax
///     23     1  sections: bit 0 = optimizer state follows, bit 1 = training position follows; other bits 0
///     24    12  I, H, O (uint32 each, positive)
///     36        W_x (H·I), W_h (H·H), W_y (O·H), b_h (H), b_y (O): column-major elements
///   then the optional sections (<see cref="ModelFileSections"/>)
///   last       4  CRC-32C of every byte before it
/// </code>
/// </remarks>
internal static class ModelFileV1
{
    /// <summary>This format's version number.</summary>
    public const uint Version = 1;

    /// <summary>Offset of I, H, O.</summary>
    public const int SizesOffset = 24;

    /// <summary>The complete version 1 file for a layer and optional sections (kept to test the version 1 reader).</summary>
    internal static byte[] Serialize<T>(RecurrentLayer<T> layer, OptimizerState<T>? optimizer, TrainingPosition? position)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        layer.RequireFiniteParameters(nameof(layer));
        int size = LittleEndianTensors.SizeOf<T>();
        TensorSet<T> parameters = layer.Parameters;
        if (optimizer is not null && optimizer.TensorLengths.Count != 0)
        {
            ModelFileSections.RequireMatchingLengths(optimizer, parameters);
        }

        long length = ModelFileFields.FileLength(ModelFile.V1HeaderLength, parameters, optimizer, position);
        byte[] file = new byte[length];
        var writer = new SpanWriter(file);
        writer.Bytes(ModelFile.Signature);
        writer.UInt32(Version);
        writer.UInt64((ulong)length);
        writer.Byte((byte)size);
        writer.Byte(ModelFileFields.HiddenCode(layer.HiddenActivation));
        writer.Byte(ModelFileFields.OutputCode(layer.OutputActivation));
        writer.Byte(ModelFileFields.SectionsCode(optimizer, position));
        writer.UInt32((uint)layer.InputSize);
        writer.UInt32((uint)layer.HiddenSize);
        writer.UInt32((uint)layer.OutputSize);
        ModelFileFields.WriteParametersAndSections(ref writer, file, parameters, optimizer, position);
        return file;
    }

    /// <summary>Validates a whole version 1 file (checksum first, then every field); builds nothing. It is a layer's file.</summary>
    public static ModelFileV2.Contents<T> Parse<T>(byte[] file)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ModelFile.VerifyChecksum(file);
        var reader = new SpanReader(file.AsSpan(0, file.Length - ModelFile.ChecksumLength));
        reader.Skip(ModelFile.ElementSizeOffset);
        ModelFile.RequireElementType<T>(reader.Byte("element size"));
        HiddenActivation hidden = ModelFileFields.ReadHidden(ref reader);
        OutputActivation output = ModelFileFields.ReadOutput(ref reader);
        int sections = ModelFileFields.ReadSections(ref reader);

        int inputSize = reader.Size("I");
        int hiddenSize = reader.Size("H");
        int outputSize = reader.Size("O");
        if (output == OutputActivation.Softmax && outputSize < 2)
        {
            // Older releases accepted this model; it cannot have learned anything (its output is always 1).
            throw ModelFile.Invalid(RecurrentLayer<T>.SoftmaxNeedsTwoClasses(outputSize));
        }

        // Bound every parameter by the bytes actually present before allocating anything.
        long[] lengths = [(long)hiddenSize * inputSize, (long)hiddenSize * hiddenSize, (long)outputSize * hiddenSize, hiddenSize, outputSize];
        for (int i = 0; i < lengths.Length; i++)
        {
            // Each product of two sizes fits a long; bounding each keeps their sum in range too.
            if (lengths[i] > Array.MaxLength)
            {
                throw ModelFile.Invalid(
                    $"the sizes I={inputSize}, H={hiddenSize}, O={outputSize} give {NetworkTensors.LayerNames[i]} {lengths[i]:N0} elements, more than one .NET array can hold.");
            }
        }

        T[][] values = ModelFileFields.ReadParameters<T>(ref reader, lengths, NetworkTensors.LayerNames, inputSize, hiddenSize, outputSize);
        (OptimizerState<T>? optimizerState, TrainingPosition? position, _) = ModelFileFields.ReadSections<T>(ref reader, sections, lengths, NetworkTensors.LayerNames);

        var header = new ModelFileV2.Header(
            Version, ModelFileV2.LayerKind, RecurrentLayer<T>.CellKind, hidden, output, inputSize, hiddenSize, outputSize, Layers: 1, Directions: 1, Dropout: 0, Seed: 0, RandomState: new ulong[4]);
        return new ModelFileV2.Contents<T>(header, values, optimizerState, position);
    }
}
