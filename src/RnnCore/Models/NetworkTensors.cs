using RnnCore.Cells;

namespace RnnCore.Models;

/// <summary>
/// One tensor of a network's parameter table: its name, shape, default initialization bound, and where it lives (the
/// embedding table, a cell tensor of one layer-direction, or the head's weight or bias).
/// </summary>
/// <param name="Name">The name in <see cref="RecurrentModel{T}.Parameters"/> or in a file.</param>
/// <param name="Rows">Rows of the column-major matrix (a bias: its length).</param>
/// <param name="Columns">Columns (a bias: 1).</param>
/// <param name="IsVector">True for a bias, which files store as a 1-D tensor.</param>
/// <param name="Bound">b of the default initialization U(−b, b); 0 for the embedding, which is drawn from N(0, 1).</param>
/// <param name="LayerDirection">layer·D + direction, <see cref="NetworkTensors.HeadSlot"/> for the head, <see cref="NetworkTensors.EmbeddingSlot"/> for the embedding.</param>
/// <param name="Index">The index in the cell's <see cref="CellDescription.Tensors"/>, for the head 0 (weight) or 1 (bias), for the embedding 0.</param>
internal readonly record struct NetworkTensor(string Name, long Rows, long Columns, bool IsVector, double Bound, int LayerDirection, int Index)
{
    /// <summary>Rows · columns.</summary>
    public long Length => Rows * Columns;

    /// <summary>True for the head's weight or bias.</summary>
    public bool IsHead => LayerDirection == NetworkTensors.HeadSlot;

    /// <summary>True for the embedding table (V x E, drawn from N(0, 1) as <c>nn.Embedding</c>'s).</summary>
    public bool IsEmbedding => LayerDirection == NetworkTensors.EmbeddingSlot;

    /// <summary>True for a tensor of a layer-direction's cell.</summary>
    public bool IsCell => LayerDirection >= 0;
}

/// <summary>
/// The tensor tables of a network, from its options alone: the one place that names and shapes every tensor, read by
/// the network's constructor, the model file, safetensors and the initializers.
/// </summary>
internal static class NetworkTensors
{
    /// <summary>The <see cref="NetworkTensor.LayerDirection"/> of the head's two tensors.</summary>
    public const int HeadSlot = -1;

    /// <summary>The <see cref="NetworkTensor.LayerDirection"/> of the embedding table.</summary>
    public const int EmbeddingSlot = -2;

    /// <summary>The embedding module's name, PyTorch's for <c>self.embedding = nn.Embedding(V, E)</c>; its one tensor is <c>embedding.weight</c>.</summary>
    public const string EmbeddingModule = "embedding";

    /// <summary>The embedding table's parameter name.</summary>
    public const string EmbeddingName = EmbeddingModule + ".weight";

    /// <summary>The design card's names of the vanilla layer's five tensors (one fused hidden bias), in their order.</summary>
    public static readonly string[] LayerNames = ["Wx", "Wh", "Wy", "Bh", "By"];

    /// <summary>
    /// PyTorch's <c>state_dict</c> of the embedding, the recurrent module and its linear head: with V &gt; 0 first
    /// <c>{embedding}.weight</c> [V, E] (E = I; <c>nn.Embedding</c>, N(0, 1)), as a module that declares its embedding
    /// before its RNN lists it; then per layer k and direction, each of the cell's tensors as <c>{module}.{name}_l{k}</c> (<c>_reverse</c> for the second direction), with n_in = I for layer
    /// 0 and D·S above (S the size of h: H, or P with projections); then <c>{head}.weight</c> [O, D·S] and
    /// <c>{head}.bias</c> [O], bound 1/√(D·S) (nn.Linear's).
    /// </summary>
    public static NetworkTensor[] PyTorch(RecurrentModelOptions options, string module = "rnn", string head = "head", string embedding = EmbeddingModule)
    {
        CellDescription cell = Cell(options);
        int d = options.Bidirectional ? 2 : 1, h = options.HiddenSize, s = cell.StateSize(h, options.ProjectionSize);
        var table = new List<NetworkTensor>((cell.Tensors.Count * options.Layers * d) + 3);
        if (options.VocabularySize > 0)
        {
            table.Add(new($"{embedding}.weight", options.VocabularySize, options.InputSize, false, 0, EmbeddingSlot, 0));
        }

        for (int ld = 0; ld < options.Layers * d; ld++)
        {
            long inputRows = ld / d == 0 ? options.InputSize : (long)d * s;
            string suffix = Suffix(ld, d);
            for (int k = 0; k < cell.Tensors.Count; k++)
            {
                CellTensor tensor = cell.Tensors[k];
                (long rows, long columns) = tensor.Shape(inputRows, h, s);
                table.Add(new($"{module}.{tensor.Name}{suffix}", rows, columns, tensor.IsVector, tensor.Bound(h), ld, k));
            }
        }

        double headBound = 1.0 / Math.Sqrt(d * s);
        table.Add(new($"{head}.weight", options.OutputSize, (long)d * s, false, headBound, HeadSlot, 0));
        table.Add(new($"{head}.bias", options.OutputSize, 1, true, headBound, HeadSlot, 1));
        return table.ToArray();
    }

    /// <summary>The cell the options select: the kind, and with a projection size P its projected variant.</summary>
    public static CellDescription Cell(RecurrentModelOptions options) => CellRegistry.Of(options.Cell, options.ProjectionSize);

    /// <summary>
    /// The network's parameters in <see cref="RecurrentModel{T}.Parameters"/> order: PyTorch's <c>state_dict</c>, or,
    /// with <paramref name="fusedBias"/> (the vanilla layer: one layer, one direction, b_h = b_ih + b_hh), the design
    /// card's W_x, W_h, W_y, b_h, b_y, the order RecurrentLayer has always drawn its weights in.
    /// </summary>
    public static NetworkTensor[] Parameters(RecurrentModelOptions options, bool fusedBias)
    {
        NetworkTensor[] pytorch = PyTorch(options);
        if (!fusedBias)
        {
            return pytorch;
        }

        if (options.VocabularySize != 0)
        {
            throw new ArgumentException("the vanilla layer (fused hidden bias) has no embedding.", nameof(options));
        }

        // pytorch is weight_ih, weight_hh, bias_ih, bias_hh, head.weight, head.bias; b_hh has no parameter of its own.
        return
        [
            pytorch[0] with { Name = LayerNames[0] },
            pytorch[1] with { Name = LayerNames[1] },
            pytorch[4] with { Name = LayerNames[2] },
            pytorch[2] with { Name = LayerNames[3] },
            pytorch[5] with { Name = LayerNames[4] },
        ];
    }

    /// <summary>The layer suffix of layer-direction <paramref name="ld"/>: <c>_l{k}</c>, with <c>_reverse</c> for the second direction.</summary>
    public static string Suffix(int ld, int directions) => $"_l{ld / directions}{(ld % directions == 1 ? "_reverse" : string.Empty)}";
}
