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
        float[] inputs = Random(i * columns), hiddens = Random(h * (columns + b)), logits = Random(o * columns), outputs = new float[o * columns];
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
                    Tanh.Forward<float>(hiddens.AsSpan((t + 1) * h * b, h * b));
                }
            }),
            ("Wy·H (all steps)", () => Gemm.Multiply(false, false, o, columns, h, 1f, wy, o, hiddens.AsSpan(h * b), h, 1f, logits, o)),
            ("softmax", () => Softmax.Forward<float>(logits, outputs, o, logSumExp)),
            ("dWy = dZ·Hᵀ", () => Gemm.Multiply(false, true, o, h, columns, 1f, logits, o, hiddens.AsSpan(h * b), h, 0f, dwy, o)),
            ("Wyᵀ·dZ", () => Gemm.Multiply(true, false, h, columns, o, 1f, wy, o, logits, o, 0f, deltas, h)),
            ("Whᵀ·δ_t (T steps)", () =>
            {
                packed.Pack(true, wh, h);
                for (int t = steps - 1; t >= 0; t--)
                {
                    Gemm.Multiply(packed, false, b, 1f, deltas.AsSpan(t * h * b, h * b), h, 0f, future, h);
                }
            }),
            ("tanh' (T steps)", () => Tanh.Backward<float>(hiddens.AsSpan(h * b, h * columns), deltas)),
            ("dWx = Δ·Xᵀ", () => Gemm.Multiply(false, true, h, i, columns, 1f, deltas, h, inputs, i, 0f, dwx, h)),
            ("dWh = Δ·Hᵀ", () => Gemm.Multiply(false, true, h, h, columns, 1f, deltas, h, hiddens.AsSpan(0, h * columns), h, 0f, dwh, h)),
        };

        Console.WriteLine($"{c.Name}:");
        double total = 0;
        foreach ((string phase, Action run) in phases)
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
            total += phase.StartsWith(' ') ? 0 : ms[iterations / 2];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {phase,-24} {ms[iterations / 2],9:F3}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"sum of phases",-24} {total,9:F3}"));
    }
}
