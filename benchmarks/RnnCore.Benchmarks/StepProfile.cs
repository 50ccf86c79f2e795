using System.Diagnostics;
using System.Globalization;
using RnnCore.Activations;
using RnnCore.Kernels;

namespace RnnCore.Benchmarks;

/// <summary>
/// Where a float32 training step's time goes: each phase of the step run on its own with the step's own shapes and
/// timed the way <see cref="PeerStep"/> times the whole (warm-up, then the median of single runs). The phases add up to
/// roughly the step; the table says which to speed up next.
/// Usage: <c>--profile [--configs S,M,L,XL] [--iters 20]</c>.
/// </summary>
public static class StepProfile
{
    public static int Run(string[] args)
    {
        string configs = PeerStep.Option(args, "--configs", "S,M,L,XL");
        int iterations = int.Parse(PeerStep.Option(args, "--iters", "20"), CultureInfo.InvariantCulture);
        RnnCoreSettings.MaxDegreeOfParallelism = int.Parse(
            PeerStep.Option(args, "--threads", RnnCoreSettings.MaxDegreeOfParallelism.ToString(CultureInfo.InvariantCulture)),
            CultureInfo.InvariantCulture);

        Console.WriteLine($"phase medians in ms, float32, threads {RnnCoreSettings.MaxDegreeOfParallelism}");
        foreach (string name in configs.Split(','))
        {
            RnnConfig c = RnnConfig.All.First(x => x.Name == name);
            Profile(c, iterations);
        }

        return 0;
    }

