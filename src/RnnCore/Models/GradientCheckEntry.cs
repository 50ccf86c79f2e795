namespace RnnCore.Models;

/// <summary>The finite-difference check of one tensor (a parameter or h_0): see <see cref="GradientCheck"/>.</summary>
/// <param name="Name">The tensor: <c>Wx</c>, <c>Wh</c>, <c>Wy</c>, <c>Bh</c>, <c>By</c> or <c>h0</c>.</param>
/// <param name="Count">Number of elements checked (excluding those skipped at kinks).</param>
/// <param name="WorstRelativeError">max_i |analytic_i − numeric_i| / max_j max(|analytic_j|, |numeric_j|).</param>
/// <param name="WorstIndex">Column-major index of the worst element (−1 if none was checked).</param>
/// <param name="Analytic">BPTT's value at the worst element.</param>
/// <param name="Numeric">The central difference at the worst element.</param>
/// <param name="SkippedAtKinks">Elements whose ±ε or ±2ε perturbation flipped a ReLU on or off, where the loss is not differentiable and a finite difference means nothing.</param>
public sealed record GradientCheckEntry(
    string Name, int Count, double WorstRelativeError, int WorstIndex, double Analytic, double Numeric, int SkippedAtKinks);
