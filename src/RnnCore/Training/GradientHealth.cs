using System.Globalization;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Internal;
using RnnCore.Models;

namespace RnnCore.Training;

/// <summary>
/// One epoch's gradient health, the numbers behind the verdict: the dL/dh profile and its end-to-end ratio, the
/// spectral radius of W_h, the global gradient norm before clipping and how often clipping fired.
/// </summary>
/// <remarks>
/// <para>
/// The ratio ‖dL/dh_1‖ / ‖dL/dh_T‖ (<see cref="RecurrentGradients{T}.DhNorms"/> at the first and the last step) is
/// the geometric mean over the epoch's optimizer steps. It is the clearest signal with
/// <see cref="LossPlacement.LastStep"/>, where all gradient starts at the last step; with a loss at every step each
/// dL/dh_t also holds its own step's term, so the ratio stays near 1 even when long-range gradients vanish, and the
/// spectral radius is the better guide.
/// </para>
/// <para>
/// For the linear part of the recurrence, ρ(W_h) &lt; 1 shrinks gradients geometrically per step back in time and
/// ρ(W_h) &gt; 1 can make them grow; f' ≤ 1 (tanh, ReLU) can only shrink them further. The verdict is the dL/dh
/// norms' alone: Exploding when the ratio exceeds <see cref="TrainerOptions.ExplodingRatio"/>, Vanishing when it is
/// below <see cref="TrainerOptions.VanishingRatio"/>, Healthy otherwise.
/// </para>
/// <para>
/// Clipping is reported beside the verdict, not in it: <see cref="ClippingSaturated"/> says clipping fired on at least
/// <see cref="TrainerOptions.ClippingSaturationFraction"/> of the steps. A run that clips on most steps takes steps of
/// the threshold's length rather than the gradient's, which is worth knowing (the threshold may be too tight, or the
/// loss surface steep), but it is not evidence that gradients grow going back in time; a healthy run with a tight
/// threshold clips on nearly every step.
/// </para>
/// </remarks>
public sealed class GradientHealth
{
    internal GradientHealth(
        GradientVerdict verdict, string reason, double dhNormRatio, IReadOnlyList<double> dhNorms, double spectralRadius,
        double meanGradientNorm, double maxGradientNorm, double clipFraction, bool clippingSaturated, IReadOnlyList<LayerGradientHealth> layers)
    {
        Layers = layers;
        ClippingSaturated = clippingSaturated;
        Verdict = verdict;
        Reason = reason;
        DhNormRatio = dhNormRatio;
        DhNorms = dhNorms;
        SpectralRadius = spectralRadius;
        MeanGradientNorm = meanGradientNorm;
        MaxGradientNorm = maxGradientNorm;
        ClipFraction = clipFraction;
    }

    /// <summary>
    /// Healthy, vanishing or exploding: for a <see cref="RecurrentModel{T}"/>, the verdict of the most extreme
    /// layer-direction (Exploding if any explodes, else the one with the smallest ratio), whose figures
    /// <see cref="DhNormRatio"/>, <see cref="DhNorms"/> and <see cref="SpectralRadius"/> also are; <see cref="Layers"/> has them all.
    /// </summary>
    public GradientVerdict Verdict { get; }

    /// <summary>
    /// Every layer and direction's figures, index layer·D + direction (one entry for a <see cref="RecurrentLayer{T}"/>).
    /// </summary>
    public IReadOnlyList<LayerGradientHealth> Layers { get; }

    /// <summary>Why, in one sentence with the numbers, e.g. <c>‖dL/dh_1‖/‖dL/dh_T‖ = 3.1E-007 &lt; 1E-003 ...</c>.</summary>
    public string Reason { get; }

    /// <summary>Geometric mean over the epoch's steps of ‖dL/dh_1‖ / ‖dL/dh_T‖; NaN when no step had both norms positive.</summary>
    public double DhNormRatio { get; }

    /// <summary>The per-step ‖dL/dh_t‖ profile of the epoch's last optimizer step.</summary>
    public IReadOnlyList<double> DhNorms { get; }

    /// <summary>ρ(W_h), the largest eigenvalue magnitude of W_h at the end of the epoch (power iteration).</summary>
    public double SpectralRadius { get; }

    /// <summary>The mean over the epoch's steps of the global gradient norm before clipping.</summary>
    public double MeanGradientNorm { get; }

    /// <summary>The largest global gradient norm before clipping in the epoch.</summary>
    public double MaxGradientNorm { get; }

    /// <summary>The fraction of the epoch's steps on which clipping changed the gradients (0 without clipping).</summary>
    public double ClipFraction { get; }

    /// <summary>
    /// True when clipping fired on at least <see cref="TrainerOptions.ClippingSaturationFraction"/> of the epoch's steps:
    /// most updates had the threshold's length, not the gradient's. Independent of <see cref="Verdict"/>.
    /// </summary>
    public bool ClippingSaturated { get; }

