using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;

namespace RnnCore.Training;

/// <content>
/// Prediction with the trained layer or model (an inference pass: no dropout), straight from inputs to outputs: the same overloads as
/// <see cref="RecurrentModel{T}.PredictLast(T[][])"/> and <see cref="RecurrentModel{T}.PredictEveryStep(T[][])"/>, with
/// many sequences run in batches of <see cref="TrainerOptions.BatchSize"/>. Each sequence starts from h_0 = 0 (also in
/// stateful mode: prediction carries no state between calls).
/// </content>
public sealed partial class Trainer<T>
{
    /// <summary>With <see cref="Model"/>: the output y_L at the last step of a univariate series (one value per step; requires <see cref="RecurrentModel{T}.InputSize"/> = 1).</summary>
    /// <param name="series">The series x_1..x_L, L ≥ 1, finite.</param>
    /// <returns>y_L, of length <see cref="RecurrentModel{T}.OutputSize"/> (class probabilities for softmax).</returns>
    /// <exception cref="ArgumentException">The layer's input size is not 1, the series is empty, or a value is NaN or infinite.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[] PredictLast(T[] series) => Model.PredictLast(series);

    /// <summary>With <see cref="Model"/>: the output y_L at the last step of one sequence given as steps × features.</summary>
    /// <param name="steps">L ≥ 1 rows, row t being x_t of length <see cref="RecurrentModel{T}.InputSize"/>; finite.</param>
    /// <returns>y_L, of length <see cref="RecurrentModel{T}.OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">Empty, a row of another length than <see cref="RecurrentModel{T}.InputSize"/> (the message names it), or a NaN or infinity.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[] PredictLast(T[][] steps) => Model.PredictLast(steps);

    /// <summary>With <see cref="Model"/>: the output y_L at the last step of one sequence given as a steps × features array.</summary>
    /// <param name="steps">L x <see cref="RecurrentModel{T}.InputSize"/>, row t being x_t; finite.</param>
    /// <returns>y_L, of length <see cref="RecurrentModel{T}.OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">No rows, another number of columns than <see cref="RecurrentModel{T}.InputSize"/>, or a NaN or infinity.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[] PredictLast(T[,] steps) => Model.PredictLast(steps);

    /// <summary>With <see cref="Model"/>: the output y_L at the last step of one sequence of MathNet vectors.</summary>
    /// <param name="sequence">L ≥ 1 vectors x_t of length <see cref="RecurrentModel{T}.InputSize"/>; finite.</param>
    /// <returns>y_L as a vector of length <see cref="RecurrentModel{T}.OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">Empty, a vector of another length than <see cref="RecurrentModel{T}.InputSize"/>, or a NaN or infinity.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public Vector<T> PredictLast(IReadOnlyList<Vector<T>> sequence) => Model.PredictLast(sequence);

    /// <summary>With <see cref="Model"/>, in batches of <see cref="TrainerOptions.BatchSize"/> sequences: the output at each sequence's own last step, for sequences of any lengths (steps × features each).</summary>
    /// <param name="sequences">N ≥ 1 sequences, each as in <see cref="RecurrentModel{T}.PredictLast(T[][])"/>; lengths may differ.</param>
    /// <returns>N outputs, in the order of <paramref name="sequences"/>, each of length <see cref="RecurrentModel{T}.OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">No sequences, or a sequence is empty, ragged or not finite (the message names it).</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][] PredictLast(IReadOnlyList<T[][]> sequences) =>
        Model.RunLast(Model.FromMany(sequences, nameof(sequences), Model.FromRows), Options.BatchSize);

    /// <summary>With <see cref="Model"/>, in batches of <see cref="TrainerOptions.BatchSize"/> sequences: the output at each sequence's own last step, for sequences of MathNet vectors of any lengths.</summary>
    /// <param name="sequences">N ≥ 1 sequences of vectors of length <see cref="RecurrentModel{T}.InputSize"/>; lengths may differ.</param>
    /// <returns>N outputs, in order, each a vector of length <see cref="RecurrentModel{T}.OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">No sequences, or a sequence is empty, ragged or not finite.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public Vector<T>[] PredictLast(IReadOnlyList<IReadOnlyList<Vector<T>>> sequences) =>
        Model.RunLast(Model.FromMany(sequences, nameof(sequences), Model.FromVectors), Options.BatchSize).Select(y => Vector<T>.Build.Dense(y)).ToArray();

    /// <summary>With <see cref="Model"/>, in batches of <see cref="TrainerOptions.BatchSize"/> sequences: the output at each sequence's own last step for the inputs of a dataset (targets are ignored), e.g. a validation set.</summary>
    /// <param name="sequences">A <see cref="SequenceDataset{T}"/>, or any list of <see cref="Sequence{T}"/>, with the layer's input size.</param>
    /// <returns>N outputs, in order, each of length <see cref="RecurrentModel{T}.OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">No sequences, a null entry, or an input size other than <see cref="RecurrentModel{T}.InputSize"/>.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][] PredictLast(IReadOnlyList<Sequence<T>> sequences) =>
        Model.RunLast(Model.FromMany(sequences, nameof(sequences), Model.FromSequence), Options.BatchSize);

