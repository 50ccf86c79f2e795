using RnnCore.Models;

namespace RnnCore.Training;

/// <content>
/// Class prediction with the trained layer or model: <c>PredictLast</c> (in batches of <see cref="TrainerOptions.BatchSize"/>),
/// then the class its output stands for, as <see cref="RecurrentModel{T}.PredictClass(T[], double)"/>.
/// </content>
public sealed partial class Trainer<T>
{
    /// <summary>With <see cref="Model"/>: The class predicted for a univariate series (one value per step): its last output's most likely class for a softmax output, 1 when p ≥ <paramref name="threshold"/> (else 0) for a sigmoid of one output.</summary>
    /// <param name="series">The series x_1..x_L, L ≥ 1, finite; the network's input size must be 1.</param>
    /// <param name="threshold">The sigmoid's decision threshold, in (0, 1); unused for softmax. Default 0.5.</param>
    /// <returns>The class index: 0 to O − 1 for softmax, 0 or 1 for a sigmoid.</returns>
    /// <exception cref="InvalidOperationException">The output is an identity (values, not classes) or a sigmoid of several independent labels.</exception>
    /// <exception cref="ArgumentException">As <c>PredictLast</c>, or a threshold outside (0, 1).</exception>
    public int PredictClass(T[] series, double threshold = 0.5) => Classes(threshold).Of<T>(PredictLast(series));

    /// <summary>With <see cref="Model"/>: The class predicted for one sequence of steps × features, as <see cref="PredictClass(T[], double)"/>.</summary>
    /// <param name="steps">L ≥ 1 rows, row t being x_t; finite.</param>
    /// <param name="threshold">The sigmoid's decision threshold, in (0, 1); unused for softmax. Default 0.5.</param>
    /// <returns>The class index.</returns>
    /// <exception cref="InvalidOperationException">The output is an identity or a sigmoid of several labels.</exception>
    /// <exception cref="ArgumentException">As <c>PredictLast</c>, or a threshold outside (0, 1).</exception>
    public int PredictClass(T[][] steps, double threshold = 0.5) => Classes(threshold).Of<T>(PredictLast(steps));

    /// <summary>With <see cref="Model"/>: The class predicted for each of many sequences (steps × features each, any lengths), as <see cref="PredictClass(T[], double)"/>.</summary>
    /// <param name="sequences">N ≥ 1 sequences; lengths may differ.</param>
    /// <param name="threshold">The sigmoid's decision threshold, in (0, 1); unused for softmax. Default 0.5.</param>
    /// <returns>N class indices, in order.</returns>
    /// <exception cref="InvalidOperationException">The output is an identity or a sigmoid of several labels.</exception>
    /// <exception cref="ArgumentException">As <c>PredictLast</c>, or a threshold outside (0, 1).</exception>
    public int[] PredictClass(IReadOnlyList<T[][]> sequences, double threshold = 0.5) => Classes(threshold).Of(PredictLast(sequences));

    /// <summary>With <see cref="Model"/>: The class predicted for each sequence of a dataset (its targets are ignored), as <see cref="PredictClass(T[], double)"/>.</summary>
    /// <param name="sequences">A <see cref="SequenceDataset{T}"/>, or any list of <see cref="Sequence{T}"/>.</param>
    /// <param name="threshold">The sigmoid's decision threshold, in (0, 1); unused for softmax. Default 0.5.</param>
    /// <returns>N class indices, in order.</returns>
    /// <exception cref="InvalidOperationException">The output is an identity or a sigmoid of several labels.</exception>
    /// <exception cref="ArgumentException">As <c>PredictLast</c>, or a threshold outside (0, 1).</exception>
    public int[] PredictClass(IReadOnlyList<Sequence<T>> sequences, double threshold = 0.5) => Classes(threshold).Of(PredictLast(sequences));

    private ClassDecision Classes(double threshold) => ClassDecision.For(_network.OutputActivation, _network.OutputSize, threshold, Owner);
}
