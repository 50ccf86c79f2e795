using System.Numerics;
using System.Numerics.Tensors;

namespace RnnCore.Cells;

/// <summary>
/// The LSTM cell, PyTorch's <c>nn.LSTM</c> (G = 4, gate blocks i, f, g, o):
/// <code>
/// a = u + v      i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
/// c' = f ⊙ c + i ⊙ g          h' = o ⊙ tanh(c')
/// </code>
/// </summary>
internal sealed class LstmCell<T>() : RecurrentCell<T>(LstmCell.Description)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The step above; the activations i, f, g, o replace a in u (the backward reads them there). Vectorized per column:
    /// σ over the contiguous i and f blocks, tanh over g, σ over o (TensorPrimitives' exp and tanh, the same algorithm in
    /// every lane), then the state update with separate multiplies and adds (no fused multiply-add).
    /// </summary>
    public override void Forward(Span<T> u, Span<T> v, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, Span<T> hNext, Span<T> cNext, int hidden, ReadOnlySpan<T> ownWeight)
    {
        int columns = hNext.Length / hidden;
        int rows = 4 * hidden;
        TensorPrimitives.Add(u.Slice(0, rows * columns), v.Slice(0, rows * columns), u);
        for (int j = 0; j < columns; j++)
        {
            Span<T> gates = u.Slice(j * rows, rows);
            Span<T> inputAndForget = gates.Slice(0, 2 * hidden);
            Span<T> candidate = gates.Slice(2 * hidden, hidden);
            Span<T> output = gates.Slice(3 * hidden, hidden);
            TensorPrimitives.Sigmoid<T>(inputAndForget, inputAndForget);
            TensorPrimitives.Tanh<T>(candidate, candidate);
            TensorPrimitives.Sigmoid<T>(output, output);

            // c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c').
            Span<T> c = cNext.Slice(j * hidden, hidden);
            Span<T> h = hNext.Slice(j * hidden, hidden);
            TensorPrimitives.Multiply<T>(gates.Slice(hidden, hidden), cPrev.Slice(j * hidden, hidden), c);
            TensorPrimitives.MultiplyAdd<T>(gates.Slice(0, hidden), candidate, c, c);
            TensorPrimitives.Tanh<T>(c, h);
            TensorPrimitives.Multiply<T>(h, output, h);
        }
    }

    /// <summary>
    /// The chain rule through the step, with dc̃ = dL/dc' + dL/dh' ⊙ o ⊙ (1 − tanh²c') the total gradient at c':
    /// <code>
    /// δ_i = dc̃ ⊙ g ⊙ i(1 − i)   δ_f = dc̃ ⊙ c ⊙ f(1 − f)   δ_g = dc̃ ⊙ i ⊙ (1 − g²)   δ_o = dL/dh' ⊙ tanh c' ⊙ o(1 − o)
    /// dL/dc = dc̃ ⊙ f            δv = δu (a = u + v)         no path to h bypasses v
    /// </code>
    /// </summary>
    public override void Backward(
        ReadOnlySpan<T> u, ReadOnlySpan<T> v, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> hNext, ReadOnlySpan<T> cNext,
        ReadOnlySpan<T> dh, Span<T> dc, Span<T> deltaU, Span<T> deltaV, Span<T> dhPrevDirect, int hidden,
        ReadOnlySpan<T> ownWeight, Span<T> ownWeightGradient)
    {
        int columns = hNext.Length / hidden;
        int rows = 4 * hidden;
        T one = T.One;
        for (int j = 0; j < columns; j++)
        {
            ReadOnlySpan<T> gates = u.Slice(j * rows, rows);
            Span<T> delta = deltaU.Slice(j * rows, rows);

            // tanh(c') again (vectorized), in the direct-path buffer, which the LSTM leaves zero in the end.
            Span<T> tanhOfCell = dhPrevDirect.Slice(j * hidden, hidden);
            TensorPrimitives.Tanh<T>(cNext.Slice(j * hidden, hidden), tanhOfCell);
            int k = 0;
            if (Vector.IsHardwareAccelerated)
            {
                // The same operations in the same order as the scalar tail below (nothing fused): identical bits per lane.
                var vOne = Vector<T>.One;
                for (; k <= hidden - Vector<T>.Count; k += Vector<T>.Count)
                {
                    int at = (j * hidden) + k;
                    var i = new Vector<T>(gates.Slice(k));
                    var f = new Vector<T>(gates.Slice(hidden + k));
                    var g = new Vector<T>(gates.Slice((2 * hidden) + k));
                    var o = new Vector<T>(gates.Slice((3 * hidden) + k));
                    var tanhC = new Vector<T>(tanhOfCell.Slice(k));
                    var dhk = new Vector<T>(dh.Slice(at));
                    Vector<T> dcTotal = new Vector<T>(dc.Slice(at)) + (dhk * o * (vOne - (tanhC * tanhC)));
                    (dcTotal * g * i * (vOne - i)).CopyTo(delta.Slice(k));
                    (dcTotal * new Vector<T>(cPrev.Slice(at)) * f * (vOne - f)).CopyTo(delta.Slice(hidden + k));
                    (dcTotal * i * (vOne - (g * g))).CopyTo(delta.Slice((2 * hidden) + k));
                    (dhk * tanhC * o * (vOne - o)).CopyTo(delta.Slice((3 * hidden) + k));
                    (dcTotal * f).CopyTo(dc.Slice(at));
                }
            }

            for (; k < hidden; k++)
            {
                int at = (j * hidden) + k;
                T i = gates[k];
                T f = gates[hidden + k];
                T g = gates[(2 * hidden) + k];
                T o = gates[(3 * hidden) + k];
                T tanhC = tanhOfCell[k];
                T dhk = dh[at];
                T dcTotal = dc[at] + (dhk * o * (one - (tanhC * tanhC)));
                delta[k] = dcTotal * g * i * (one - i);
                delta[hidden + k] = dcTotal * cPrev[at] * f * (one - f);
                delta[(2 * hidden) + k] = dcTotal * i * (one - (g * g));
                delta[(3 * hidden) + k] = dhk * tanhC * o * (one - o);
                dc[at] = dcTotal * f;
            }
        }

        dhPrevDirect.Clear();
    }
}

/// <summary>The LSTM cell's description (see <see cref="CellDescription"/>), declared beside its step.</summary>
internal static class LstmCell
{
    /// <summary>The LSTM cell's names, gates, tensors and ONNX mapping.</summary>
    public static readonly CellDescription Description = new Declared
    {
        Kind = RecurrentCellKind.Lstm,
        DisplayName = "LSTM",
        FileCode = 2,
        PyTorchModule = "nn.LSTM",
        SafeTensorsName = "lstm",
        Gates = 4,
        HasCellState = true,
        Tensors = CellTensor.PyTorchStandard(gates: 4),
        ForgetGate = (Input: 0, Forget: 1),

        // ONNX LSTM's blocks are [i, o, f, c] against PyTorch's i, f, g, o.
        Onnx = new OnnxCellMapping("LSTM", [0, 3, 1, 2], [], ActivationsFromHiddenActivation: false),
    };

    private sealed class Declared : CellDescription
    {
        public override RecurrentCell<T> Create<T>(HiddenActivation hiddenActivation, int? projectionSize = null) => new LstmCell<T>();
    }
}
