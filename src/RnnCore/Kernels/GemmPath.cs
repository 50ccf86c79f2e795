namespace RnnCore.Kernels;

/// <summary>
/// Which register-blocked kernel computes a product's tiles. The path fixes the tile shape (MR x NR) and so the packed
/// layouts; it never changes a result: every path accumulates every element fma by fma in the same order.
/// </summary>
internal enum GemmPath
{
    /// <summary>Plain scalar code with the 256-bit path's tile shape: machines without AVX2/FMA, and the tests' reference.</summary>
    Scalar,

    /// <summary>256-bit vectors with FMA (AVX2): MR = two vectors, NR = 6, filling the 16 ymm registers.</summary>
    Vector256,

    /// <summary>512-bit vectors (AVX-512F): MR = two vectors, NR = 8, 16 accumulators out of the 32 zmm registers.</summary>
    Vector512,
}
