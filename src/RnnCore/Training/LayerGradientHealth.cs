using System.Globalization;
using RnnCore.Models;

namespace RnnCore.Training;

/// <summary>
/// One layer-direction's share of a <see cref="GradientHealth"/> report: its dL/dh profile, the end-to-end ratio of
/// that profile and its verdict, and ρ(W_hh) where W_hh is square.
/// </summary>
public sealed class LayerGradientHealth
{
    internal LayerGradientHealth(int layer, int direction, GradientVerdict verdict, double dhNormRatio, IReadOnlyList<double> dhNorms, double spectralRadius)
    {
        Layer = layer;
        Direction = direction;
        Verdict = verdict;
        DhNormRatio = dhNormRatio;
        DhNorms = dhNorms;
        SpectralRadius = spectralRadius;
    }

    /// <summary>The layer, 0 at the bottom (0 for a <see cref="RecurrentLayer{T}"/>).</summary>
    public int Layer { get; }

    /// <summary>The direction: 0 forward, 1 reverse.</summary>
    public int Direction { get; }

    /// <summary>Healthy, vanishing or exploding, by <see cref="DhNormRatio"/> against the trainer's thresholds.</summary>
    public GradientVerdict Verdict { get; }

    /// <summary>
    /// Geometric mean over the epoch's optimizer steps of ‖dL/dh‖ at the direction's first processed step over that at
    /// its last (‖dL/dh_1‖ / ‖dL/dh_T‖ forward; position T over position 1 for the reverse direction, which reads the
    /// sequence backwards); NaN when no step had both norms positive.
    /// </summary>
    public double DhNormRatio { get; }

    /// <summary>‖dL/dh_t‖ by position t (over the batch) at the epoch's last optimizer step, up to the batch's longest sequence.</summary>
    public IReadOnlyList<double> DhNorms { get; }

    /// <summary>ρ(W_hh) at the end of the epoch for a vanilla cell; NaN for LSTM and GRU, whose W_hh (G·H x H) is not square.</summary>
    public double SpectralRadius { get; }

    /// <summary>A one-line summary, e.g. <c>layer 1 reverse: Healthy, ratio 0.52</c>.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"layer {Layer} {(Direction == 0 ? "forward" : "reverse")}: {Verdict}, ||dL/dh_1||/||dL/dh_T|| = {DhNormRatio:E2}, rho(W_hh) = {SpectralRadius:G4}");
}
