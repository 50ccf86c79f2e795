namespace RnnCore.Optimizers;

/// <summary>How <see cref="Clipping"/> limits gradients.</summary>
public enum ClippingMode
{
    /// <summary>Gradients are not changed.</summary>
    None = 0,

    /// <summary>All gradients are rescaled together when their global L2 norm exceeds a maximum.</summary>
    GlobalNorm = 1,

    /// <summary>Every gradient element is clamped to a symmetric range.</summary>
    Value = 2,
}
