using MathNet.Numerics.LinearAlgebra;

namespace RnnCore.Samples.AddingProblem;

/// <summary>
/// The adding problem (Hochreiter and Schmidhuber 1997, in the form of Le, Jaitly and Hinton 2015): at each of T steps
/// the input is a pair (value ~ U(0, 1), marker ∈ {0, 1}); exactly two steps are marked, one in each half of the
/// sequence; the target, read at the last step, is the sum of the two marked values. Predicting the mean sum 1 whatever
/// the input gives a mean squared error of Var(U1 + U2) = 2/12 ≈ 0.167: the baseline a model must beat, and it can
/// only do so by carrying a value across up to T steps.
/// </summary>
public static class AddingData
{
    public const double Baseline = 2.0 / 12.0;

    /// <summary>A batch of B sequences: T inputs of 2 x B and the targets (1 x B, last step only).</summary>
    public static (List<Matrix<float>> Inputs, SequenceTargets<float> Targets) Batch(int steps, int batch, SampleRandom random)
    {
        if (steps < 2)
        {
            throw new SampleException($"--steps must be at least 2 (one marked value in each half), but was {steps}.");
        }

        List<Matrix<float>> inputs = Enumerable.Range(0, steps).Select(_ => Matrix<float>.Build.Dense(2, batch)).ToList();
        Matrix<float> sums = Matrix<float>.Build.Dense(1, batch);
        int half = steps / 2;
        for (int b = 0; b < batch; b++)
        {
            int first = random.NextInt(half);
            int second = half + random.NextInt(steps - half);
            for (int t = 0; t < steps; t++)
            {
                inputs[t][0, b] = (float)random.NextDouble();
            }

            inputs[first][1, b] = 1;
            inputs[second][1, b] = 1;
            sums[0, b] = inputs[first][0, b] + inputs[second][0, b];
        }

        return (inputs, SequenceTargets<float>.FromValues([sums]));
    }
}
