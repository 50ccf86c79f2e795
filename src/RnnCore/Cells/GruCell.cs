using System.Numerics;
using System.Numerics.Tensors;

namespace RnnCore.Cells;

/// <summary>
/// The GRU cell, PyTorch's <c>nn.GRU</c> (G = 3, gate blocks r, z, n):
/// <code>
/// r = σ(u_r + v_r)    z = σ(u_z + v_z)    n = tanh(u_n + r ⊙ v_n)    h' = (1 − z) ⊙ n + z ⊙ h
/// </code>
/// v_n = W_hn h + b_hn includes its bias, so b_hn sits inside the reset product and b_in outside it.
/// </summary>
internal sealed class GruCell<T>() : RecurrentCell<T>(GruCell.Description)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The backward needs v_n of every step (dL/dr = dL/dn_pre ⊙ v_n).</summary>
    public override bool KeepsRecurrentProjection => true;

    /// <summary>δv_n = r ⊙ δu_n differs from δu_n.</summary>
    public override bool SeparateRecurrentDelta => true;

    /// <summary>
    /// The step above; r, z and n replace their pre-activations in u, and v is kept as it is. Vectorized per column: σ
    /// over the contiguous r and z blocks, then n = tanh(u_n + r ⊙ v_n) (separate multiply and add), then the blend.
    /// </summary>
    public override void Forward(Span<T> u, Span<T> v, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, Span<T> hNext, Span<T> cNext, int hidden, ReadOnlySpan<T> ownWeight)
    {
        int columns = hNext.Length / hidden;
        int rows = 3 * hidden;
        T one = T.One;
        for (int j = 0; j < columns; j++)
        {
            Span<T> gates = u.Slice(j * rows, rows);
            ReadOnlySpan<T> recurrent = v.Slice(j * rows, rows);
            Span<T> resetAndUpdate = gates.Slice(0, 2 * hidden);
            Span<T> candidate = gates.Slice(2 * hidden, hidden);
            TensorPrimitives.Add(resetAndUpdate, recurrent.Slice(0, 2 * hidden), resetAndUpdate);
            TensorPrimitives.Sigmoid<T>(resetAndUpdate, resetAndUpdate);
            TensorPrimitives.MultiplyAdd<T>(gates.Slice(0, hidden), recurrent.Slice(2 * hidden, hidden), candidate, candidate);
            TensorPrimitives.Tanh<T>(candidate, candidate);
            for (int k = 0; k < hidden; k++)
            {
                int at = (j * hidden) + k;
                T z = gates[hidden + k];
                hNext[at] = ((one - z) * candidate[k]) + (z * hPrev[at]);
            }
        }
    }

    /// <summary>
    /// The chain rule through the step, with δ_n = dL/dh' ⊙ (1 − z) ⊙ (1 − n²) the gradient at n's pre-activation:
    /// <code>
    /// δu = [δ_r, δ_z, δ_n]    δv = [δ_r, δ_z, r ⊙ δ_n]    δ_r = δ_n ⊙ v_n ⊙ r(1 − r)    δ_z = dL/dh' ⊙ (h − n) ⊙ z(1 − z)
    /// dL/dh (direct) = dL/dh' ⊙ z
    /// </code>
    /// </summary>
    public override void Backward(
        ReadOnlySpan<T> u, ReadOnlySpan<T> v, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> hNext, ReadOnlySpan<T> cNext,
        ReadOnlySpan<T> dh, Span<T> dc, Span<T> deltaU, Span<T> deltaV, Span<T> dhPrevDirect, int hidden,
        ReadOnlySpan<T> ownWeight, Span<T> ownWeightGradient)
    {
        int columns = hNext.Length / hidden;
        int rows = 3 * hidden;
        T one = T.One;
        for (int j = 0; j < columns; j++)
        {
            ReadOnlySpan<T> gates = u.Slice(j * rows, rows);
            ReadOnlySpan<T> recurrent = v.Slice(j * rows, rows);
            Span<T> du = deltaU.Slice(j * rows, rows);
            Span<T> dv = deltaV.Slice(j * rows, rows);
            int k = 0;
            if (Vector.IsHardwareAccelerated)
            {
                // The same operations in the same order as the scalar tail below (nothing fused): identical bits per lane.
                var vOne = Vector<T>.One;
                for (; k <= hidden - Vector<T>.Count; k += Vector<T>.Count)
                {
                    int at = (j * hidden) + k;
                    var r = new Vector<T>(gates.Slice(k));
                    var z = new Vector<T>(gates.Slice(hidden + k));
                    var n = new Vector<T>(gates.Slice((2 * hidden) + k));
                    var dhk = new Vector<T>(dh.Slice(at));
                    Vector<T> deltaN = dhk * (vOne - z) * (vOne - (n * n));
                    Vector<T> deltaR = deltaN * new Vector<T>(recurrent.Slice((2 * hidden) + k)) * r * (vOne - r);
                    Vector<T> deltaZ = dhk * (new Vector<T>(hPrev.Slice(at)) - n) * z * (vOne - z);
                    deltaR.CopyTo(du.Slice(k));
                    deltaZ.CopyTo(du.Slice(hidden + k));
                    deltaN.CopyTo(du.Slice((2 * hidden) + k));
                    deltaR.CopyTo(dv.Slice(k));
                    deltaZ.CopyTo(dv.Slice(hidden + k));
                    (r * deltaN).CopyTo(dv.Slice((2 * hidden) + k));
                    (dhk * z).CopyTo(dhPrevDirect.Slice(at));
                }
            }

            for (; k < hidden; k++)
            {
                int at = (j * hidden) + k;
                T r = gates[k];
                T z = gates[hidden + k];
                T n = gates[(2 * hidden) + k];
                T dhk = dh[at];
                T deltaN = dhk * (one - z) * (one - (n * n));
                T deltaR = deltaN * recurrent[(2 * hidden) + k] * r * (one - r);
                T deltaZ = dhk * (hPrev[at] - n) * z * (one - z);
                du[k] = deltaR;
                du[hidden + k] = deltaZ;
                du[(2 * hidden) + k] = deltaN;
                dv[k] = deltaR;
                dv[hidden + k] = deltaZ;
                dv[(2 * hidden) + k] = r * deltaN;
                dhPrevDirect[at] = dhk * z;
            }
        }
    }
}

/// <summary>The GRU cell's description (see <see cref="CellDescription"/>), declared beside its step.</summary>
internal static class GruCell
{
    /// <summary>The GRU cell's names, gates, tensors and ONNX mapping.</summary>
    public static readonly CellDescription Description = new Declared
    {
        Kind = RecurrentCellKind.Gru,
        DisplayName = "GRU",
        FileCode = 3,
        PyTorchModule = "nn.GRU",
        SafeTensorsName = "gru",
        Gates = 3,
        Tensors = CellTensor.PyTorchStandard(gates: 3),

        // ONNX GRU's blocks are [z, r, h] against PyTorch's r, z, n; PyTorch's n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        // is ONNX's linear_before_reset = 1 (the reset gate multiplies R_h h + Rb_h).
        Onnx = new OnnxCellMapping("GRU", [1, 0, 2], [("linear_before_reset", 1)], ActivationsFromHiddenActivation: false),
    };

    private sealed class Declared : CellDescription
    {
        public override RecurrentCell<T> Create<T>(HiddenActivation hiddenActivation, int? projectionSize = null) => new GruCell<T>();
    }
}
