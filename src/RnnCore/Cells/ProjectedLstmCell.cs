using System.Numerics;
using System.Numerics.Tensors;

namespace RnnCore.Cells;

/// <summary>
/// The LSTM cell with a projection, PyTorch's <c>nn.LSTM(..., proj_size=P)</c> (G = 4, gate blocks i, f, g, o): the
/// LSTM step of <see cref="LstmCell{T}"/> on c (H values), then h (P &lt; H values) is a product of its output:
/// <code>
/// a = u + v      i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
/// c' = f ⊙ c + i ⊙ g          m = o ⊙ tanh(c')            h' = W_hr m        (W_hr: P x H, rnn.weight_hr_l{k})
/// </code>
/// So W_hh is 4H x P, h_0 and h_n are P x B, c is H x B, and a layer above (or the head) reads D·P values.
/// </summary>
internal sealed class ProjectedLstmCell<T>(int projection) : RecurrentCell<T>(ProjectedLstmCell.Description)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    // m and the gradient at m of one backward step, [H, B] each, and the LSTM's tanh(c') scratch: per thread (two BPTT
    // instances may walk one model at once), grown once, so a steady-state step allocates nothing.
    [ThreadStatic]
    private static T[]? s_scratch;

    private readonly LstmCell<T> _lstm = new();

    /// <summary>
    /// The LSTM step writes m = o ⊙ tanh(c') into v's block (the LSTM reads v once, first, in a = u + v, so v is free
    /// then), and h' = W_hr m column by column (a sum over the H columns of W_hr in order: the bits do not depend on how
    /// the GEMM split the columns between threads).
    /// </summary>
    public override void Forward(
        Span<T> u, Span<T> v, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, Span<T> hNext, Span<T> cNext, int hidden, ReadOnlySpan<T> ownWeight)
    {
        int columns = cNext.Length / hidden;
        Span<T> m = v.Slice(0, hidden * columns);
        _lstm.Forward(u, v, hPrev, cPrev, m, cNext, hidden, default);
        for (int j = 0; j < columns; j++)
        {
            Project(ownWeight, m.Slice(j * hidden, hidden), hNext.Slice(j * projection, projection));
        }
    }

    /// <summary>
    /// Through the projection, then the LSTM's backward with dL/dm in place of dL/dh':
    /// <code>
    /// dL/dm = W_hrᵀ dL/dh'      dW_hr += dL/dh' mᵀ  (m = o ⊙ tanh c', rebuilt from the cached o and c')
    /// </code>
    /// Every path to h goes through v, so the direct part is zero.
    /// </summary>
    public override void Backward(
        ReadOnlySpan<T> u, ReadOnlySpan<T> v, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> hNext, ReadOnlySpan<T> cNext,
        ReadOnlySpan<T> dh, Span<T> dc, Span<T> deltaU, Span<T> deltaV, Span<T> dhPrevDirect, int hidden,
        ReadOnlySpan<T> ownWeight, Span<T> ownWeightGradient)
    {
        int columns = cNext.Length / hidden;
        int block = hidden * columns;
        if (s_scratch is null || s_scratch.Length < 3 * block)
        {
            s_scratch = new T[3 * block];
        }

        Span<T> m = s_scratch.AsSpan(0, block);
        Span<T> dm = s_scratch.AsSpan(block, block);
        Span<T> tanhScratch = s_scratch.AsSpan(2 * block, block);
        int rows = 4 * hidden;
        TensorPrimitives.Tanh(cNext, m);
        for (int j = 0; j < columns; j++)
        {
            Span<T> mj = m.Slice(j * hidden, hidden);
            TensorPrimitives.Multiply<T>(mj, u.Slice((j * rows) + (3 * hidden), hidden), mj);
            ReadOnlySpan<T> dhj = dh.Slice(j * projection, projection);
            Span<T> dmj = dm.Slice(j * hidden, hidden);
            for (int k = 0; k < hidden; k++)
            {
                // Column k of W_hr (column-major, P rows): dL/dm_k = W_hr[:, k] · dL/dh', dW_hr[:, k] += m_k dL/dh'.
                ReadOnlySpan<T> weightColumn = ownWeight.Slice(k * projection, projection);
                Span<T> gradientColumn = ownWeightGradient.Slice(k * projection, projection);
                dmj[k] = TensorPrimitives.Dot(weightColumn, dhj);
                TensorPrimitives.MultiplyAdd(dhj, mj[k], gradientColumn, gradientColumn);
            }
        }

        _lstm.Backward(u, v, hPrev, cPrev, m, cNext, dm, dc, deltaU, deltaV, tanhScratch, hidden, default, default);
        dhPrevDirect.Clear();
    }

    /// <summary>h' = W_hr m for one column: Σ_k m_k W_hr[:, k], the columns of W_hr in order.</summary>
    private void Project(ReadOnlySpan<T> weight, ReadOnlySpan<T> m, Span<T> h)
    {
        h.Clear();
        for (int k = 0; k < m.Length; k++)
        {
            TensorPrimitives.MultiplyAdd(weight.Slice(k * projection, projection), m[k], h, h);
        }
    }
}

/// <summary>The LSTM with projections' description (see <see cref="CellDescription"/>), declared beside its step.</summary>
internal static class ProjectedLstmCell
{
    /// <summary>W_hr's name in PyTorch's <c>state_dict</c> (without the <c>_l{k}</c> suffix).</summary>
    public const string WeightName = "weight_hr";

    /// <summary>
    /// The LSTM with projections' names, gates and tensors: the LSTM's four with W_hh [4H, P], then W_hr [P, H] after
    /// b_hh (PyTorch's <c>state_dict</c> order), drawn from U(−1/√H, 1/√H) like the others. ONNX's LSTM has no projection,
    /// so there is no ONNX mapping.
    /// </summary>
    public static readonly CellDescription Description = new Declared
    {
        Kind = RecurrentCellKind.Lstm,
        DisplayName = "LSTM with projections",
        SummaryName = "LSTM",
        FileCode = 4,
        PyTorchModule = "nn.LSTM",
        SafeTensorsName = "lstm_proj",
        Gates = 4,
        HasCellState = true,
        HasProjection = true,
        Tensors =
        [
            .. CellTensor.PyTorchStandard(gates: 4),
            new CellTensor(WeightName, (_, hidden, state) => (state, hidden), false, CellTensor.PyTorchBound),
        ],
        ForgetGate = (Input: 0, Forget: 1),
        Onnx = null,
    };

    private sealed class Declared : CellDescription
    {
        public override RecurrentCell<T> Create<T>(HiddenActivation hiddenActivation, int? projectionSize = null) =>
            new ProjectedLstmCell<T>(projectionSize ?? throw new ArgumentNullException(nameof(projectionSize), "the LSTM with projections needs P."));
    }
}
