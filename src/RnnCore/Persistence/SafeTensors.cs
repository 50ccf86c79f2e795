using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using RnnCore.Cells;
using RnnCore.Internal;
using RnnCore.Models;
using static RnnCore.Persistence.SafeTensorsFormat;

namespace RnnCore.Persistence;

/// <summary>
/// PyTorch interop through safetensors, for every network: PyTorch's <c>state_dict</c> names of a recurrent module
/// (<c>nn.RNN</c>, <c>nn.LSTM</c> or <c>nn.GRU</c>, any number of layers, one or two directions) followed by an
/// <c>nn.Linear</c> head, with an optional <c>nn.Embedding</c> in front. RnnCore writes the embedding as <c>embedding</c>
/// (<c>embedding.weight</c>, [V, E], first), the recurrent module as <c>rnn</c> and the head as <c>head</c>
/// (<c>rnn.weight_ih_l0</c>, …, <c>rnn.bias_hh_l1_reverse</c>, <c>head.weight</c>, <c>head.bias</c>); a
/// <see cref="RecurrentLayer{T}"/> as <c>rnn = nn.RNN(I, H)</c> and <c>fc = nn.Linear(H, O)</c>, with its one hidden
/// bias b_h in <c>rnn.bias_ih_l0</c> and zeros in <c>rnn.bias_hh_l0</c>. A PyTorch module with those members loads the
/// exported file with <c>load_state_dict</c>, and RnnCore continues from a file saved by PyTorch. See docs/interop-models.md.
/// </summary>
/// <remarks>
/// <para>
/// Tensors are written row-major (PyTorch's layout) and transposed from and to RnnCore's column-major storage. The
/// element type is F32 for <see cref="float"/> and F64 for <see cref="double"/>; import requires the file's dtype to be
/// the one asked for (convert in PyTorch with <c>model.float()</c> or <c>model.double()</c>). What a state dict does not
/// hold (the cell's name, layers, directions, the activations, dropout) RnnCore records in the header's
/// <c>__metadata__</c>; a file saved by PyTorch has none, so pass what the Python code uses
/// (<c>nn.RNN(..., nonlinearity='relu')</c> is <see cref="HiddenActivation.Relu"/>; the output activation is whatever
/// it applies to the head's result). The embedding's padding id (<c>padding_idx</c>) is not in a state dict either: export
/// records it as <c>__metadata__</c> <c>padding_idx</c>, and import takes it from there or from its <c>paddingId</c>
/// argument (a file saved by PyTorch: pass the <c>padding_idx</c> the Python code gives <c>nn.Embedding</c>). The
/// vocabulary a network carries is not written: use the model file for it.
/// </para>
/// <para>
/// Import infers the cell from the tensor names and W_hh's G·H x H shape, the layers and directions from the names; a
/// file whose metadata names a cell this build does not know is refused, never read as another. A file laid out as the
/// layer's (<c>rnn</c> + <c>fc</c>, one vanilla layer, one direction) imports as a <see cref="RecurrentLayer{T}"/> with
/// b_h = bias_ih + bias_hh (PyTorch adds the two biases separately, RnnCore once: outputs agree to rounding); any other
/// as a <see cref="RecurrentModel{T}"/>. The format has no checksum: a changed byte inside the tensor data gives a model
/// with another value, which no loader can notice; everything else (header, names, shapes, dtypes, offsets, length,
/// finite values) is validated before anything is built.
/// </para>
/// </remarks>
public static class SafeTensors
{
    /// <summary>The largest JSON header accepted, as in the safetensors reference implementation (100 MB).</summary>
    public const int MaxHeaderLength = 100_000_000;

    // The module names RnnCore writes: the recurrent module, a model's head, and the layer's head.
    private const string RecurrentModule = "rnn";
    private const string HeadModule = "head";
    private const string LayerHeadModule = "fc";

    // __metadata__ keys (safetensors metadata maps strings to strings).
    private const string CellKey = "cell";
    private const string LayersKey = "num_layers";
    private const string BidirectionalKey = "bidirectional";
    private const string HiddenKey = "hidden_activation";
    private const string OutputKey = "output_activation";
    private const string DropoutKey = "dropout";
    private const string PaddingKey = "padding_idx";

    /// <summary>
    /// A recurrent tensor's last name part, as the known cells name them with PyTorch's layer suffix: weight_ih_l0,
    /// bias_hh_l1_reverse, ….
    /// </summary>
    private static readonly Regex RecurrentTensorName = new(
        $"^({string.Join("|", CellRegistry.All.SelectMany(c => c.Tensors).Select(t => t.Name).Distinct())})_l(0|[1-9][0-9]{{0,3}})(_reverse)?$",
        RegexOptions.CultureInvariant);