    private static void Profile(RnnConfig c, int iterations)
    {
        int h = c.HiddenSize, i = c.InputSize, o = c.OutputSize, b = c.Batch, steps = c.Steps, columns = steps * c.Batch;
        var random = new Random(0);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        float[] wx = Random(h * i), wh = Random(h * h), wy = Random(o * h);
        float[] inputs = Random(i * columns), hiddens = Random(h * (columns + b)), logits = Random(o * columns), outputs = new float[o * columns], inverseSums = new float[columns], column = new float[o];
        float[] deltas = Random(h * columns), future = new float[h * b], dwx = new float[h * i], dwh = new float[h * h], dwy = new float[o * h];
        var packed = new PackedMatrix<float>(h, h);
        float[] outputsOfStep = new float[h * b];
        double[] logSumExp = new double[columns];

        var phases = new List<(string Name, Action Run)>
        {
            ("Wx·X (all steps)", () => Gemm.Multiply(false, false, h, columns, i, 1f, wx, h, inputs, i, 1f, hiddens.AsSpan(h * b), h)),
            ("tanh(Wh·h_{t-1} + a_t)", () =>
            {
                // As in the step: the activation runs in the product's epilogue.
                packed.Pack(false, wh, h);
                var tanh = default(TanhEpilogue<float>);
                for (int t = 0; t < steps; t++)
                {
                    Gemm.Multiply(
                        packed, false, b, 1f, hiddens.AsSpan(t * h * b, h * b), h, 1f, hiddens.AsSpan((t + 1) * h * b, h * b), h, ref tanh);
                }
            }),
            ("  of which Wh·h_{t-1}", () =>
            {
                // The same products without the epilogue, and the activation alone: how the phase above splits.
                packed.Pack(false, wh, h);
                for (int t = 0; t < steps; t++)
                {
                    Gemm.Multiply(packed, false, b, 1f, hiddens.AsSpan(t * h * b, h * b), h, 1f, outputsOfStep.AsSpan(0, h * b), h);
                }
            }),
            ("  of which tanh", () =>
            {
                for (int t = 0; t < steps; t++)
                {
                    TanhFunction.Forward<float>(hiddens.AsSpan((t + 1) * h * b, h * b));
                }
            }),
            ("Wy·H (all steps)", () => Gemm.Multiply(false, false, o, columns, h, 1f, wy, o, hiddens.AsSpan(h * b), h, 1f, logits, o)),
            ("softmax (log Σe^z, 1/Σ)", () => SoftmaxFunction.Forward<float>(logits, o, logSumExp, inverseSums, column)),
            ("softmax y (in dZ)", () => SoftmaxFunction.Outputs<float>(logits, inverseSums, o, outputs)),
            // BPTT's products run over its time chunks of about 1024 columns, last chunk first, summing the weight gradients.
            ("dWy = dZ·Hᵀ (chunks)", () => InChunks(steps, b, (start, n, beta) =>
                Gemm.Multiply(false, true, o, h, n, 1f, logits.AsSpan(start * o, o * n), o, hiddens.AsSpan((start + b) * h, h * n), h, beta, dwy, o))),
            ("Wyᵀ·dZ (chunks)", () => InChunks(steps, b, (start, n, _) =>
                Gemm.Multiply(true, false, h, n, o, 1f, wy, o, logits.AsSpan(start * o, o * n), o, 0f, deltas.AsSpan(start * h, h * n), h))),
            ("Whᵀ·δ_t (T steps)", () =>
            {
                packed.Pack(true, wh, h);
                for (int t = steps - 1; t >= 0; t--)
                {
                    Gemm.Multiply(packed, false, b, 1f, deltas.AsSpan(t * h * b, h * b), h, 0f, future, h);
                }
            }),
            ("tanh' (T steps)", () => TanhFunction.Backward<float>(hiddens.AsSpan(h * b, h * columns), deltas)),
            ("dWx = Δ·Xᵀ (chunks)", () => InChunks(steps, b, (start, n, beta) =>
                Gemm.Multiply(false, true, h, i, n, 1f, deltas.AsSpan(start * h, h * n), h, inputs.AsSpan(start * i, i * n), i, beta, dwx, h))),
            ("dWh = Δ·Hᵀ (chunks)", () => InChunks(steps, b, (start, n, beta) =>
                Gemm.Multiply(false, true, h, h, n, 1f, deltas.AsSpan(start * h, h * n), h, hiddens.AsSpan(start * h, h * n), h, beta, dwh, h))),
        };

        // The same four products over all T·B columns at once, as BPTT ran them before its time chunks: for comparison.
        var wholeSequence = new List<(string Name, Action Run)>
        {
            ("dWy = dZ·Hᵀ", () => Gemm.Multiply(false, true, o, h, columns, 1f, logits, o, hiddens.AsSpan(h * b), h, 0f, dwy, o)),
            ("Wyᵀ·dZ", () => Gemm.Multiply(true, false, h, columns, o, 1f, wy, o, logits, o, 0f, deltas, h)),
            ("dWx = Δ·Xᵀ", () => Gemm.Multiply(false, true, h, i, columns, 1f, deltas, h, inputs, i, 0f, dwx, h)),
            ("dWh = Δ·Hᵀ", () => Gemm.Multiply(false, true, h, h, columns, 1f, deltas, h, hiddens.AsSpan(0, h * columns), h, 0f, dwh, h)),
        };

        Console.WriteLine($"{c.Name}:");
        double total = 0;
        foreach ((string phase, Action run) in phases)
        {
            // Indented phases split the one above them and are not added to the sum.
            double median = Median(phase, run, iterations);
            total += phase.StartsWith(' ') ? 0 : median;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"sum of phases",-24} {total,9:F3}"));
        Console.WriteLine("  whole sequence at once (not in the sum):");
        foreach ((string phase, Action run) in wholeSequence)
        {
            Median(phase, run, iterations);
        }
    }

    /// <summary>Prints and returns the median time of <paramref name="run"/> in ms.</summary>
    private static double Median(string phase, Action run, int iterations)
    {
        // At least 0.5 s of warm-up, so that tiered compilation has promoted the phase's methods before timing.
        long warmupStart = Stopwatch.GetTimestamp();
        do
        {
            run();
        }
        while (Stopwatch.GetElapsedTime(warmupStart).TotalSeconds < 0.5);

        double[] ms = new double[iterations];
        for (int k = 0; k < iterations; k++)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            ms[k] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(ms);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {phase,-24} {ms[iterations / 2],9:F3}"));
        return ms[iterations / 2];
    }

    /// <summary>run(first column, columns, beta) for each of BPTT's time chunks, last first; beta is 0 for the first run.</summary>
    private static void InChunks(int steps, int batch, Action<int, int, float> run)
    {
        int chunks = Internal.TimeChunks.Count(steps, batch);
        for (int chunk = chunks - 1; chunk >= 0; chunk--)
        {
            int start = Internal.TimeChunks.Start(chunk, chunks, steps);
            int end = Internal.TimeChunks.Start(chunk + 1, chunks, steps);
            run(start * batch, (end - start) * batch, chunk == chunks - 1 ? 0f : 1f);
        }
    }
}
