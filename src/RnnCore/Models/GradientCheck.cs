using MathNet.Numerics.LinearAlgebra;

namespace RnnCore.Models;

/// <summary>
/// Checks <see cref="Bptt{T}"/> against central finite differences of the loss, in double precision, for every element
/// of every parameter and of h_0. For users who extend the library, and for our own tests.
/// </summary>
/// <remarks>
/// <para>
/// The fourth-order central difference
/// numeric_i = (−L(θ + 2ε e_i) + 8 L(θ + ε e_i) − 8 L(θ − ε e_i) + L(θ − 2ε e_i)) / 12ε
/// has a truncation error O(ε⁴) and a rounding error about ε_machine · |L| / ε. With the default ε = 1e-4 in double
/// both are near 1e-12, so gradients that have vanished to 1e-5 are still resolved to about 1e-7 of their size (the
/// two-point formula at ε = 1e-6 resolves only about 1e-10 absolute). A float network is checked through a double copy
/// of itself, so the check measures the mathematics, not float rounding.
/// </para>
/// <para>
/// Errors are relative to the largest magnitude in the same tensor (as the reference vectors are compared), because an
/// element whose gradient is 1e-12 can only be resolved to the rounding noise of the loss; a tensor whose gradients are
/// all below 1e-4 of the largest gradient of any tensor (a dead ReLU's are exactly zero) is measured against that 1e-4.
/// With ReLU, an element whose perturbation switches a unit on or off sits on a kink of the loss, where a finite
/// difference means nothing: it is retried with the two-point formula at ε/100, and if that also crosses a kink it is
/// skipped and counted in <see cref="GradientCheckEntry.SkippedAtKinks"/>, never silently averaged in.
/// </para>
/// </remarks>
public static class GradientCheck
{
    /// <summary>Below this fraction of the largest gradient over all tensors, errors are measured against that fraction.</summary>
    internal const double GlobalFloor = 1e-4;

    /// <summary>Runs the check for one batch.</summary>
    /// <typeparam name="T">The network's element type.</typeparam>
    /// <param name="network">The network (a <see cref="RecurrentLayer{T}"/> or any <see cref="RecurrentModel{T}"/>) at the parameters to check (not changed); it is run without dropout.</param>
    /// <param name="inputs">T matrices of I x B.</param>
    /// <param name="targets">Targets matching the placement.</param>
    /// <param name="placement">Loss placement.</param>
    /// <param name="reduction">Loss reduction.</param>
    /// <param name="initialHidden">h_0: one H x B matrix per layer-direction (index layer·D + direction); zeros when null. Checked as tensor <c>h0</c> (one layer-direction) or <c>h0[i]</c>.</param>
    /// <param name="epsilon">The perturbation ε; positive and finite.</param>
    /// <param name="lengths">Per-sequence lengths of a padded batch (PyTorch's convention, see <see cref="RecurrentModel{T}.Forward(IReadOnlyList{Matrix{T}}, ForwardCache{T}, IReadOnlyList{Matrix{T}}, IReadOnlyList{Matrix{T}}, IReadOnlyList{int}, bool)"/>); null for full-length sequences.</param>
    /// <returns>The worst relative error per tensor.</returns>
    public static GradientCheckResult Run<T>(
        RecurrentModel<T> network,
        IReadOnlyList<Matrix<T>> inputs,
        SequenceTargets<T> targets,
        LossPlacement placement = LossPlacement.EveryStep,
        LossReduction reduction = LossReduction.Sum,
        IReadOnlyList<Matrix<T>>? initialHidden = null,
        double epsilon = 1e-4,
        IReadOnlyList<int>? lengths = null)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        => Run(network, inputs, targets, placement, reduction, initialHidden, epsilon, tamper: null, lengths);

    /// <summary>
    /// <see cref="Run{T}(RecurrentModel{T}, IReadOnlyList{Matrix{T}}, SequenceTargets{T}, LossPlacement, LossReduction, IReadOnlyList{Matrix{T}}, double, IReadOnlyList{int})"/>
    /// with a hook that may alter the analytic gradients before comparison: the tests use it to prove that a wrong
    /// gradient is caught.
    /// </summary>
    internal static GradientCheckResult Run<T>(
        RecurrentModel<T> network,
        IReadOnlyList<Matrix<T>> inputs,
        SequenceTargets<T> targets,
        LossPlacement placement,
        LossReduction reduction,
        IReadOnlyList<Matrix<T>>? initialHidden,
        double epsilon,
        Action<RecurrentGradients<double>>? tamper,
        IReadOnlyList<int>? lengths = null)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (!(epsilon > 0) || !double.IsFinite(epsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"epsilon must be positive and finite, but was {epsilon}.");
        }

        // Everything in double: a copy of the network, the inputs, h_0 and the targets.
        RecurrentModel<double> twin = network.Twin<double>();
        List<Matrix<double>> x = inputs.Select(m => m.Map(double.CreateTruncating)).ToList();
        int batch = x.Count > 0 ? x[0].ColumnCount : 0;
        int states = network.Layers * network.Directions;
        network.ValidateStates(initialHidden, null, batch);

        // h_0 of every layer-direction, wrapped by matrices: perturbing h0[ld] perturbs what the forward pass reads.
        double[][] h0 = Enumerable.Range(0, states)
            .Select(ld => initialHidden is null ? new double[network.StateSize * batch] : initialHidden[ld].Map(double.CreateTruncating).ToColumnMajorArray())
            .ToArray();
        Matrix<double>[] h0Matrices = h0.Select(values => Matrix<double>.Build.Dense(network.StateSize, batch, values)).ToArray();
        SequenceTargets<double> y = targets.ConvertTo<double>();