    /// <summary>
    /// Writes the network as a safetensors file with PyTorch's <c>state_dict</c> names and its cell, layers, directions,
    /// activations and dropout in <c>__metadata__</c>, atomically (temporary file, flush, rename).
    /// </summary>
    /// <param name="network">The network (a <see cref="RecurrentLayer{T}"/> or any <see cref="RecurrentModel{T}"/>); every parameter must be finite.</param>
    /// <param name="path">The file to create or replace, by convention <c>*.safetensors</c>.</param>
    /// <typeparam name="T">The element type: written as F32 for float, F64 for double.</typeparam>
    /// <exception cref="ArgumentException"><paramref name="network"/> holds a NaN or infinite parameter (the message names it); nothing is written.</exception>
    /// <exception cref="IOException">The file system refused the write (a permission denied or a file-size limit comes as an IOException whose inner exception is .NET's original); an existing file at <paramref name="path"/> is unchanged. See docs/hosting.md.</exception>
    public static void Export<T>(RecurrentModel<T> network, string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.WriteAllBytes(path, Serialize(network));
    }

    /// <summary>Writes the network in safetensors format to a stream, at its current position; see <see cref="Export{T}(RecurrentModel{T}, string)"/>.</summary>
    /// <param name="network">The network; every parameter must be finite.</param>
    /// <param name="stream">A writable stream; it is not closed.</param>
    /// <typeparam name="T">The element type: written as F32 for float, F64 for double.</typeparam>
    /// <exception cref="ArgumentException"><paramref name="network"/> holds a NaN or infinite parameter; nothing is written.</exception>
    public static void Export<T>(RecurrentModel<T> network, Stream stream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(Serialize(network));
    }

    /// <summary>
    /// Reads a safetensors file written by <see cref="Export{T}(RecurrentModel{T}, string)"/> or by PyTorch
    /// (<c>save_file(model.state_dict(), path)</c> of a module holding one <c>nn.RNN</c>, <c>nn.LSTM</c> or <c>nn.GRU</c>
    /// and one <c>nn.Linear</c> head) into a new network: a <see cref="RecurrentLayer{T}"/> for the layer's layout
    /// (<c>rnn</c> + <c>fc</c>, one vanilla layer, one direction), else a <see cref="RecurrentModel{T}"/>. The cell, layers
    /// and directions come from the tensor names and shapes (and must agree with the file's <c>__metadata__</c> when it
    /// records them); the two module names are found in the file (<c>lstm.weight_ih_l0</c> + <c>fc.weight</c> works as
    /// well as <c>rnn.</c> + <c>head.</c>, and so does a nested <c>encoder.gru.weight_ih_l0</c>).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="cell">The cell you expect, or null to take the file's. A different one is refused.</param>
    /// <param name="layers">The number of layers you expect, or null. A different one is refused.</param>
    /// <param name="bidirectional">Whether you expect a bidirectional network, or null. A different answer is refused.</param>
    /// <param name="hiddenActivation">
    /// f of a vanilla cell (<c>nonlinearity</c>), or null: the file's <c>hidden_activation</c>, else tanh (PyTorch's
    /// default). A value that contradicts the file's is refused, and so is ReLU for an LSTM or GRU.
    /// </param>
    /// <param name="outputActivation">
    /// g, or null: the file's <c>output_activation</c>, else softmax (for a file saved by PyTorch, pass what the Python
    /// code applies to the head's result). A value that contradicts the file's is refused.
    /// </param>
    /// <param name="paddingId">
    /// The embedding's padding id (<c>nn.Embedding</c>'s <c>padding_idx</c>), or null: the file's <c>padding_idx</c>
    /// metadata, else none. Only for a file with an embedding (a module's <c>weight</c> [V, E] without a bias, before the
    /// recurrent module), in [0, V); a value that contradicts the file's is refused.
    /// </param>
    /// <typeparam name="T">The element type the file must hold (F32 for float, F64 for double).</typeparam>
    /// <returns>The new network (dropout as recorded, else 0; seed 0).</returns>
    /// <exception cref="ModelFormatException">The file is truncated, not safetensors, of another dtype, names a cell this build does not know, or is not a recurrent module plus a head with consistent names, shapes, metadata, offsets and finite values; the message says which. Nothing is returned.</exception>
    /// <exception cref="ArgumentException">An argument contradicts the file (the message names the argument, what it asked and what the file holds).</exception>
    /// <exception cref="ArgumentOutOfRangeException">An enum argument is not a defined value, <paramref name="layers"/> is below 1, or <paramref name="paddingId"/> is negative.</exception>
    public static RecurrentModel<T> Import<T>(
        string path, RecurrentCellKind? cell = null, int? layers = null, bool? bidirectional = null,
        HiddenActivation? hiddenActivation = null, OutputActivation? outputActivation = null, int? paddingId = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var expected = new Expectation(cell, layers, bidirectional, hiddenActivation, outputActivation, paddingId);
        expected.Validate();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        RecurrentModel<T> network = Read<T>(stream, expected, out long consumed);
        if (consumed != stream.Length)
        {
            throw Invalid($"the file is {stream.Length:N0} bytes long but its header accounts for {consumed:N0}; safetensors files may not have trailing data.");
        }

        return network;
    }

