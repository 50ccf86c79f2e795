using System.Numerics;
using RnnCore.Kernels;

namespace RnnCore.Activations;

/// <summary>h = tanh(a) applied by the GEMM to the columns each thread has just computed (the vanilla recurrence's epilogue).</summary>
internal readonly struct TanhEpilogue<T> : IGemmEpilogue<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public void Apply(Span<T> block, int firstColumn, int columnCount) => TanhFunction.Forward(block);
}

/// <summary>h = max(a, 0) applied by the GEMM to the columns each thread has just computed.</summary>
internal readonly struct ReluEpilogue<T> : IGemmEpilogue<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public void Apply(Span<T> block, int firstColumn, int columnCount) => ReluFunction.Forward(block);
}