    /// <summary>
    /// Estimates the spectral radius ρ(W) = max |λ| of a square matrix by power iteration: v ← W v / ‖W v‖ from a
    /// seeded random start, with ρ taken as the geometric mean of the growth ‖W v‖ over the second half of the
    /// iterations (Gelfand's formula ρ = lim ‖W^k v‖^{1/k}), which also converges when the dominant eigenvalues are a
    /// complex pair or ±λ, where the plain Rayleigh quotient oscillates.
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="matrix">A square matrix, finite.</param>
    /// <param name="iterations">Number of products; at least 2.</param>
    /// <returns>The estimate; 0 when W^k v reaches zero (a nilpotent matrix).</returns>
    public static double EstimateSpectralRadius<T>(Matrix<T> matrix, int iterations = 300)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (matrix.RowCount != matrix.ColumnCount)
        {
            throw new ArgumentException($"matrix is {matrix.RowCount}x{matrix.ColumnCount}; the spectral radius needs a square matrix.", nameof(matrix));
        }

        if (iterations < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "iterations must be at least 2.");
        }

        int n = matrix.RowCount;
        double[] w = new double[n * n];
        for (int j = 0; j < n; j++)
        {
            for (int i = 0; i < n; i++)
            {
                w[i + (j * n)] = double.CreateTruncating(matrix.At(i, j));
            }
        }

        var random = new SeededRandom(12345);
        double[] v = new double[n];
        double[] next = new double[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = random.NextUniform(-1, 1);
        }

        Normalize(v);
        double logGrowth = 0;
        int counted = 0;
        for (int k = 0; k < iterations; k++)
        {
            Array.Clear(next);
            for (int j = 0; j < n; j++)
            {
                double vj = v[j];
                for (int i = 0; i < n; i++)
                {
                    next[i] += w[i + (j * n)] * vj;
                }
            }

            double norm = Normalize(next);
            if (norm == 0)
            {
                return 0;
            }

            if (!double.IsFinite(norm))
            {
                return double.PositiveInfinity;
            }

            if (k >= iterations / 2)
            {
                logGrowth += Math.Log(norm);
                counted++;
            }

            (v, next) = (next, v);
        }

        return Math.Exp(logGrowth / counted);
    }

    /// <summary>A one-line summary, e.g. <c>Vanishing: ...</c>.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Verdict}: {Reason} (rho(W_h) = {SpectralRadius:G4}, gradient norm mean {MeanGradientNorm:G4}, max {MaxGradientNorm:G4}, clipped {ClipFraction:P0}{(ClippingSaturated ? ", clipping saturated" : "")})");

    /// <summary>The verdict of a dL/dh ratio against the options' thresholds.</summary>
    internal static GradientVerdict VerdictOf(TrainerOptions options, double ratio) =>
        ratio > options.ExplodingRatio ? GradientVerdict.Exploding
        : ratio < options.VanishingRatio ? GradientVerdict.Vanishing
        : GradientVerdict.Healthy;

    /// <summary>The verdict for the epoch's figures: the most extreme layer-direction's (see <see cref="Verdict"/>).</summary>
    internal static GradientHealth Assess(
        TrainerOptions options, IReadOnlyList<LayerGradientHealth> layers, bool nameLayer, double meanNorm, double maxNorm, double clipFraction)
    {
        LayerGradientHealth worst = layers[0];
        foreach (LayerGradientHealth layer in layers)
        {
            bool worse = layer.Verdict == GradientVerdict.Exploding
                ? worst.Verdict != GradientVerdict.Exploding || layer.DhNormRatio > worst.DhNormRatio
                : worst.Verdict != GradientVerdict.Exploding && (double.IsNaN(worst.DhNormRatio) || layer.DhNormRatio < worst.DhNormRatio);
            if (worse)
            {
                worst = layer;
            }
        }

        double ratio = worst.DhNormRatio;
        GradientVerdict verdict;
        string reason;
        CultureInfo c = CultureInfo.InvariantCulture;
        if (ratio > options.ExplodingRatio)
        {
            verdict = GradientVerdict.Exploding;
            reason = string.Create(c, $"||dL/dh_1||/||dL/dh_T|| = {ratio:E2} > {options.ExplodingRatio:E0}: gradients grow going back in time");
        }
        else if (ratio < options.VanishingRatio)
        {
            verdict = GradientVerdict.Vanishing;
            reason = string.Create(c, $"||dL/dh_1||/||dL/dh_T|| = {ratio:E2} < {options.VanishingRatio:E0}: the first steps receive almost no gradient");
        }
        else
        {
            verdict = GradientVerdict.Healthy;
            reason = double.IsNaN(ratio)
                ? "no step had both end norms positive"
                : string.Create(c, $"||dL/dh_1||/||dL/dh_T|| = {ratio:E2} within [{options.VanishingRatio:E0}, {options.ExplodingRatio:E0}]");
        }

        bool saturated = clipFraction >= options.ClippingSaturationFraction;
        if (saturated)
        {
            reason += string.Create(c, $"; clipping fired on {clipFraction:P0} of the steps (saturation threshold {options.ClippingSaturationFraction:P0})");
        }

        if (nameLayer)
        {
            reason = string.Create(c, $"layer {worst.Layer} {(worst.Direction == 0 ? "forward" : "reverse")}: ") + reason;
        }

        return new GradientHealth(verdict, reason, ratio, worst.DhNorms, worst.SpectralRadius, meanNorm, maxNorm, clipFraction, saturated, layers);
    }

    private static double Normalize(double[] v)
    {
        double sum = 0;
        foreach (double x in v)
        {
            sum += x * x;
        }

        double norm = Math.Sqrt(sum);
        if (norm > 0 && double.IsFinite(norm))
        {
            for (int i = 0; i < v.Length; i++)
            {
                v[i] /= norm;
            }
        }

        return norm;
    }
}