    /// <summary>Reads a safetensors network from a stream (exactly the bytes its header declares); see <see cref="Import{T}(string, RecurrentCellKind?, int?, bool?, HiddenActivation?, OutputActivation?, int?)"/>.</summary>
    /// <param name="stream">A readable stream; it is not closed.</param>
    /// <param name="cell">The cell you expect, or null.</param>
    /// <param name="layers">The number of layers you expect, or null.</param>
    /// <param name="bidirectional">Whether you expect a bidirectional network, or null.</param>
    /// <param name="hiddenActivation">f of a vanilla cell, or null for the file's (else tanh).</param>
    /// <param name="outputActivation">g, or null for the file's (else softmax).</param>
    /// <param name="paddingId">The embedding's padding id, or null for the file's (else none).</param>
    /// <typeparam name="T">The element type the data must hold.</typeparam>
    /// <returns>The new network.</returns>
    /// <exception cref="ModelFormatException">The data is truncated, not safetensors, of another dtype, names an unknown cell, or is not a consistent recurrent network.</exception>
    /// <exception cref="ArgumentException">An argument contradicts the data.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An enum argument is not a defined value, <paramref name="layers"/> is below 1, or <paramref name="paddingId"/> is negative.</exception>
    public static RecurrentModel<T> Import<T>(
        Stream stream, RecurrentCellKind? cell = null, int? layers = null, bool? bidirectional = null,
        HiddenActivation? hiddenActivation = null, OutputActivation? outputActivation = null, int? paddingId = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        var expected = new Expectation(cell, layers, bidirectional, hiddenActivation, outputActivation, paddingId);
        expected.Validate();
        return Read<T>(stream, expected, out _);
    }

    /// <summary>The whole safetensors file for a network.</summary>
    internal static byte[] Serialize<T>(RecurrentModel<T> network)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        RecurrentModelOptions o = network.Options;
        CellDescription cell = network.Cell.Description;
        NetworkTensor[] tensors = NetworkTensors.PyTorch(o, RecurrentModule, network.FusedBias ? LayerHeadModule : HeadModule);
        for (int p = 0; p < network.Parameters.Count; p++)
        {
            int bad = Guard.IndexOfNonFinite<T>(network.Parameters[p]);
            if (bad >= 0)
            {
                long rows = network.Parameter(network.Parameters.GetName(p)).RowCount;
                string where = network.Parameters[p].Length == rows ? $"[{bad}]" : $"[{bad % rows}, {bad / rows}]";
                throw new ArgumentException(
                    $"network holds {network.Parameters[p][bad]} in {network.Parameters.GetName(p)} at {where}; every parameter must be finite to be exported (such a file could not be imported).",
                    nameof(network));
            }
        }

        int size = LittleEndianTensors.SizeOf<T>();
        long[] begins = new long[tensors.Length + 1];
        for (int k = 0; k < tensors.Length; k++)
        {
            begins[k + 1] = begins[k] + (tensors[k].Length * size);
        }

        var metadata = new List<(string Key, string Value)>
        {
            ("format", "pt"),
            ("producer", "RnnCore"),
            (CellKey, cell.SafeTensorsName),
            (LayersKey, o.Layers.ToString(CultureInfo.InvariantCulture)),
            (BidirectionalKey, o.Bidirectional ? "true" : "false"),
        };
        if (cell.UsesHiddenActivation)
        {
            metadata.Add((HiddenKey, HiddenName(o.HiddenActivation)));
        }

        metadata.Add((OutputKey, OutputName(o.OutputActivation)));
        metadata.Add((DropoutKey, o.Dropout.ToString("R", CultureInfo.InvariantCulture)));
        if (o.PaddingId is int padding)
        {
            metadata.Add((PaddingKey, padding.ToString(CultureInfo.InvariantCulture)));
        }

        byte[] file = WriteHeader(
            metadata, tensors.Select(t => (t.Name, t.IsVector ? new[] { t.Rows } : new[] { t.Rows, t.Columns })).ToArray(), begins, size, out int dataStart);
        Span<byte> data = file.AsSpan(dataStart);
        T[] scratch = new T[tensors.Max(t => t.Length)];
        for (int k = 0; k < tensors.Length; k++)
        {
            // PyTorch's view of the network: the fused layer's b_hh is its zero array, b_ih its b_h.
            NetworkTensor tensor = tensors[k];
            ReadOnlySpan<T> values = Storage(network, tensor);
            Span<byte> destination = data.Slice((int)begins[k]);
            if (tensor.IsVector)
            {
                LittleEndianTensors.Write<T>(values, destination);
            }
            else
            {
                WriteRowMajor<T>(values, (int)tensor.Rows, (int)tensor.Columns, scratch, destination);
            }
        }

