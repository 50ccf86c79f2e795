using System.Numerics;
using System.Text;
using RnnCore.Cells;
using RnnCore.Models;
using RnnCore.Optimizers;

namespace RnnCore.Persistence;

/// <summary>
/// Format versions 2 and 3: a self-describing model file for every network, a <see cref="RecurrentLayer{T}"/> or any
/// <see cref="RecurrentModel{T}"/>. The header records the kind of model, the cell, the sizes, the layers, the
/// directions, the dropout, the activations, the seed and the dropout generator's state; a table then names every tensor
/// with its shape (PyTorch's <c>state_dict</c> names for a model; Wx, Wh, Wy, Bh, By for a layer) before the values.
/// Version 3 is version 2 with the token input: the embedding's V and padding id in the header (its table then starts
/// with <c>embedding.weight</c>) and the optional vocabulary section. A network with neither an embedding nor a
/// vocabulary is written as version 2, byte for byte what earlier releases write and read; one with either as version 3,
/// which earlier releases refuse as a newer version instead of loading a different network.
/// </summary>
/// <remarks>
/// <code>
/// offset  size  field
///      0     8  signature 89 52 4E 4E 0D 0A 1A 0A
///      8     4  format version (uint32) = 2 or 3
///     12     8  length of the whole file in bytes, checksum included (uint64)
///     20     1  element size: 4 = float32, 8 = float64
///     21     1  model kind: 1 = RecurrentLayer, 2 = RecurrentModel
///     22     1  cell: its CellDescription.FileCode, 1 = vanilla, 2 = LSTM, 3 = GRU (a RecurrentLayer: 1); an unknown code is refused
///     23     1  hidden activation: 1 = tanh, 2 = ReLU
///     24     1  output activation: 1 = identity, 2 = sigmoid, 3 = softmax
///     25     1  sections: bit 0 = optimizer state follows, bit 1 = training position follows, bit 2 (version 3) =
///               vocabulary follows; other bits 0
///     26     2  reserved, 0
///     28    12  I, H, O (uint32 each, positive)
///     40     4  L, layers (uint32, positive; a RecurrentLayer: 1)
///     44     4  D, directions (uint32, 1 or 2; a RecurrentLayer: 1)
///     48     8  dropout p (float64 in [0, 1); a RecurrentLayer: 0)
///     56     4  seed (int32; a RecurrentLayer: 0)
///     60     4  P, the projection size of a cell with a projection (uint32, 0 &lt; P &lt; H); 0 for every other cell
///     64    32  dropout generator state: xoshiro256**'s four words (uint64 each; a RecurrentLayer: all 0, a model: not all 0)
/// version 2:
///     96     4  N, the number of tensors (uint32): (the cell's tensors)·L·D + 2 for a model, 5 for a RecurrentLayer
///    100        the table, N entries: name length (uint16, 1..64), name (ASCII), rows (uint32), columns (uint32)
/// version 3:
///     96     4  V, the embedding's number of tokens (uint32; 0 = no embedding, and 0 for a RecurrentLayer)
///    100     4  the embedding's padding id (uint32, &lt; V; 0xFFFFFFFF = none, and none without an embedding)
///    104     4  N, as above, plus 1 with an embedding (embedding.weight, V x E with E = I, comes first)
///    108        the table, as above
///     then      the tensors in table order, rows·columns elements each, column-major
///     then      the optional sections (<see cref="ModelFileSections"/>), the optimizer's tensors in table order
///   last     4  CRC-32C of every byte before it
/// </code>
/// <para>
/// The loader accepts exactly the table the header implies (names, order and shapes), so a file is never read with a
/// tensor in the wrong place; the sizes are bounded by the bytes present before anything is allocated.
/// </para>
/// </remarks>
internal static class ModelFileV2
{
    /// <summary>This format's version number.</summary>
    public const uint Version = 2;

    /// <summary>The version with the token input (the embedding's fields and the vocabulary section).</summary>
    public const uint TokenVersion = 3;

    /// <summary>Offset of the model kind byte.</summary>
    public const int KindOffset = 21;

    /// <summary>Offset of I, H, O.</summary>
    public const int SizesOffset = 28;

    /// <summary>Offset of L.</summary>
    public const int LayersOffset = 40;

    /// <summary>Offset of the dropout probability.</summary>
    public const int DropoutOffset = 48;