        var bptt = new Bptt<double>(twin, placement, reduction);
        ForwardCache<double> cache = twin.CreateCache(x.Count, batch);
        twin.Forward(x, cache, h0Matrices, null, lengths);
        RecurrentGradients<double> analytic = bptt.Backward(cache, y);
        tamper?.Invoke(analytic);
        bool[] activePattern = ActivePattern(twin, cache);

        // Every tensor's analytic and numeric gradients first, then the errors: the floor of each denominator depends
        // on the largest gradient over all tensors.
        var tensors = new List<(string Name, double[] Analytic, double[] Numeric, bool[] Skipped)>();
        for (int p = 0; p < twin.Parameters.Count; p++)
        {
            tensors.Add(Differentiate(twin.Parameters.GetName(p), twin.Parameters[p].Length, i => ref twin.Parameters[p][i], analytic.ParameterGradients[p].ToArray()));
        }

        for (int ld = 0; ld < states; ld++)
        {
            double[] values = h0[ld];
            tensors.Add(Differentiate(states == 1 ? "h0" : $"h0[{ld}]", values.Length, i => ref values[i], analytic.InitialHidden(ld).ToColumnMajorArray()));
        }

        double globalScale = tensors.Max(t => Scale(t.Analytic, t.Numeric, t.Skipped));
        List<GradientCheckEntry> entries = tensors.Select(t => Compare(t.Name, t.Analytic, t.Numeric, t.Skipped, globalScale)).ToList();
        return new GradientCheckResult(entries, epsilon);

        (string, double[], double[], bool[]) Differentiate(string name, int length, ElementAccessor element, double[] analyticValues)
        {
            var numeric = new double[length];
            var skipped = new bool[length];
            for (int i = 0; i < length; i++)
            {
                ref double value = ref element(i);
                double saved = value;
                bool kink = false;
                double plus2 = LossWith(ref value, saved + (2 * epsilon), ref kink);
                double plus1 = LossWith(ref value, saved + epsilon, ref kink);
                double minus1 = LossWith(ref value, saved - epsilon, ref kink);
                double minus2 = LossWith(ref value, saved - (2 * epsilon), ref kink);
                numeric[i] = (-plus2 + (8 * plus1) - (8 * minus1) + minus2) / (12 * epsilon);
                if (kink)
                {
                    // A ReLU switched within ±2ε: retry with the two-point formula at ε/100 before giving up.
                    kink = false;
                    double narrow = epsilon / 100;
                    double plus = LossWith(ref value, saved + narrow, ref kink);
                    double minus = LossWith(ref value, saved - narrow, ref kink);
                    numeric[i] = (plus - minus) / (2 * narrow);
                }

                value = saved;
                skipped[i] = kink;
            }

            return (name, analyticValues, numeric, skipped);
        }

        // The loss with one element set to a perturbed value; notes whether any ReLU switched on or off.
        double LossWith(ref double element, double perturbed, ref bool crossedKink)
        {
            element = perturbed;
            twin.Forward(x, cache, h0Matrices, null, lengths);
            crossedKink |= !ActivePattern(twin, cache).AsSpan().SequenceEqual(activePattern);
            return bptt.Loss(cache, y);
        }
    }

    private delegate ref double ElementAccessor(int index);

    /// <summary>The largest magnitude of either gradient over the elements not skipped.</summary>
    private static double Scale(double[] analyticValues, double[] numeric, bool[] skipped)
    {
        double scale = 0;
        for (int i = 0; i < analyticValues.Length; i++)
        {
            if (!skipped[i])
            {
                scale = Math.Max(scale, Math.Max(Math.Abs(analyticValues[i]), Math.Abs(numeric[i])));
            }
        }

        return scale;
    }

    /// <summary>
    /// The worst |analytic − numeric| relative to max(the tensor's largest magnitude, <see cref="GlobalFloor"/> × the
    /// largest over all tensors): a tensor whose gradient is exactly zero (a dead ReLU) has no scale of its own.
    /// </summary>
    private static GradientCheckEntry Compare(string name, double[] analyticValues, double[] numeric, bool[] skipped, double globalScale)
    {
        double scale = Math.Max(Scale(analyticValues, numeric, skipped), GlobalFloor * globalScale);
        int worstIndex = -1;
        double worst = 0;
        int skippedCount = 0;
        for (int i = 0; i < analyticValues.Length; i++)
        {
            if (skipped[i])
            {
                skippedCount++;
                continue;
            }

            double difference = Math.Abs(analyticValues[i] - numeric[i]);
            double error = scale > 0 ? difference / scale : difference;
            if (double.IsNaN(error))
            {
                error = double.PositiveInfinity;
            }

            if (worstIndex < 0 || error > worst)
            {
                worst = error;
                worstIndex = i;
            }
        }

        return new GradientCheckEntry(
            name,
            analyticValues.Length - skippedCount,
            worst,
            worstIndex,
            worstIndex >= 0 ? analyticValues[worstIndex] : 0,
            worstIndex >= 0 ? numeric[worstIndex] : 0,
            skippedCount);
    }

    /// <summary>Which ReLU units are on (h &gt; 0) at every step; empty for tanh, which has no kinks.</summary>
    private static bool[] ActivePattern(RecurrentModel<double> network, ForwardCache<double> cache)
    {
        if (!network.Cell.Description.UsesHiddenActivation || network.Options.HiddenActivation != HiddenActivation.Relu)
        {
            return [];
        }

        var pattern = new List<bool>();
        foreach (double[] slab in cache.Hiddens)
        {
            foreach (double value in slab.AsSpan(network.HiddenSize * cache.Batch))
            {
                pattern.Add(value > 0);
            }
        }

        return pattern.ToArray();
    }
}