        return file;
    }

    private static RecurrentModel<T> Read<T>(Stream stream, Expectation expected, out long consumed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Guard.RequireSupportedElementType<T>();
        if (!stream.CanRead)
        {
            throw new ArgumentException("stream is not readable.", nameof(stream));
        }

        byte[] header = ReadHeader(stream);
        Dictionary<string, Entry> entries = ParseHeader<T>(header, "Import", out Dictionary<string, string> metadata);

        // A cell the file names but this build does not know is refused before the shapes are read: never another cell.
        if (metadata.TryGetValue(CellKey, out string? named) && CellRegistry.BySafeTensorsName(named) is null)
        {
            throw Invalid($"__metadata__ records {CellKey} '{named}', a cell this build of RnnCore does not know; it knows {CellRegistry.SafeTensorsNames}.");
        }

        Layout layout = InferLayout(entries);
        long dataLength = RequireContiguous(layout.Entries, layout.Tensors.Select(t => t.Name).ToArray());
        CheckMetadata(layout, metadata);
        RecurrentModelOptions options = ChooseOptions(layout, metadata, expected);
        byte[] data = StreamReading.ReadExactly(stream, dataLength, "the tensor data");
        consumed = 8 + header.LongLength + dataLength;

        // Decode and check every tensor before the network exists: a bad value leaves nothing behind.
        int size = LittleEndianTensors.SizeOf<T>();
        var decoded = new T[layout.Tensors.Length][];
        for (int k = 0; k < layout.Tensors.Length; k++)
        {
            NetworkTensor tensor = layout.Tensors[k];
            decoded[k] = new T[tensor.Length];
            LittleEndianTensors.Read<T>(data.AsSpan((int)layout.Entries[k].Begin, (int)(tensor.Length * size)), decoded[k]);
            int bad = Guard.IndexOfNonFinite<T>(decoded[k]);
            if (bad >= 0)
            {
                // Row-major in the file: element bad is (bad / columns, bad % columns).
                string where = tensor.IsVector ? $"[{bad}]" : $"[{bad / tensor.Columns}, {bad % tensor.Columns}]";
                throw Invalid($"{tensor.Name} holds {decoded[k][bad]} at {where}; every parameter must be finite.");
            }
        }

        // The layer's layout (rnn + fc, one vanilla layer, one direction) is a RecurrentLayer, whose b_h is b_ih + b_hh.
        bool layer = layout.Prefix == RecurrentModule && layout.Head == LayerHeadModule
            && options.Cell == RecurrentLayer<T>.CellKind && options.Layers == 1 && !options.Bidirectional;
        if (layer)
        {
            NetworkTensor[] t = layout.Tensors;
            T[] bh = decoded[2];
            for (int r = 0; r < bh.Length; r++)
            {
                T sum = decoded[2][r] + decoded[3][r];
                if (!T.IsFinite(sum))
                {
                    throw Invalid($"{t[2].Name} + {t[3].Name} at element {r} is {decoded[2][r]} + {decoded[3][r]} = {sum}; b_h must be finite.");
                }
            }
        }

        RecurrentModel<T> network = layer
            ? new RecurrentLayer<T>(options.InputSize, options.HiddenSize, options.OutputSize, options.HiddenActivation, options.OutputActivation)
            : new RecurrentModel<T>(options);
        for (int k = 0; k < layout.Tensors.Length; k++)
        {
            NetworkTensor tensor = layout.Tensors[k];
            Span<T> destination = Storage(network, tensor);
            if (network.FusedBias && tensor.Index == 3 && tensor.IsCell)
            {
                // b_h = bias_ih + bias_hh: bias_ih is already in b_h (it comes first in state_dict order).
                Span<T> bh = network.CellTensor(tensor.LayerDirection, 2);
                for (int r = 0; r < bh.Length; r++)
                {
                    bh[r] += decoded[k][r];
                }
            }
            else if (tensor.IsVector)
            {
                decoded[k].CopyTo(destination);
            }
            else
            {
                ReadRowMajor(decoded[k], (int)tensor.Rows, (int)tensor.Columns, destination);
            }
        }

        return network;
    }

    /// <summary>Where a tensor of the PyTorch table lives in the network: the embedding, the head's weight or bias, or a cell tensor.</summary>
    private static T[] Storage<T>(RecurrentModel<T> network, NetworkTensor tensor)
        where T : unmanaged, IFloatingPointIeee754<T>
        => tensor.IsEmbedding ? network.EmbeddingTable
            : tensor.IsHead ? network.ParameterArray(tensor.Index == 0 ? network.HeadWeightIndex : network.HeadBiasIndex)
            : network.CellTensor(tensor.LayerDirection, tensor.Index);

    /// <summary>
    /// Finds the recurrent module and the head from the names, then the cell from the tensor names and W_hh's G·H x H
    /// shape, the sizes, layers and directions, and checks that the file holds exactly the tensors of that network with
    /// their shapes; returns them in state_dict order with their entries.
    /// </summary>
    private static Layout InferLayout(Dictionary<string, Entry> entries)
    {
        if (entries.Count == 0)
        {
            throw Invalid("the file holds no tensors.");
        }

        var recurrentModules = new SortedSet<string>(StringComparer.Ordinal);
        var headModules = new SortedSet<string>(StringComparer.Ordinal);
        var leaves = new SortedSet<string>(StringComparer.Ordinal);
        int layers = 0;
        bool reverse = false;
        foreach (string name in entries.Keys)
        {
            int dot = name.LastIndexOf('.');
            string leaf = name.Substring(dot + 1);
            Match match = RecurrentTensorName.Match(leaf);
            if (dot <= 0 || (!match.Success && leaf is not ("weight" or "bias")))
            {
                throw Invalid(
                    $"the file holds a tensor '{name}', but RnnCore reads a state_dict of one recurrent module (<module>.weight_ih_l0, " +
                    "weight_hh_l0, bias_ih_l0, bias_hh_l0, … for every layer, with _reverse for a bidirectional one) and one nn.Linear head " +
                    "(<head>.weight, <head>.bias); other tensors (projections, a bias-free RNN, more modules) are not supported.");
            }

            if (match.Success)
            {
                recurrentModules.Add(name.Substring(0, dot));
                leaves.Add(match.Groups[1].Value);
                layers = Math.Max(layers, 1 + int.Parse(match.Groups[2].ValueSpan, CultureInfo.InvariantCulture));
                reverse |= match.Groups[3].Success;
            }
            else
            {
                headModules.Add(name.Substring(0, dot));
            }
        }

        if (recurrentModules.Count != 1)
        {
            throw Invalid(recurrentModules.Count == 0
                ? $"the file holds no recurrent tensors (<module>.weight_ih_l0, …); expected the state_dict of a module holding an {CellRegistry.Join(CellRegistry.All.Select(c => c.PyTorchModule).Distinct())}."
                : $"the file holds recurrent tensors of {recurrentModules.Count} modules ({string.Join(", ", recurrentModules)}); RnnCore reads one recurrent module.");
        }

        // An embedding is a module with a weight and no bias (nn.Embedding); the head (nn.Linear) has both.
        string[] embeddings = headModules.Where(m => !entries.ContainsKey($"{m}.bias")).ToArray();
        if (embeddings.Length > 1)
        {
            throw Invalid($"the file holds {embeddings.Length} modules with a weight and no bias ({string.Join(", ", embeddings)}); RnnCore reads at most one nn.Embedding.");
        }

        string? embeddingModule = embeddings.Length == 1 ? embeddings[0] : null;
        headModules.ExceptWith(embeddings);
        if (headModules.Count != 1)
        {
            throw Invalid(headModules.Count == 0
                ? "the file holds no head (<head>.weight, <head>.bias of an nn.Linear after the recurrent module); RnnCore models end in a linear head."
                : $"the file holds weight/bias tensors of {headModules.Count} modules ({string.Join(", ", headModules)}); RnnCore reads one nn.Linear head.");
        }

        string prefix = recurrentModules.Min!, head = headModules.Min!;
        int d = reverse ? 2 : 1;
        Entry hh = RequireEntry(entries, $"{prefix}.weight_hh_l0");
        string known = CellRegistry.Join(CellRegistry.All.OrderBy(c => c.Gates).Select(c => $"{c.Gates} ({c.PyTorchModule})").Distinct());

        // A cell with a projection is the one whose tensors name every leaf the file holds (its fifth, W_hr [P, H], is
        // in no other cell): then H and P come from W_hr, and W_hh is [G·H, P]. Otherwise W_hh [G·H, H] gives H.
        HashSet<string> plainNames = CellRegistry.All.Where(c => !c.HasProjection).SelectMany(c => c.Tensors).Select(t => t.Name).ToHashSet();
        CellDescription? projected = leaves.IsSubsetOf(plainNames)
            ? null
            : CellRegistry.All.FirstOrDefault(c => c.HasProjection && leaves.IsSubsetOf(c.Tensors.Select(t => t.Name)));
        int h;
        int? projection = null;
        if (projected is not null)
        {
            string hrName = $"{prefix}.{projected.Tensors[4].Name}_l0";
            Entry hr = RequireEntry(entries, hrName);
            if (hr.Shape.Length != 2 || hr.Shape[0] == 0 || hr.Shape[1] <= hr.Shape[0])
            {
                throw Invalid($"{hrName} has shape [{string.Join(", ", hr.Shape)}]; expected [P, H] with 0 < P < H ({projected.PyTorchModule} with proj_size = P).");
            }

            h = (int)hr.Shape[1];
            projection = (int)hr.Shape[0];
            if (hh.Shape.Length != 2 || hh.Shape[1] != projection || hh.Shape[0] % h != 0)
            {
                throw Invalid($"{prefix}.weight_hh_l0 has shape [{string.Join(", ", hh.Shape)}]; expected [G·H, P] = [G·{h}, {projection}] (H and P from {hrName}).");
            }
        }
        else
        {
            if (hh.Shape.Length != 2 || hh.Shape[1] == 0 || hh.Shape[0] % hh.Shape[1] != 0)
            {
                throw Invalid($"{prefix}.weight_hh_l0 has shape [{string.Join(", ", hh.Shape)}]; expected [G·H, H] with H positive and G = {known} gate blocks.");
            }

            h = (int)hh.Shape[1];
        }

        // The cell: of those with the gate blocks W_hh shows (and a projection when the file has one), the one with the
        // fewest tensors that names every tensor the file holds (a missing one is then reported by name below).
        long gates = hh.Shape[0] / h;
        int s = projection ?? h; // the size of h
        CellDescription cell = CellRegistry.All
            .Where(c => c.Gates == gates && c.HasProjection == projection.HasValue && leaves.IsSubsetOf(c.Tensors.Select(t => t.Name)))
            .OrderBy(c => c.Tensors.Count)
            .FirstOrDefault()
            ?? throw Invalid(CellRegistry.All.Any(c => c.Gates == gates)
                ? $"the file's recurrent tensors are {string.Join(", ", leaves)} per layer, which no cell with {gates} gate blocks has; RnnCore reads {known}."
                : $"{prefix}.weight_hh_l0 has shape [{string.Join(", ", hh.Shape)}]; expected [G·H, H] with H positive and G = {known} gate blocks.");
        Entry ih = RequireEntry(entries, $"{prefix}.weight_ih_l0");
        Entry weight = RequireEntry(entries, $"{head}.weight");

        // I and O are read from these two, so each must first agree with what W_hh already fixed (G·H rows, D·H
        // columns): a transposed tensor is reported as itself, not through the tensors compared with it later.
        if (ih.Shape.Length != 2 || ih.Shape[0] != gates * h || ih.Shape[1] == 0)
        {
            throw Invalid(
                $"{prefix}.weight_ih_l0 has shape [{string.Join(", ", ih.Shape)}]; expected [G·H, I] = [{gates * h}, I] with I positive " +
                $"({cell.PyTorchModule} with H = {h}, from {prefix}.weight_hh_l0{(ih.Shape.Length == 2 && ih.Shape[1] == gates * h ? "; is it transposed?" : string.Empty)}).");
        }

        if (weight.Shape.Length != 2 || weight.Shape[0] == 0 || weight.Shape[1] != d * s)
        {
            string size = projection is null ? "H" : "P";
            throw Invalid(
                $"{head}.weight has shape [{string.Join(", ", weight.Shape)}]; expected [O, D·{size}] = [O, {d * s}] with O positive " +
                $"({size} = {s}, {(d == 2 ? "bidirectional" : "unidirectional")}{(weight.Shape.Length == 2 && weight.Shape[0] == d * s ? "; is it transposed?" : string.Empty)}).");
        }

        // An embedding [V, E] feeds layer 0, so E is W_ih's I; V is its number of rows.
        int vocabularySize = 0;
        if (embeddingModule is not null)
        {
            Entry table = entries[$"{embeddingModule}.weight"];
            if (table.Shape.Length != 2 || table.Shape[0] == 0 || table.Shape[0] > int.MaxValue || table.Shape[1] != ih.Shape[1])
            {
                throw Invalid(
                    $"{embeddingModule}.weight has shape [{string.Join(", ", table.Shape)}]; expected [V, E] with V positive and E = {ih.Shape[1]}, the input size of {prefix}.weight_ih_l0 (nn.Embedding(V, E) in front of the recurrent module).");
            }

            vocabularySize = (int)table.Shape[0];
        }

        var options = new RecurrentModelOptions((int)ih.Shape[1], h, (int)weight.Shape[0])
        {
            Cell = cell.Kind, ProjectionSize = projection, Layers = layers, Bidirectional = reverse, VocabularySize = vocabularySize,
        };
        NetworkTensor[] tensors = NetworkTensors.PyTorch(options, prefix, head, embeddingModule ?? NetworkTensors.EmbeddingModule);
        string[] missing = tensors.Where(t => !entries.ContainsKey(t.Name)).Select(t => t.Name).ToArray();
        if (missing.Length != 0)
        {
            throw Invalid(
                $"the file lacks {string.Join(", ", missing)}; a {layers}-layer{(reverse ? " bidirectional" : string.Empty)} {cell.PyTorchModule} with biases " +
                $"(as its other tensors say){(vocabularySize > 0 ? " behind an nn.Embedding" : string.Empty)} and an nn.Linear head has {tensors.Length} tensors.");
        }

        if (entries.Count != tensors.Length)
        {
            // Every name matched a pattern above, so an extra one is a layer index beyond a gap; already reported as missing.
            throw Invalid($"the file holds {entries.Count} tensors but the model its names describe has {tensors.Length}.");
        }

        Entry[] ordered = new Entry[tensors.Length];
        for (int k = 0; k < tensors.Length; k++)
        {
            NetworkTensor t = tensors[k];
            ordered[k] = entries[t.Name];
            long[] shape = t.IsVector ? [t.Rows] : [t.Rows, t.Columns];
            if (!ordered[k].Shape.AsSpan().SequenceEqual(shape))
            {
                throw Invalid(
                    $"{t.Name} has shape [{string.Join(", ", ordered[k].Shape)}]; expected [{string.Join(", ", shape)}] for {cell.PyTorchModule}" +
                    $"(I = {options.InputSize}, H = {h}{(projection is int p ? $", proj_size = {p}" : string.Empty)}, num_layers = {layers}, bidirectional = {(reverse ? "True" : "False")}) and a head with O = {options.OutputSize}.");
            }

            if (t.Length > Array.MaxLength)
            {
                throw Invalid($"{t.Name} has {t.Length:N0} elements, more than one .NET array can hold.");
            }
        }

        return new Layout(prefix, head, cell, options, tensors, ordered);
    }

    private static Entry RequireEntry(Dictionary<string, Entry> entries, string name)
        => entries.TryGetValue(name, out Entry entry) ? entry : throw Invalid($"the file lacks {name}; every recurrent module has it.");

    /// <summary>The metadata RnnCore records must agree with what the tensors say; a contradiction means a damaged or mislabelled file.</summary>
    private static void CheckMetadata(Layout layout, Dictionary<string, string> metadata)
    {
        RecurrentModelOptions o = layout.Options;
        CellDescription cell = layout.Cell;
        if (metadata.TryGetValue(CellKey, out string? named) && named != cell.SafeTensorsName)
        {
            throw Invalid($"__metadata__ records {CellKey} '{named}' but the tensors hold {cell.PyTorchModule} ({layout.Prefix}.weight_hh_l0 has {cell.Gates} gate block(s)); expected '{cell.SafeTensorsName}'.");
        }

        if (metadata.TryGetValue(LayersKey, out string? layers) && layers != o.Layers.ToString(CultureInfo.InvariantCulture))
        {
            throw Invalid($"__metadata__ records {LayersKey} '{layers}' but the tensors hold {o.Layers} layer(s).");
        }

        if (metadata.TryGetValue(BidirectionalKey, out string? bidirectional) && bidirectional != (o.Bidirectional ? "true" : "false"))
        {
            throw Invalid($"__metadata__ records {BidirectionalKey} '{bidirectional}' but the tensors are {(o.Bidirectional ? "bidirectional ('true')" : "unidirectional ('false')")}.");
        }

        if (metadata.TryGetValue(HiddenKey, out string? hidden))
        {
            if (!cell.UsesHiddenActivation)
            {
                throw Invalid($"__metadata__ records {HiddenKey} '{hidden}' but the tensors hold {cell.PyTorchModule}, whose activations are fixed; only a cell with a nonlinearity records one.");
            }

            _ = ParseHidden(hidden);
        }

        if (metadata.TryGetValue(OutputKey, out string? output))
        {
            _ = ParseOutput(output);
        }

        if (metadata.TryGetValue(DropoutKey, out string? dropout))
        {
            _ = ParseDropout(dropout);
        }

        if (metadata.TryGetValue(PaddingKey, out string? padding))
        {
            _ = ParsePadding(padding, o.VocabularySize);
        }
    }

    /// <summary>
    /// The options of the network to build: the file's shape, activations and dropout, with the caller's expectations
    /// checked against them. Each contradiction is an <see cref="ArgumentException"/> naming the argument.
    /// </summary>
    private static RecurrentModelOptions ChooseOptions(Layout layout, Dictionary<string, string> metadata, Expectation expected)
    {
        RecurrentModelOptions o = layout.Options;
        CellDescription cell = layout.Cell;
        if (expected.Cell is RecurrentCellKind asked && asked != o.Cell)
        {
            throw new ArgumentException(
                $"cell is {asked} but the file holds {o.Cell} ({cell.PyTorchModule}: {layout.Prefix}.weight_hh_l0 is [{cell.Gates * o.HiddenSize}, {cell.StateSize(o.HiddenSize, o.ProjectionSize)}], {cell.Gates} gate block(s) of H = {o.HiddenSize}).",
                "cell");
        }

        if (expected.Layers is int layers && layers != o.Layers)
        {
            throw new ArgumentException($"layers is {layers} but the file holds {o.Layers} layer(s) ({layout.Prefix}.weight_ih_l0 … _l{o.Layers - 1}).", "layers");
        }

        if (expected.Bidirectional is bool bidirectional && bidirectional != o.Bidirectional)
        {
            throw new ArgumentException(
                $"bidirectional is {bidirectional} but the file holds a {(o.Bidirectional ? "bidirectional model (_reverse tensors)" : "unidirectional model (no _reverse tensors)")}.",
                "bidirectional");
        }

        HiddenActivation? fileHidden = metadata.TryGetValue(HiddenKey, out string? h) ? ParseHidden(h) : null;
        HiddenActivation hiddenActivation = HiddenActivation.Tanh;
        if (cell.UsesHiddenActivation)
        {
            if (fileHidden is HiddenActivation recorded && expected.Hidden is HiddenActivation askedHidden && askedHidden != recorded)
            {
                throw new ArgumentException(
                    $"hiddenActivation is {askedHidden} but the file records {HiddenKey} '{HiddenName(recorded)}'; omit the argument (or pass null) to use the file's.",
                    "hiddenActivation");
            }

            hiddenActivation = fileHidden ?? expected.Hidden ?? HiddenActivation.Tanh;
        }
        else if (expected.Hidden == HiddenActivation.Relu)
        {
            throw new ArgumentException(
                $"hiddenActivation is Relu but the file holds {cell.PyTorchModule}, whose activations are fixed (sigmoid gates, tanh); only a cell with a nonlinearity ({CellRegistry.Join(CellRegistry.All.Where(c => c.UsesHiddenActivation).Select(c => c.PyTorchModule).Distinct())}) takes one.",
                "hiddenActivation");
        }

        OutputActivation? fileOutput = metadata.TryGetValue(OutputKey, out string? g) ? ParseOutput(g) : null;
        if (fileOutput is OutputActivation recordedOutput && expected.Output is OutputActivation askedOutput && askedOutput != recordedOutput)
        {
            throw new ArgumentException(
                $"outputActivation is {askedOutput} but the file records {OutputKey} '{OutputName(recordedOutput)}'; omit the argument (or pass null) to use the file's.",
                "outputActivation");
        }

        OutputActivation outputActivation = fileOutput ?? expected.Output ?? OutputActivation.Softmax;
        if (outputActivation == OutputActivation.Softmax && o.OutputSize == 1)
        {
            // softmax over one output is always 1: a file that records it is damaged; a caller that defaults to it must choose.
            string message = $"{layout.Head}.weight has O = 1 output, but a softmax over one output is always 1; " +
                "a single binary output is OutputActivation.Sigmoid (PyTorch's sigmoid + BCELoss), a single value OutputActivation.Identity.";
            throw fileOutput is null ? new ArgumentException(message, "outputActivation") : Invalid(message);
        }

        double dropout = metadata.TryGetValue(DropoutKey, out string? p) ? ParseDropout(p) : 0;

        // The padding id: the file's padding_idx (checked in CheckMetadata), else the caller's, else none; both must agree.
        int? filePadding = metadata.TryGetValue(PaddingKey, out string? pad) ? ParsePadding(pad, o.VocabularySize) : null;
        if (expected.PaddingId is int askedPadding)
        {
            if (o.VocabularySize == 0 || askedPadding >= o.VocabularySize)
            {
                throw new ArgumentOutOfRangeException(
                    "paddingId", askedPadding,
                    o.VocabularySize == 0
                        ? $"paddingId is {askedPadding} but the file holds no embedding (no module with a weight and no bias); expected null."
                        : $"paddingId is {askedPadding} but the file's embedding has V = {o.VocabularySize} rows; expected an id in [0, {o.VocabularySize}).");
            }

            if (filePadding is int recordedPadding && recordedPadding != askedPadding)
            {
                throw new ArgumentException(
                    $"paddingId is {askedPadding} but the file records {PaddingKey} '{recordedPadding}'; omit the argument (or pass null) to use the file's.", "paddingId");
            }
        }

        return o with { HiddenActivation = hiddenActivation, OutputActivation = outputActivation, Dropout = dropout, PaddingId = filePadding ?? expected.PaddingId };
    }

    private static string HiddenName(HiddenActivation hidden) => hidden == HiddenActivation.Relu ? "relu" : "tanh";

    private static string OutputName(OutputActivation output) => output.ToString().ToLowerInvariant();

    private static HiddenActivation ParseHidden(string value) => value switch
    {
        "tanh" => HiddenActivation.Tanh,
        "relu" => HiddenActivation.Relu,
        _ => throw Invalid($"__metadata__ records {HiddenKey} '{value}'; expected 'tanh' or 'relu'."),
    };

    private static OutputActivation ParseOutput(string value) => value switch
    {
        "identity" => OutputActivation.Identity,
        "sigmoid" => OutputActivation.Sigmoid,
        "softmax" => OutputActivation.Softmax,
        _ => throw Invalid($"__metadata__ records {OutputKey} '{value}'; expected 'identity', 'sigmoid' or 'softmax'."),
    };

    private static double ParseDropout(string value)
        => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) && p >= 0 && p < 1
            ? p
            : throw Invalid($"__metadata__ records {DropoutKey} '{value}'; expected a probability in [0, 1).");

    private static int ParsePadding(string value, int vocabularySize)
        => vocabularySize == 0
            ? throw Invalid($"__metadata__ records {PaddingKey} '{value}' but the file holds no embedding; only a network with an nn.Embedding has a padding id.")
            : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int id) && id < vocabularySize
                ? id
                : throw Invalid($"__metadata__ records {PaddingKey} '{value}'; expected an id in [0, {vocabularySize}), the embedding's rows.");

    /// <summary>What the header says, once checked: the two module names, the cell, the options, and each tensor (under the file's names) with its entry.</summary>
    private sealed record Layout(string Prefix, string Head, CellDescription Cell, RecurrentModelOptions Options, NetworkTensor[] Tensors, Entry[] Entries);

    /// <summary>What the caller of Import expects; null where it takes the file's.</summary>
    private readonly record struct Expectation(
        RecurrentCellKind? Cell, int? Layers, bool? Bidirectional, HiddenActivation? Hidden, OutputActivation? Output, int? PaddingId)
    {
        public void Validate()
        {
            if (PaddingId is int padding && padding < 0)
            {
                throw new ArgumentOutOfRangeException("paddingId", padding, $"paddingId is {padding}; expected an id of the embedding (0 or more), or null for the file's.");
            }

            if (Cell is RecurrentCellKind cell && !Enum.IsDefined(cell))
            {
                throw new ArgumentOutOfRangeException("cell", cell, $"expected {CellRegistry.Join(CellRegistry.All.Select(c => c.Kind.ToString()).Distinct())}, or null for the file's.");
            }

            if (Layers is int layers && layers < 1)
            {
                throw new ArgumentOutOfRangeException("layers", layers, $"layers is {layers}; expected at least 1, or null for the file's.");
            }

            if (Hidden is HiddenActivation hidden && !Enum.IsDefined(hidden))
            {
                throw new ArgumentOutOfRangeException("hiddenActivation", hidden, "expected Tanh or Relu, or null for the file's.");
            }

            if (Output is OutputActivation output && !Enum.IsDefined(output))
            {
                throw new ArgumentOutOfRangeException("outputActivation", output, "expected Identity, Sigmoid or Softmax, or null for the file's.");
            }
        }
    }
}