    /// <summary>With <see cref="Model"/>: the output y_t at every step of a univariate series (requires <see cref="RecurrentModel{T}.InputSize"/> = 1).</summary>
    /// <param name="series">The series x_1..x_L, L ≥ 1, finite.</param>
    /// <returns>L rows, row t being y_t of length <see cref="RecurrentModel{T}.OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">The layer's input size is not 1, the series is empty, or a value is NaN or infinite.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][] PredictEveryStep(T[] series) => Model.PredictEveryStep(series);

    /// <summary>With <see cref="Model"/>: the output y_t at every step of one sequence given as steps × features.</summary>
    /// <param name="steps">L ≥ 1 rows of length <see cref="RecurrentModel{T}.InputSize"/>; finite.</param>
    /// <returns>L rows, row t being y_t of length <see cref="RecurrentModel{T}.OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">Empty, a row of another length than <see cref="RecurrentModel{T}.InputSize"/>, or a NaN or infinity.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][] PredictEveryStep(T[][] steps) => Model.PredictEveryStep(steps);

    /// <summary>With <see cref="Model"/>: the output y_t at every step of one sequence given as a steps × features array.</summary>
    /// <param name="steps">L x <see cref="RecurrentModel{T}.InputSize"/>; finite.</param>
    /// <returns>L rows, row t being y_t of length <see cref="RecurrentModel{T}.OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">No rows, another number of columns than <see cref="RecurrentModel{T}.InputSize"/>, or a NaN or infinity.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][] PredictEveryStep(T[,] steps) => Model.PredictEveryStep(steps);

    /// <summary>With <see cref="Model"/>: the output y_t at every step of one sequence of MathNet vectors.</summary>
    /// <param name="sequence">L ≥ 1 vectors of length <see cref="RecurrentModel{T}.InputSize"/>; finite.</param>
    /// <returns>L vectors y_t of length <see cref="RecurrentModel{T}.OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">Empty, a vector of another length than <see cref="RecurrentModel{T}.InputSize"/>, or a NaN or infinity.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public Vector<T>[] PredictEveryStep(IReadOnlyList<Vector<T>> sequence) => Model.PredictEveryStep(sequence);

    /// <summary>With <see cref="Model"/>, in batches of <see cref="TrainerOptions.BatchSize"/> sequences: the output at every real step of sequences of any lengths (steps × features each); nothing is returned for padding.</summary>
    /// <param name="sequences">N ≥ 1 sequences; lengths may differ.</param>
    /// <returns>N entries in order; entry n has one row y_t per step of sequence n.</returns>
    /// <exception cref="ArgumentException">No sequences, or a sequence is empty, ragged or not finite.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][][] PredictEveryStep(IReadOnlyList<T[][]> sequences) =>
        Model.RunEveryStep(Model.FromMany(sequences, nameof(sequences), Model.FromRows), Options.BatchSize);

    /// <summary>With <see cref="Model"/>, in batches of <see cref="TrainerOptions.BatchSize"/> sequences: the output at every real step of sequences of MathNet vectors of any lengths.</summary>
    /// <param name="sequences">N ≥ 1 sequences; lengths may differ.</param>
    /// <returns>N entries in order; entry n has one vector y_t per step of sequence n.</returns>
    /// <exception cref="ArgumentException">No sequences, or a sequence is empty, ragged or not finite.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public Vector<T>[][] PredictEveryStep(IReadOnlyList<IReadOnlyList<Vector<T>>> sequences) =>
        Model.RunEveryStep(Model.FromMany(sequences, nameof(sequences), Model.FromVectors), Options.BatchSize)
            .Select(rows => rows.Select(y => Vector<T>.Build.Dense(y)).ToArray()).ToArray();

    /// <summary>With <see cref="Model"/>, in batches of <see cref="TrainerOptions.BatchSize"/> sequences: the output at every real step for the inputs of a dataset (targets are ignored).</summary>
    /// <param name="sequences">A <see cref="SequenceDataset{T}"/>, or any list of <see cref="Sequence{T}"/>, with the layer's input size.</param>
    /// <returns>N entries in order; entry n has one row y_t per step of sequence n.</returns>
    /// <exception cref="ArgumentException">No sequences, a null entry, or an input size other than <see cref="RecurrentModel{T}.InputSize"/>.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][][] PredictEveryStep(IReadOnlyList<Sequence<T>> sequences) =>
        Model.RunEveryStep(Model.FromMany(sequences, nameof(sequences), Model.FromSequence), Options.BatchSize);
}
