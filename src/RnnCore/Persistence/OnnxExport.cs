using System.Buffers.Binary;
using System.Numerics;
using RnnCore.Cells;
using RnnCore.Internal;
using RnnCore.Models;

namespace RnnCore.Persistence;

/// <summary>
/// Writes a trained network (a <see cref="RecurrentLayer{T}"/> or any <see cref="RecurrentModel{T}"/>) as an ONNX
/// model, so that ONNX Runtime (or any ONNX backend) can serve it: one standard ONNX recurrent operator per layer (the
/// one the cell's description names: <c>RNN</c>, <c>LSTM</c> or <c>GRU</c>; both directions in one node), chained,
/// then the head <c>z = W_head o + b_head</c> and its activation; a network with an embedding reads int64 token ids
/// through a <c>Gather</c> of <c>embedding.weight</c> in front. See
/// <see cref="Serialize{T}(RecurrentModel{T}, OnnxExportOptions)"/> for the graph. A cell ONNX has no operator for is
/// refused. The layer's one hidden bias goes into Wb, its Rb is zero.
/// </summary>
/// <remarks>
/// <para>
/// The graph is float32 for both element types: ONNX Runtime registers its CPU kernel for <c>RNN</c> for float32 only
/// (core/providers/cpu/rnn/rnn.cc; only its CUDA kernel takes double), so a
/// <see cref="double"/> network's parameters are rounded to float32 on export (its outputs then agree with
/// <see cref="RecurrentModel{T}.Forward(IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}}, IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}}, IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}})"/>
/// to float32 precision).
/// </para>
/// </remarks>
public static class OnnxExport
{
    /// <summary>The ONNX operator-set version the graph uses.</summary>
    public const int OpsetVersion = 14;

    /// <summary>The ONNX IR version of the file.</summary>
    public const int IrVersion = 8;

    /// <summary>The name of the graph's input: float32 [sequence, batch, inputSize], or int64 token ids [sequence, batch] for a network with an embedding.</summary>
    public const string InputName = "input";

    /// <summary>The name of the output y_t, [sequence, batch, outputSize].</summary>
    public const string OutputName = "output";

    /// <summary>The name of the logits z_t, [sequence, batch, outputSize].</summary>
    public const string LogitsName = "logits";

    /// <summary>The name of the hidden states h_1..h_T, [sequence, batch, hiddenSize].</summary>
    public const string HiddenStatesName = "hidden_states";

    /// <summary>The name of the final hidden state h_T, [1, batch, hiddenSize].</summary>
    public const string FinalHiddenName = "final_hidden";

    // ONNX's TensorProto.DataType and AttributeProto.AttributeType values.
    private const int Float32 = 1;
    private const int Int64 = 7;
    private const int AttributeInt = 2;
    private const int AttributeStrings = 8;
    private const int AttributeString = 3;
    private const int Int32Type = 6;

    /// <summary>
    /// The name of the optional input <c>sequence_lens</c>, int32 [batch]: each sequence's length in 1..S for a padded
    /// batch. When it is not fed, every sequence is S steps long.
    /// </summary>
    public const string SequenceLengthsName = "sequence_lens";

    /// <summary>The name of the optional input h_0, float32 [L·D, batch, H] (index layer·D + direction); zeros when not fed.</summary>
    public const string InitialHiddenName = "initial_h";

    /// <summary>The name of the optional input c_0 of an LSTM model, float32 [L·D, batch, H]; zeros when not fed.</summary>
    public const string InitialCellName = "initial_c";

    /// <summary>The name of an LSTM model's final cell states c_n, [L·D, batch, H].</summary>
    public const string FinalCellName = "final_cell";

