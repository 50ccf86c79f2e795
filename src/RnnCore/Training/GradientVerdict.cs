namespace RnnCore.Training;

/// <summary>The verdict of a <see cref="GradientHealth"/> report.</summary>
public enum GradientVerdict
{
    /// <summary>Gradients reach the first steps with about the size they leave the last.</summary>
    Healthy,

    /// <summary>‖dL/dh_1‖ is far smaller than ‖dL/dh_T‖: early inputs barely influence learning (the seed's central warning).</summary>
    Vanishing,

    /// <summary>‖dL/dh_1‖ is far larger than ‖dL/dh_T‖ (clipping on most steps is reported apart, as <see cref="GradientHealth.ClippingSaturated"/>).</summary>
    Exploding,
}
