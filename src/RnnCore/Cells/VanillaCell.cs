using System.Numerics;
using System.Numerics.Tensors;
using RnnCore.Activations;

namespace RnnCore.Cells;

/// <summary>
/// The vanilla (Elman) cell, PyTorch's <c>nn.RNN</c> (G = 1): <c>h' = f(u + v)</c> with <c>u = W_ih x + b_ih</c>,
/// <c>v = W_hh h + b_hh</c>, f = tanh or ReLU.
/// </summary>
internal sealed class VanillaCell<T>(HiddenActivation activation) : RecurrentCell<T>(VanillaCell.Description)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>h' = f(u + v) element by element, and the backward reads h' alone: u is computed where h' goes.</summary>
    public override bool ProjectionInState => true;

    /// <summary>tanh and ReLU map finite values to finite values, so a non-finite h' comes from a = u + v.</summary>
    public override string StateQuantity => "pre-activation a_t";

    /// <summary>a = u + v: a non-finite v makes a non-finite, so it is reported as a_t, as the one-layer form computes it.</summary>
    public override string RecurrentProductQuantity => "pre-activation a_t";

    /// <summary>h' = f(a), a = u + v; a non-finite a is left in h' unactivated (tanh(±∞) = ±1 would hide it) for the model to report.</summary>
    public override void Forward(Span<T> u, Span<T> v, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, Span<T> hNext, Span<T> cNext, int hidden, ReadOnlySpan<T> ownWeight)
    {
        TensorPrimitives.Add(u, v, hNext);
        if (Internal.Guard.IndexOfNonFinite<T>(hNext) >= 0)
        {
            return;
        }

        if (activation == HiddenActivation.Tanh)
        {
            TanhFunction.Forward(hNext);
        }
        else
        {
            ReluFunction.Forward(hNext);
        }
    }

    /// <summary>δu = δv = dL/dh' ⊙ f'(a), from the cached h' (tanh' = 1 − h'², relu' = [h' &gt; 0]); nothing bypasses v.</summary>
    public override void Backward(
        ReadOnlySpan<T> u, ReadOnlySpan<T> v, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> hNext, ReadOnlySpan<T> cNext,
        ReadOnlySpan<T> dh, Span<T> dc, Span<T> deltaU, Span<T> deltaV, Span<T> dhPrevDirect, int hidden,
        ReadOnlySpan<T> ownWeight, Span<T> ownWeightGradient)
    {
        if (activation == HiddenActivation.Tanh)
        {
            TanhFunction.Backward(hNext, dh, deltaU);
        }
        else
        {
            ReluFunction.Backward(hNext, dh, deltaU);
        }

        dhPrevDirect.Clear();
    }
}

/// <summary>The vanilla cell's description (see <see cref="CellDescription"/>), declared beside its step.</summary>
internal static class VanillaCell
{
    /// <summary>The vanilla cell's names, gates, tensors and ONNX mapping.</summary>
    public static readonly CellDescription Description = new Declared
    {
        Kind = RecurrentCellKind.Vanilla,
        DisplayName = "vanilla",
        SummaryName = "Elman RNN",
        FileCode = 1,
        PyTorchModule = "nn.RNN",
        SafeTensorsName = "rnn",
        Gates = 1,
        UsesHiddenActivation = true,
        Tensors = CellTensor.PyTorchStandard(gates: 1),

        // ONNX RNN: one block; activations = [f] per direction (ONNX's default is tanh, so ReLU must be named).
        Onnx = new OnnxCellMapping("RNN", [0], [], ActivationsFromHiddenActivation: true),
    };

    private sealed class Declared : CellDescription
    {
        public override RecurrentCell<T> Create<T>(HiddenActivation hiddenActivation, int? projectionSize = null) => new VanillaCell<T>(hiddenActivation);
    }
}