    /// <summary>Writes the model as ONNX to <paramref name="path"/>, atomically (temporary file, flush, rename). See <see cref="Serialize{T}(RecurrentModel{T}, OnnxExportOptions)"/>.</summary>
    /// <param name="network">The network (a <see cref="RecurrentLayer{T}"/> or any <see cref="RecurrentModel{T}"/>); every parameter must be finite.</param>
    /// <param name="path">The file to create or replace, by convention <c>*.onnx</c>.</param>
    /// <typeparam name="T">The element type; the graph is float32 either way.</typeparam>
    /// <exception cref="ArgumentException"><paramref name="network"/> holds a NaN or infinite parameter; nothing is written.</exception>
    /// <exception cref="IOException">The file system refused the write; an existing file at <paramref name="path"/> is unchanged.</exception>
    public static void Save<T>(RecurrentModel<T> network, string path)
        where T : unmanaged, IFloatingPointIeee754<T> => Save(network, path, new OnnxExportOptions());

    /// <summary>Writes the model as ONNX to <paramref name="path"/>, atomically, with the inputs and layout <paramref name="options"/> ask for.</summary>
    /// <param name="network">The network (a <see cref="RecurrentLayer{T}"/> or any <see cref="RecurrentModel{T}"/>); every parameter must be finite.</param>
    /// <param name="path">The file to create or replace, by convention <c>*.onnx</c>.</param>
    /// <param name="options">The graph's inputs and layout (batch-first, sequence lengths, initial states).</param>
    /// <typeparam name="T">The element type; the graph is float32 either way.</typeparam>
    /// <exception cref="ArgumentException"><paramref name="network"/> holds a NaN or infinite parameter; nothing is written.</exception>
    /// <exception cref="IOException">The file system refused the write; an existing file at <paramref name="path"/> is unchanged.</exception>
    public static void Save<T>(RecurrentModel<T> network, string path, OnnxExportOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.WriteAllBytes(path, Serialize(network, options));
    }

    /// <summary>Writes the model as ONNX to a stream, at its current position.</summary>
    /// <param name="network">The network (a <see cref="RecurrentLayer{T}"/> or any <see cref="RecurrentModel{T}"/>); every parameter must be finite.</param>
    /// <param name="stream">A writable stream; it is not closed.</param>
    /// <typeparam name="T">The element type; the graph is float32 either way.</typeparam>
    /// <exception cref="ArgumentException"><paramref name="network"/> holds a NaN or infinite parameter; nothing is written.</exception>
    public static void Save<T>(RecurrentModel<T> network, Stream stream)
        where T : unmanaged, IFloatingPointIeee754<T> => Save(network, stream, new OnnxExportOptions());

    /// <summary>Writes the model as ONNX to a stream, at its current position, with the inputs and layout <paramref name="options"/> ask for.</summary>
    /// <param name="network">The network (a <see cref="RecurrentLayer{T}"/> or any <see cref="RecurrentModel{T}"/>); every parameter must be finite.</param>
    /// <param name="stream">A writable stream; it is not closed.</param>
    /// <param name="options">The graph's inputs and layout (batch-first, sequence lengths, initial states).</param>
    /// <typeparam name="T">The element type; the graph is float32 either way.</typeparam>
    /// <exception cref="ArgumentException"><paramref name="network"/> holds a NaN or infinite parameter; nothing is written.</exception>
    public static void Save<T>(RecurrentModel<T> network, Stream stream, OnnxExportOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(Serialize(network, options));
    }

    /// <summary>The serialized ONNX ModelProto of a network with the default options: see <see cref="Serialize{T}(RecurrentModel{T}, OnnxExportOptions)"/>.</summary>
    /// <param name="network">The network (a <see cref="RecurrentLayer{T}"/> or any <see cref="RecurrentModel{T}"/>); every parameter must be finite.</param>
    /// <typeparam name="T">The element type; a double model's parameters are rounded to float32.</typeparam>
    /// <returns>The bytes of the .onnx file.</returns>
    /// <exception cref="ArgumentException"><paramref name="network"/> holds a NaN or infinite parameter.</exception>
    /// <exception cref="NotSupportedException">The parameters would exceed the 2 GB limit of a single protobuf message.</exception>
    public static byte[] Serialize<T>(RecurrentModel<T> network)
        where T : unmanaged, IFloatingPointIeee754<T> => Serialize(network, new OnnxExportOptions());

