namespace RnnCore.Kernels;

/// <summary>An element-wise function applied to C right after the product, by the thread that computed it.</summary>
internal enum GemmEpilogue
{
    /// <summary>C is left as computed.</summary>
    None,

    /// <summary>C = tanh(C): the recurrence's h_t = tanh(a_t).</summary>
    Tanh,

    /// <summary>C = max(C, 0): the recurrence's h_t = relu(a_t).</summary>
    Relu,
}