    /// <summary>Offset of the generator state.</summary>
    public const int RandomStateOffset = 64;

    /// <summary>Offset of the tensor count (version 2).</summary>
    public const int TensorCountOffset = 96;

    /// <summary>The length of the fixed header, before the table (version 2).</summary>
    public const int HeaderLength = 100;

    /// <summary>Offset of V (version 3; the padding id follows, then the tensor count).</summary>
    public const int VocabularySizeOffset = 96;

    /// <summary>The length of version 3's fixed header, before the table.</summary>
    public const int TokenHeaderLength = 108;

    /// <summary>The padding-id field's value for none.</summary>
    private const uint NoPadding = uint.MaxValue;

    /// <summary>The longest tensor name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>The model-kind code of a <see cref="RecurrentLayer{T}"/>'s file.</summary>
    public const byte LayerKind = 1;
    private const byte ModelKind = 2;

    // The smallest table entry: a 1-byte name with its length and the two dimensions.
    private const int MinEntryLength = 2 + 1 + 4 + 4;

    /// <summary>
    /// The complete file for a network: a layer's (kind 1: one vanilla layer, one direction, no dropout, seed 0, no
    /// generator state) or a model's with its dropout generator's state (kind 2).
    /// </summary>
    public static byte[] Serialize<T>(RecurrentModel<T> network, OptimizerState<T>? optimizer, TrainingPosition? position)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        network.RequireFiniteParameters(nameof(network));
        RecurrentModelOptions o = network.Options;
        Vocabulary? vocabulary = network.Vocabulary;
        uint version = o.VocabularySize > 0 || vocabulary is not null ? TokenVersion : Version;
        var header = network.FusedBias
            ? new Header(
                version, LayerKind, o.Cell, o.HiddenActivation, o.OutputActivation, o.InputSize, o.HiddenSize, o.OutputSize,
                Layers: 1, Directions: 1, Dropout: 0, Seed: 0, RandomState: new ulong[4])
            : new Header(
                version, ModelKind, o.Cell, o.HiddenActivation, o.OutputActivation, o.InputSize, o.HiddenSize, o.OutputSize,
                o.Layers, network.Directions, o.Dropout, o.Seed, network.RandomState, o.ProjectionSize, o.VocabularySize, o.PaddingId);
        return Write(header, network.Parameters, optimizer, position, vocabulary);
    }

    /// <summary>The fixed header's length in <paramref name="version"/> (2 or 3).</summary>
    public static int HeaderLengthOf(uint version) => version == TokenVersion ? TokenHeaderLength : HeaderLength;

    /// <summary>Validates a whole version 2 or 3 file (checksum first, then every field); builds nothing.</summary>
    public static Contents<T> Parse<T>(byte[] file, uint version)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ModelFile.VerifyChecksum(file);
        bool tokens = version == TokenVersion;
        var reader = new SpanReader(file.AsSpan(0, file.Length - ModelFile.ChecksumLength));
        reader.Skip(ModelFile.ElementSizeOffset);
        byte elementSize = reader.Byte("element size");
        byte kind = reader.Byte("model kind");
        if (kind != LayerKind && kind != ModelKind)
        {
            throw ModelFile.Invalid($"the model kind code is {kind}; expected 1 (RecurrentLayer) or 2 (RecurrentModel).");
        }

        ModelFile.RequireElementType<T>(elementSize);

        // A cell this build does not know is refused, never read as another cell.
        byte code = reader.Byte("cell");
        CellDescription cellDescription = CellRegistry.ByFileCode(code)
            ?? throw ModelFile.Invalid($"the cell code is {code}, a cell this build of RnnCore does not know; it knows {CellRegistry.FileCodes}.");
        RecurrentCellKind cell = cellDescription.Kind;
        HiddenActivation hidden = ModelFileFields.ReadHidden(ref reader);
        OutputActivation output = ModelFileFields.ReadOutput(ref reader);
        int sections = ModelFileFields.ReadSections(ref reader, vocabulary: tokens);

        if (reader.UInt16("reserved") != 0)
        {
            throw ModelFile.Invalid("the reserved bytes 26..27 are not zero.");
        }

        int inputSize = reader.Size("I");
        int hiddenSize = reader.Size("H");
        int outputSize = reader.Size("O");
        int layers = reader.Size("L");
        uint directions = reader.UInt32("D");
        if (directions is not (1 or 2))
        {
            throw ModelFile.Invalid($"the number of directions D is {directions}; expected 1 or 2.");
        }

        double dropout = reader.Double("dropout");
        if (!(dropout >= 0 && dropout < 1))
        {
            throw ModelFile.Invalid($"the dropout probability is {dropout}; expected a value in [0, 1).");
        }

        int seed = unchecked((int)reader.UInt32("seed"));

        // Bytes 60..63: P for a cell with a projection (its h has P values, 0 < P < H), zero for every other cell.
        uint projectionField = reader.UInt32("projection size");
        int? projection = null;
        if (cellDescription.HasProjection)
        {
            if (projectionField == 0 || projectionField >= (uint)hiddenSize)
            {
                throw ModelFile.Invalid($"the projection size P (bytes 60..63) is {projectionField}; the {cellDescription.DisplayName} cell needs 0 < P < H = {hiddenSize}.");
            }

            projection = (int)projectionField;
        }
        else if (projectionField != 0)
        {
            throw ModelFile.Invalid($"the bytes 60..63 hold {projectionField}, but they are zero for the {cellDescription.DisplayName} cell (they hold P only for a cell with a projection).");
        }

        ulong[] randomState = [reader.UInt64("generator state"), reader.UInt64("generator state"), reader.UInt64("generator state"), reader.UInt64("generator state")];
        bool stateIsZero = (randomState[0] | randomState[1] | randomState[2] | randomState[3]) == 0;

        // Version 3: the embedding's V (0 for none) and padding id (none, or an id below V).
        int vocabularySize = 0;
        int? padding = null;
        if (tokens)
        {
            uint v = reader.UInt32("vocabulary size V");
            uint paddingField = reader.UInt32("padding id");
            if (v > int.MaxValue || (kind == LayerKind && v != 0))
            {
                throw ModelFile.Invalid($"the embedding's vocabulary size V is {v}; expected 0 (no embedding{(kind == LayerKind ? ", as a RecurrentLayer has" : string.Empty)}){(kind == LayerKind ? string.Empty : $" or 1..{int.MaxValue}")}.");
            }

            if (paddingField != NoPadding && paddingField >= v)
            {
                throw ModelFile.Invalid(v == 0
                    ? $"the padding id is {paddingField} but there is no embedding (V = 0); expected 0x{NoPadding:X8} (none)."
                    : $"the padding id is {paddingField}; expected an id below V = {v}, or 0x{NoPadding:X8} (none).");
            }

            vocabularySize = (int)v;
            padding = paddingField == NoPadding ? null : (int)paddingField;
        }

        var header = new Header(version, kind, cell, hidden, output, inputSize, hiddenSize, outputSize, layers, (int)directions, dropout, seed, randomState, projection, vocabularySize, padding);
        if (kind == LayerKind)
        {
            if (cell != RecurrentLayer<T>.CellKind || layers != 1 || directions != 1 || dropout != 0 || seed != 0 || !stateIsZero)
            {
                throw ModelFile.Invalid(
                    $"a RecurrentLayer is a vanilla cell, 1 layer, 1 direction, no dropout, seed 0 and no generator state, but the header says {header.Describe()}.");
            }

            if (output == OutputActivation.Softmax && outputSize < 2)
            {
                throw ModelFile.Invalid(RecurrentLayer<T>.SoftmaxNeedsTwoClasses(outputSize));
            }
        }
        else if (stateIsZero)
        {
            throw ModelFile.Invalid("the dropout generator state is four zero words, a state xoshiro256** never reaches.");
        }

        // The table's size follows from L and D; bound it by the bytes present before building the expected names.
        uint count = reader.UInt32("tensor count");
        long expectedCount = kind == LayerKind ? NetworkTensors.LayerNames.Length : ((long)cellDescription.Tensors.Count * layers * directions) + 2 + (vocabularySize > 0 ? 1 : 0);
        if (count != expectedCount)
        {
            throw ModelFile.Invalid($"the table lists {count} tensors but {header.Describe()} has {expectedCount}.");
        }

        if ((long)count * MinEntryLength > reader.Remaining)
        {
            throw ModelFile.Invalid($"the table of {count} tensors needs at least {(long)count * MinEntryLength:N0} bytes but only {reader.Remaining:N0} remain.");
        }

        NetworkTensor[] expected = ExpectedTable(header);
        for (int i = 0; i < expected.Length; i++)
        {
            int nameLength = reader.UInt16("tensor name length");
            if (nameLength == 0 || nameLength > MaxNameLength)
            {
                throw ModelFile.Invalid($"tensor {i}'s name is {nameLength} bytes long; expected 1..{MaxNameLength}.");
            }

            ReadOnlySpan<byte> name = reader.Bytes(nameLength, "tensor name");
            if (!name.SequenceEqual(Encoding.ASCII.GetBytes(expected[i].Name)))
            {
                throw ModelFile.Invalid($"tensor {i} is named '{Printable(name)}' but {header.Describe()} has '{expected[i].Name}' there.");
            }

            uint rows = reader.UInt32("tensor rows");
            uint columns = reader.UInt32("tensor columns");
            if (rows != expected[i].Rows || columns != expected[i].Columns)
            {
                throw ModelFile.Invalid(
                    $"tensor '{expected[i].Name}' is {rows} x {columns} in the table but the header's sizes give {expected[i].Rows} x {expected[i].Columns}.");
            }

            // Each product of two sizes fits a long; bounding each keeps their sum in range too.
            if (expected[i].Length > Array.MaxLength)
            {
                throw ModelFile.Invalid(
                    $"the sizes I={inputSize}, H={hiddenSize}, O={outputSize} give {expected[i].Name} {expected[i].Length:N0} elements, more than one .NET array can hold.");
            }
        }

        long[] lengths = expected.Select(e => e.Length).ToArray();
        string[] names = expected.Select(e => e.Name).ToArray();
        T[][] values = ModelFileFields.ReadParameters<T>(ref reader, lengths, names, inputSize, hiddenSize, outputSize);
        (OptimizerState<T>? optimizerState, TrainingPosition? position, Vocabulary? vocabulary) = ModelFileFields.ReadSections<T>(ref reader, sections, lengths, names);
        if (vocabulary is not null)
        {
            // The vocabulary must give the ids the network reads: V with an embedding, else I; its padding id the embedding's.
            int ids = vocabularySize > 0 ? vocabularySize : inputSize;
            if (vocabulary.Count != ids)
            {
                throw ModelFile.Invalid(
                    $"the vocabulary holds {vocabulary.Count} tokens but {header.Describe()} reads {ids} ids ({(vocabularySize > 0 ? "V" : "I")}); the vocabulary section is damaged.");
            }

            if (padding is int p && p != vocabulary.PaddingId)
            {
                throw ModelFile.Invalid($"the vocabulary's padding id is {vocabulary.PaddingId} but the embedding's is {p}.");
            }
        }

        return new Contents<T>(header, values, optimizerState, position, vocabulary);
    }

    /// <summary>The table the header implies: the network's own names, order and shapes (<see cref="NetworkTensors.Parameters"/>).</summary>
    private static NetworkTensor[] ExpectedTable(Header header) => NetworkTensors.Parameters(header.Options, fusedBias: header.IsLayer);

    private static byte[] Write<T>(Header header, TensorSet<T> parameters, OptimizerState<T>? optimizer, TrainingPosition? position, Vocabulary? vocabulary)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (optimizer is not null && optimizer.TensorLengths.Count != 0)
        {
            ModelFileSections.RequireMatchingLengths(optimizer, parameters);
        }

        NetworkTensor[] table = ExpectedTable(header);
        int size = LittleEndianTensors.SizeOf<T>();
        long length = ModelFileFields.FileLength(HeaderLengthOf(header.Version) + table.Sum(e => 2L + e.Name.Length + 8), parameters, optimizer, position, vocabulary);

        byte[] file = new byte[length];
        var writer = new SpanWriter(file);
        writer.Bytes(ModelFile.Signature);
        writer.UInt32(header.Version);
        writer.UInt64((ulong)length);
        writer.Byte((byte)size);
        writer.Byte(header.Kind);
        writer.Byte(CellRegistry.Of(header.Cell, header.ProjectionSize).FileCode);
        writer.Byte(ModelFileFields.HiddenCode(header.Hidden));
        writer.Byte(ModelFileFields.OutputCode(header.Output));
        writer.Byte(ModelFileFields.SectionsCode(optimizer, position, vocabulary));
        writer.UInt16(0);
        writer.UInt32((uint)header.InputSize);
        writer.UInt32((uint)header.HiddenSize);
        writer.UInt32((uint)header.OutputSize);
        writer.UInt32((uint)header.Layers);
        writer.UInt32((uint)header.Directions);
        writer.Double(header.Dropout);
        writer.UInt32(unchecked((uint)header.Seed));
        writer.UInt32((uint)(header.ProjectionSize ?? 0)); // P of a cell with a projection, else zero
        foreach (ulong word in header.RandomState)
        {
            writer.UInt64(word);
        }

        if (header.Version == TokenVersion)
        {
            writer.UInt32((uint)header.VocabularySize);
            writer.UInt32(header.PaddingId is int padding ? (uint)padding : NoPadding);
        }

        writer.UInt32((uint)table.Length);
        for (int i = 0; i < table.Length; i++)
        {
            // The table is derived from the header; the model's own names and lengths must agree with it.
            if (parameters.GetName(i) != table[i].Name || parameters.GetLength(i) != table[i].Length)
            {
                throw new InvalidOperationException($"parameter {i} is {parameters.GetName(i)} ({parameters.GetLength(i)} elements) but the table expects {table[i].Name} ({table[i].Length}).");
            }

            writer.UInt16((ushort)table[i].Name.Length);
            writer.Bytes(Encoding.ASCII.GetBytes(table[i].Name));
            writer.UInt32((uint)table[i].Rows);
            writer.UInt32((uint)table[i].Columns);
        }

        ModelFileFields.WriteParametersAndSections(ref writer, file, parameters, optimizer, position, vocabulary);
        return file;
    }

    private static string Printable(ReadOnlySpan<byte> name)
    {
        var text = new StringBuilder(name.Length);
        foreach (byte b in name)
        {
            text.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        }

        return text.ToString();
    }

    /// <summary>The fixed header's fields, as written or as read and checked.</summary>
    internal sealed record Header(
        uint Version, byte Kind, RecurrentCellKind Cell, HiddenActivation Hidden, OutputActivation Output, int InputSize, int HiddenSize, int OutputSize,
        int Layers, int Directions, double Dropout, int Seed, ulong[] RandomState, int? ProjectionSize = null, int VocabularySize = 0, int? PaddingId = null)
    {
        /// <summary>True for a <see cref="RecurrentLayer{T}"/>, false for a <see cref="RecurrentModel{T}"/>.</summary>
        public bool IsLayer => Kind == LayerKind;

        /// <summary>The options of the model the header describes.</summary>
        public RecurrentModelOptions Options => new(InputSize, HiddenSize, OutputSize)
        {
            Cell = Cell, ProjectionSize = ProjectionSize, Layers = Layers, Bidirectional = Directions == 2, Dropout = Dropout, HiddenActivation = Hidden,
            OutputActivation = Output, Seed = Seed, VocabularySize = VocabularySize, PaddingId = PaddingId,
        };

        /// <summary>A description for messages.</summary>
        public string Describe() => IsLayer
            ? $"a RecurrentLayer (I={InputSize}, H={HiddenSize}, O={OutputSize}, {Hidden} hidden units, {Output} output)"
            : $"a RecurrentModel ({CellRegistry.Of(Cell, ProjectionSize).Describe(Hidden)}, {Layers} layer{(Layers == 1 ? string.Empty : "s")}, " +
              $"{(Directions == 2 ? "bidirectional" : "unidirectional")}, I={InputSize}, H={HiddenSize}{(ProjectionSize is int p ? $", P={p}" : string.Empty)}, O={OutputSize}" +
              $"{(VocabularySize > 0 ? $", embedding V={VocabularySize}{(PaddingId is int pad ? $" padding {pad}" : string.Empty)}" : string.Empty)}, dropout {Dropout}, {Output} output)";
    }

    /// <summary>A validated file: the header, the tensors in table order, and the optional sections.</summary>
    internal sealed record Contents<T>(Header Header, T[][] Tensors, OptimizerState<T>? OptimizerState, TrainingPosition? Position, Vocabulary? Vocabulary = null)
        where T : unmanaged, IFloatingPointIeee754<T>;
}