    /// <summary>
    /// The serialized ONNX ModelProto of a network (opset 14, IR 8, float32), S and batch symbolic:
    /// <code>
    /// inputs   input [S, batch, I] ([batch, S, I] with BatchFirst, transposed first);
    ///          with an embedding: input int64 ids [S, batch] ([batch, S]), Gather(embedding.weight [V, E], input) → [S, batch, E];
    ///          with SequenceLengths: sequence_lens int32 [batch]; with InitialStates: initial_h [L·D, batch, H], initial_c (LSTM)
    /// layer k  RNN | LSTM | GRU (direction forward | bidirectional, hidden_size H; GRU linear_before_reset = 1)
    ///          X = layer k−1's output, min(sequence_lens, S), initial_h[k·D .. k·D+D−1] → Y [S, D, batch, H], Y_h [D, batch, H]
    ///          Transpose(0, 2, 1, 3) + Reshape(0, 0, −1) → [S, batch, D·H], the next layer's X
    /// head     MatMul(head.weightᵀ [D·H, O]) + Add(head.bias) → logits, then Softmax(−1) | Sigmoid | Identity → output
    /// outputs  output, logits [S, batch, O]; hidden_states [S, batch, D·H] (each [batch, S, ·] with BatchFirst);
    ///          final_hidden [L·D, batch, H]; final_cell (LSTM)
    /// </code>
    /// An input the options leave out is left out of the recurrent operators too (ONNX's empty optional input): full
    /// lengths, zero initial states. Every graph input must be fed; no initializer is a graph input.
    /// <para>
    /// With an embedding every id is looked up, padded positions too (<c>Gather</c> refuses an id outside [0, V), so fill
    /// padding with a valid id, such as the padding id; the recurrent operators do not read those positions). A network
    /// fed ids without an embedding is exported with its dense input: feed it the one-hot vectors (W_ih e_id is what the
    /// ids stand for).
    /// </para>
    /// </summary>
    /// <param name="network">The network (a <see cref="RecurrentLayer{T}"/> or any <see cref="RecurrentModel{T}"/>); every parameter must be finite.</param>
    /// <param name="options">The graph's inputs and layout.</param>
    /// <typeparam name="T">The element type; a double model's parameters are rounded to float32.</typeparam>
    /// <returns>The bytes of the .onnx file.</returns>
    /// <exception cref="ArgumentException"><paramref name="network"/> holds a NaN or infinite parameter.</exception>
    /// <exception cref="NotSupportedException">The cell has no ONNX operator (the LSTM with projections, <see cref="RecurrentModelOptions.ProjectionSize"/>: ONNX's LSTM has no projection), or the parameters would exceed the 2 GB limit of a single protobuf message.</exception>
    public static byte[] Serialize<T>(RecurrentModel<T> network, OnnxExportOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        CellDescription description = network.Cell.Description;
        OnnxCellMapping onnx = description.Onnx
            ?? throw new NotSupportedException(description.HasProjection
                ? $"ONNX's {description.SummaryName} operator has no projection, so a network with RecurrentModelOptions.ProjectionSize = {network.Options.ProjectionSize} (the {description.DisplayName}) cannot be exported to ONNX; nothing was written. Save it with ModelFile or SafeTensors.Export, or use ProjectionSize = null."
                : $"ONNX has no operator for the {description.DisplayName} cell, so a network of it cannot be exported to ONNX; nothing was written.");
        for (int k = 0; k < network.Parameters.Count; k++)
        {
            int bad = Guard.IndexOfNonFinite<T>(network.Parameters[k]);
            if (bad >= 0)
            {
                throw new ArgumentException(
                    $"network holds {network.Parameters[k][bad]} in {network.Parameters.GetName(k)} (element {bad} of its column-major storage); every parameter must be finite to be exported.",
                    nameof(network));
            }
        }

        if (network.Parameters.TotalLength * sizeof(float) > int.MaxValue / 2)
        {
            throw new NotSupportedException(
                $"the model has {network.Parameters.TotalLength:N0} parameters; an ONNX file without external data is limited to 2 GB.");
        }

        RecurrentModelOptions o = network.Options;
        int i = o.InputSize, h = o.HiddenSize, outputs = o.OutputSize, layers = o.Layers, d = network.Directions;
        int gates = description.Gates;
        string op = onnx.Operator;
        bool withCell = description.HasCellState;
        int vocabulary = o.VocabularySize; // V, or 0: no embedding

        // ONNX's gate blocks in the cell's (PyTorch's) numbering: ONNX block j takes the cell's block order[j].
        int[] order = onnx.GateOrder;

        var file = new ProtobufWriter()
            .Int(1, IrVersion)
            .String(2, "RnnCore")
            .String(3, typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "0")
            .String(6, $"{op} {network.Noun} from RnnCore: I={i}, H={h}, O={outputs}, {layers} layer(s), {(d == 2 ? "bidirectional" : "unidirectional")}{(vocabulary > 0 ? $", embedding V={vocabulary}" : string.Empty)}, {o.OutputActivation} output.")
            .Message(7, graph =>
            {
                bool lengths = options.SequenceLengths, states = options.InitialStates, batchFirst = options.BatchFirst;

                // An embedding: x = Gather(embedding.weight, ids) (axis 0), row id of the [V, E] table for every id.
                string x = InputName;
                if (vocabulary > 0)
                {
                    graph.Message(1, n => Node(n, "embedding", "Gather", ["embedding_weight", InputName], ["input_embedded"], null));
                    x = "input_embedded";
                }

                // Batch-first: x = transpose(x, (1, 0, 2)), [batch, S, I] → [S, batch, I], the operators' layout.
                if (batchFirst)
                {
                    string batchMajor = x;
                    graph.Message(1, n => Node(n, "input_sequence_first", "Transpose", [batchMajor], ["input_sequence_first"], a => Permutation(a, [1, 0, 2])));
                    x = "input_sequence_first";
                }

                // lengths = min(sequence_lens, S): a length above S is read as S.
                if (lengths)
                {
                    string sequenceFirst = x;
                    graph.Message(1, n => Node(n, "input_shape", "Shape", [sequenceFirst], ["input_shape"], null));
                    graph.Message(1, n => Node(n, "sequence_length", "Gather", ["input_shape", "index_0"], ["sequence_length"], null));
                    graph.Message(1, n => Node(n, "sequence_length_int32", "Cast", ["sequence_length"], ["sequence_length_int32"], a =>
                        a.Message(5, at => at.String(1, "to").Int(20, AttributeInt).Int(3, Int32Type))));
                    graph.Message(1, n => Node(n, "lengths", "Min", [SequenceLengthsName, "sequence_length_int32"], ["lengths"], null));
                }

                for (int k = 0; k < layers; k++)
                {
                    string layer = $"layer{k}";
                    string slice = $"{layer}_states";
                    if (states)
                    {
                        graph.Message(1, n => Node(n, $"{layer}_initial_h", "Slice", [InitialHiddenName, slice + "_begin", slice + "_end", "index_0"], [$"{layer}_initial_h"], null));
                        if (withCell)
                        {
                            graph.Message(1, n => Node(n, $"{layer}_initial_c", "Slice", [InitialCellName, slice + "_begin", slice + "_end", "index_0"], [$"{layer}_initial_c"], null));
                        }
                    }

                    // X, W, R, B, sequence_lens, initial_h, initial_c: an input left out is an empty name, trailing ones dropped.
                    var opInputs = new List<string> { x, $"{layer}_W", $"{layer}_R", $"{layer}_B" };
                    if (lengths || states)
                    {
                        opInputs.Add(lengths ? "lengths" : string.Empty);
                    }

                    if (states)
                    {
                        opInputs.Add($"{layer}_initial_h");
                        if (withCell)
                        {
                            opInputs.Add($"{layer}_initial_c");
                        }
                    }

                    string[] opOutputs = withCell ? [$"{layer}_Y", $"{layer}_Y_h", $"{layer}_Y_c"] : [$"{layer}_Y", $"{layer}_Y_h"];
                    graph.Message(1, n => Node(n, layer, op, opInputs.ToArray(), opOutputs, a =>
                    {
                        a.Message(5, at => at.String(1, "hidden_size").Int(20, AttributeInt).Int(3, h));
                        a.Message(5, at => at.String(1, "direction").Int(20, AttributeString).String(4, d == 2 ? "bidirectional" : "forward"));
                        if (onnx.ActivationsFromHiddenActivation)
                        {
                            // One activation per direction.
                            string f = o.HiddenActivation == HiddenActivation.Relu ? "Relu" : "Tanh";
                            a.Message(5, at =>
                            {
                                at.String(1, "activations").Int(20, AttributeStrings);
                                for (int dir = 0; dir < d; dir++)
                                {
                                    at.String(9, f);
                                }
                            });
                        }

                        foreach ((string name, long value) in onnx.IntAttributes)
                        {
                            a.Message(5, at => at.String(1, name).Int(20, AttributeInt).Int(3, value));
                        }
                    }));

                    // Y [S, D, batch, H] → [S, batch, D, H] → [S, batch, D·H]: [h_fwd ; h_rev] per step, as PyTorch's output.
                    string next = k == layers - 1 ? SequenceFirst(HiddenStatesName, batchFirst) : $"{layer}_output";
                    graph.Message(1, n => Node(n, $"{layer}_transpose", "Transpose", [$"{layer}_Y"], [$"{layer}_Y_transposed"], a => Permutation(a, [0, 2, 1, 3])));
                    graph.Message(1, n => Node(n, $"{layer}_reshape", "Reshape", [$"{layer}_Y_transposed", "merge_directions"], [next], null));
                    x = next;
                }

                string[] finals = Enumerable.Range(0, layers).Select(k => $"layer{k}_Y_h").ToArray();
                graph.Message(1, n => Node(n, "final_hidden", "Concat", finals, [FinalHiddenName], a =>
                    a.Message(5, at => at.String(1, "axis").Int(20, AttributeInt).Int(3, 0))));
                if (withCell)
                {
                    string[] cells = Enumerable.Range(0, layers).Select(k => $"layer{k}_Y_c").ToArray();
                    graph.Message(1, n => Node(n, "final_cell", "Concat", cells, [FinalCellName], a =>
                        a.Message(5, at => at.String(1, "axis").Int(20, AttributeInt).Int(3, 0))));
                }

                string outputOperator = o.OutputActivation switch
                {
                    OutputActivation.Softmax => "Softmax",
                    OutputActivation.Sigmoid => "Sigmoid",
                    _ => "Identity",
                };
                string hiddenStates = SequenceFirst(HiddenStatesName, batchFirst), logits = SequenceFirst(LogitsName, batchFirst);
                graph.Message(1, n => Node(n, "head_projection", "MatMul", [hiddenStates, "head_weight_transposed"], ["head_projection"], null));
                graph.Message(1, n => Node(n, "head_bias", "Add", ["head_projection", "head_bias"], [logits], null));
                graph.Message(1, n => Node(n, "output_activation", outputOperator, [logits], [SequenceFirst(OutputName, batchFirst)], a =>
                {
                    if (outputOperator == "Softmax")
                    {
                        a.Message(5, at => at.String(1, "axis").Int(20, AttributeInt).Int(3, -1));
                    }
                }));

                // Batch-first: the per-step outputs transposed back, [S, batch, ·] → [batch, S, ·].
                if (batchFirst)
                {
                    foreach (string name in new[] { OutputName, LogitsName, HiddenStatesName })
                    {
                        graph.Message(1, n => Node(n, name + "_batch_first", "Transpose", [SequenceFirst(name, true)], [name], a => Permutation(a, [1, 0, 2])));
                    }
                }

                graph.String(2, "rnncore_recurrent_model");

                // Initializers: the weights and the constants the nodes above read, each used (ONNX Runtime warns of an unused one).
                if (vocabulary > 0)
                {
                    // embedding.weight row-major [V, E]: element (v, e) at v·E + e, from the column-major v + e·V.
                    graph.Message(5, t => FloatTensor(t, "embedding_weight", [vocabulary, i], RowMajor(network.EmbeddingTable, vocabulary, i)));
                }

                for (int k = 0; k < layers; k++)
                {
                    int inputRows = k == 0 ? i : d * h;
                    int layer = k;
                    graph.Message(5, t => FloatTensor(t, $"layer{layer}_W", [d, gates * h, inputRows], Stack(network, layer, d, 0, inputRows, h, order)));
                    graph.Message(5, t => FloatTensor(t, $"layer{layer}_R", [d, gates * h, h], Stack(network, layer, d, 1, h, h, order)));
                    graph.Message(5, t => FloatTensor(t, $"layer{layer}_B", [d, 2 * gates * h], Biases(network, layer, d, h, order)));
                    if (states)
                    {
                        graph.Message(5, t => Int64Tensor(t, $"layer{layer}_states_begin", [1], [(long)layer * d]));
                        graph.Message(5, t => Int64Tensor(t, $"layer{layer}_states_end", [1], [((long)layer * d) + d]));
                    }
                }

                // head.weightᵀ as a row-major [D·H, O] is element (j, o) at j·O + o, exactly head.weight's column-major storage.
                graph.Message(5, t => FloatTensor(t, "head_weight_transposed", [d * h, outputs], ToFloat<T>(network.Parameters[network.HeadWeightIndex])));
                graph.Message(5, t => FloatTensor(t, "head_bias", [outputs], ToFloat<T>(network.Parameters[network.HeadBiasIndex])));
                if (lengths || states)
                {
                    graph.Message(5, t => Int64Tensor(t, "index_0", [1], [0]));
                }

                graph.Message(5, t => Int64Tensor(t, "merge_directions", [3], [0, 0, -1]));

                object[] sequenceAndBatch = batchFirst ? ["batch", "sequence"] : ["sequence", "batch"];
                graph.Message(11, v => TypedValueInfo(v, InputName, vocabulary > 0 ? Int64 : Float32, vocabulary > 0 ? sequenceAndBatch : [.. sequenceAndBatch, i]));
                if (lengths)
                {
                    graph.Message(11, v => TypedValueInfo(v, SequenceLengthsName, Int32Type, ["batch"]));
                }

                if (states)
                {
                    graph.Message(11, v => TypedValueInfo(v, InitialHiddenName, 1, [layers * d, "batch", h]));
                    if (withCell)
                    {
                        graph.Message(11, v => TypedValueInfo(v, InitialCellName, 1, [layers * d, "batch", h]));
                    }
                }

                graph.Message(12, v => TypedValueInfo(v, OutputName, 1, [.. sequenceAndBatch, outputs]));
                graph.Message(12, v => TypedValueInfo(v, LogitsName, 1, [.. sequenceAndBatch, outputs]));
                graph.Message(12, v => TypedValueInfo(v, HiddenStatesName, 1, [.. sequenceAndBatch, d * h]));
                graph.Message(12, v => TypedValueInfo(v, FinalHiddenName, 1, [layers * d, "batch", h]));
                if (withCell)
                {
                    graph.Message(12, v => TypedValueInfo(v, FinalCellName, 1, [layers * d, "batch", h]));
                }
            })
            .Message(8, opset => opset.String(1, string.Empty).Int(2, OpsetVersion));
        return file.ToArray();
    }

