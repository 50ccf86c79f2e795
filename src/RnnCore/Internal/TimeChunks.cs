namespace RnnCore.Internal;

/// <summary>
/// The chunks of consecutive steps that BPTT walks backwards: its scratch for dL/dz and for dL/dh_t → δ_t holds one
/// chunk instead of the whole sequence, and the weight gradients are summed chunk by chunk (dW += Δ_chunk X_chunkᵀ).
/// </summary>
/// <remarks>
/// A chunk's columns (step, sequence) are the depth k of those weight-gradient GEMMs, so chunks are made as small as
/// keeps k at about <see cref="TargetColumns"/> or more: four of the kernel's 256-deep k blocks, where a GEMM of
/// this shape runs as fast per FLOP as the whole-sequence one. The chunks depend only on T and B, never on the thread
/// count, so the summation order of the gradients, and with it their bits, is the same on every machine and thread count.
/// </remarks>
internal static class TimeChunks
{
    /// <summary>The columns a chunk aims for: the depth k of the weight-gradient GEMMs.</summary>
    public const int TargetColumns = 1024;

    /// <summary>
    /// The number of chunks for <paramref name="steps"/> x <paramref name="batch"/> columns: T·B / target rounded down
    /// (target = <see cref="TargetColumns"/> unless a test asks for smaller chunks), so each chunk has at least
    /// ⌊T / count⌋·B ≥ ⌊target / B⌋·B columns; 1 when T·B &lt; 2·target, at most T (one step each).
    /// </summary>
    public static int Count(int steps, int batch, int targetColumns = TargetColumns) =>
        (int)Math.Clamp((long)steps * batch / targetColumns, 1, steps);

    /// <summary>The first step of chunk <paramref name="chunk"/> (0-based) of <paramref name="count"/>: ⌊chunk·T / count⌋.</summary>
    public static int Start(int chunk, int count, int steps) => (int)((long)chunk * steps / count);

    /// <summary>The most steps any of the <paramref name="count"/> chunks has: ⌈T / count⌉, what the scratch is sized for.</summary>
    public static int MaxSteps(int steps, int count) => (steps + count - 1) / count;
}