    /// <summary>The name of a per-step output in the operators' sequence-first layout: itself, or an inner name when the graph's output is batch-first.</summary>
    private static string SequenceFirst(string name, bool batchFirst) => batchFirst ? name + "_sequence_first" : name;

    /// <summary>A Transpose node's <c>perm</c> attribute.</summary>
    private static void Permutation(ProtobufWriter node, long[] perm)
        => node.Message(5, at =>
        {
            at.String(1, "perm").Int(20, 7);
            foreach (long axis in perm)
            {
                at.Int(8, axis);
            }
        });

    /// <summary>
    /// W or R of one layer, [D, G·H, columns] row-major: for each direction the PyTorch matrix (column-major in the model)
    /// with its gate blocks reordered to ONNX's order.
    /// </summary>
    private static float[] Stack<T>(RecurrentModel<T> network, int layer, int d, int tensor, int columns, int h, int[] order)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int gates = order.Length;
        int rows = gates * h;
        float[] result = new float[d * rows * columns];
        for (int dir = 0; dir < d; dir++)
        {
            ReadOnlySpan<T> source = network.CellTensor((layer * d) + dir, tensor);
            for (int j = 0; j < gates; j++)
            {
                for (int r = 0; r < h; r++)
                {
                    int from = (order[j] * h) + r, to = (dir * rows) + (j * h) + r;
                    for (int c = 0; c < columns; c++)
                    {
                        result[(to * columns) + c] = float.CreateTruncating(source[from + (c * rows)]);
                    }
                }
            }
        }

        return result;
    }

    /// <summary>B of one layer, [D, 2·G·H]: per direction [Wb ; Rb] = [bias_ih ; bias_hh] (the fused layer's: [b_h ; 0]), each with its blocks reordered.</summary>
    private static float[] Biases<T>(RecurrentModel<T> network, int layer, int d, int h, int[] order)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int gates = order.Length;
        float[] result = new float[d * 2 * gates * h];
        for (int dir = 0; dir < d; dir++)
        {
            for (int half = 0; half < 2; half++)
            {
                ReadOnlySpan<T> source = network.CellTensor((layer * d) + dir, 2 + half);
                for (int j = 0; j < gates; j++)
                {
                    for (int r = 0; r < h; r++)
                    {
                        result[(((dir * 2) + half) * gates * h) + (j * h) + r] = float.CreateTruncating(source[(order[j] * h) + r]);
                    }
                }
            }
        }

        return result;
    }

    private static void Int64Tensor(ProtobufWriter tensor, string name, long[] dims, long[] values)
    {
        foreach (long dim in dims)
        {
            tensor.Int(1, dim);
        }

        byte[] raw = new byte[values.Length * sizeof(long)];
        for (int k = 0; k < values.Length; k++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(k * sizeof(long)), values[k]);
        }

        tensor.Int(2, Int64).String(8, name).Bytes(9, raw);
    }

    /// <summary>A tensor ValueInfoProto of element type <paramref name="elementType"/>; each dimension a size, a symbolic name, or null (unknown).</summary>
    private static void TypedValueInfo(ProtobufWriter value, string name, int elementType, object?[] dims)
    {
        value.String(1, name).Message(2, type => type.Message(1, tensor =>
        {
            tensor.Int(1, elementType);
            tensor.Message(2, shape =>
            {
                foreach (object? dim in dims)
                {
                    shape.Message(1, dimension =>
                    {
                        if (dim is string symbol)
                        {
                            dimension.String(2, symbol);
                        }
                        else if (dim is not null)
                        {
                            dimension.Int(1, Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture));
                        }
                    });
                }
            });
        }));
    }

    private static void Node(ProtobufWriter node, string name, string op, string[] inputs, string[] outputs, Action<ProtobufWriter>? attributes)
    {
        foreach (string input in inputs)
        {
            node.String(1, input);
        }

        foreach (string output in outputs)
        {
            node.String(2, output);
        }

        node.String(3, name).String(4, op);
        attributes?.Invoke(node);
    }

    private static void FloatTensor(ProtobufWriter tensor, string name, long[] dims, float[] values)
    {
        foreach (long dim in dims)
        {
            tensor.Int(1, dim);
        }

        byte[] raw = new byte[values.Length * sizeof(float)];
        LittleEndianTensors.Write<float>(values, raw);
        tensor.Int(2, Float32).String(8, name).Bytes(9, raw);
    }

    /// <summary>A column-major rows x columns matrix as float32, row-major.</summary>
    private static float[] RowMajor<T>(ReadOnlySpan<T> values, int rows, int columns)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        float[] result = new float[rows * columns];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                result[(r * columns) + c] = float.CreateTruncating(values[r + (c * rows)]);
            }
        }

        return result;
    }

    private static float[] ToFloat<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        float[] result = new float[values.Length];
        for (int k = 0; k < values.Length; k++)
        {
            result[k] = float.CreateTruncating(values[k]);
        }

        return result;
    }
}
