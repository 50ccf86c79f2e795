using MathNet.Numerics.LinearAlgebra;
using RnnCore.Training;

namespace RnnCore.Models;

// Prediction with any network (a RecurrentLayer too): from inputs straight to outputs, with no cache and
// no padding by the caller; an inference pass (no dropout) from zero initial states, in batches of similar lengths.
public partial class RecurrentModel<T>
{
    /// <summary>How many sequences one forward pass of <c>PredictLast</c> / <c>PredictEveryStep</c> holds.</summary>
    internal const int PredictionBatchSize = 64;

    /// <summary>The output y_L at the last step of a univariate series (one value per step; requires <see cref="InputSize"/> = 1).</summary>
    /// <param name="series">The series x_1..x_L, L ≥ 1, finite.</param>
    /// <returns>y_L, of length <see cref="OutputSize"/> (class probabilities for softmax).</returns>
    /// <exception cref="ArgumentException">The model's input size is not 1, the series is empty, or a value is NaN or infinite.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[] PredictLast(T[] series) => RunLast([FromSeries(series, nameof(series), -1)], PredictionBatchSize)[0];

    /// <summary>The output y_L at the last step of one sequence given as steps × features.</summary>
    /// <param name="steps">L ≥ 1 rows, row t being x_t of length <see cref="InputSize"/>; finite.</param>
    /// <returns>y_L, of length <see cref="OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">Empty, a row of another length than <see cref="InputSize"/> (the message names it), or a NaN or infinity.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[] PredictLast(T[][] steps) => RunLast([FromRows(steps, nameof(steps), -1)], PredictionBatchSize)[0];

    /// <summary>The output y_L at the last step of one sequence given as a steps × features array.</summary>
    /// <param name="steps">L x <see cref="InputSize"/>, row t being x_t; finite.</param>
    /// <returns>y_L, of length <see cref="OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">No rows, another number of columns than <see cref="InputSize"/>, or a NaN or infinity.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[] PredictLast(T[,] steps) => RunLast([FromArray(steps, nameof(steps))], PredictionBatchSize)[0];

    /// <summary>The output y_L at the last step of one sequence of MathNet vectors.</summary>
    /// <param name="sequence">L ≥ 1 vectors x_t of length <see cref="InputSize"/>; finite.</param>
    /// <returns>y_L as a vector of length <see cref="OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">Empty, a vector of another length than <see cref="InputSize"/>, or a NaN or infinity.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public Vector<T> PredictLast(IReadOnlyList<Vector<T>> sequence) =>
        Vector<T>.Build.Dense(RunLast([FromVectors(sequence, nameof(sequence), -1)], PredictionBatchSize)[0]);

    /// <summary>The output at each sequence's own last step, for sequences of any lengths (steps × features each).</summary>
    /// <param name="sequences">N ≥ 1 sequences, each as in <see cref="PredictLast(T[][])"/>; lengths may differ.</param>
    /// <returns>N outputs, in the order of <paramref name="sequences"/>, each of length <see cref="OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">No sequences, or a sequence is empty, ragged or not finite (the message names it).</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][] PredictLast(IReadOnlyList<T[][]> sequences) => RunLast(FromMany(sequences, nameof(sequences), FromRows), PredictionBatchSize);

    /// <summary>The output at each sequence's own last step, for sequences of MathNet vectors of any lengths.</summary>
    /// <param name="sequences">N ≥ 1 sequences of vectors of length <see cref="InputSize"/>; lengths may differ.</param>
    /// <returns>N outputs, in order, each a vector of length <see cref="OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">No sequences, or a sequence is empty, ragged or not finite.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public Vector<T>[] PredictLast(IReadOnlyList<IReadOnlyList<Vector<T>>> sequences) =>
        RunLast(FromMany(sequences, nameof(sequences), FromVectors), PredictionBatchSize).Select(y => Vector<T>.Build.Dense(y)).ToArray();

    /// <summary>The output at each sequence's own last step for the inputs of a dataset (targets are ignored), e.g. a validation set.</summary>
    /// <param name="sequences">A <see cref="SequenceDataset{T}"/>, or any list of <see cref="Sequence{T}"/>, with the model's input size.</param>
    /// <returns>N outputs, in order, each of length <see cref="OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">No sequences, a null entry, or an input size other than <see cref="InputSize"/>.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][] PredictLast(IReadOnlyList<Sequence<T>> sequences) => RunLast(FromMany(sequences, nameof(sequences), FromSequence), PredictionBatchSize);

    /// <summary>The output y_t at every step of a univariate series (requires <see cref="InputSize"/> = 1).</summary>
    /// <param name="series">The series x_1..x_L, L ≥ 1, finite.</param>
    /// <returns>L rows, row t being y_t of length <see cref="OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">The model's input size is not 1, the series is empty, or a value is NaN or infinite.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][] PredictEveryStep(T[] series) => RunEveryStep([FromSeries(series, nameof(series), -1)], PredictionBatchSize)[0];

    /// <summary>The output y_t at every step of one sequence given as steps × features.</summary>
    /// <param name="steps">L ≥ 1 rows of length <see cref="InputSize"/>; finite.</param>
    /// <returns>L rows, row t being y_t of length <see cref="OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">Empty, a row of another length than <see cref="InputSize"/>, or a NaN or infinity.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][] PredictEveryStep(T[][] steps) => RunEveryStep([FromRows(steps, nameof(steps), -1)], PredictionBatchSize)[0];

    /// <summary>The output y_t at every step of one sequence given as a steps × features array.</summary>
    /// <param name="steps">L x <see cref="InputSize"/>; finite.</param>
    /// <returns>L rows, row t being y_t of length <see cref="OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">No rows, another number of columns than <see cref="InputSize"/>, or a NaN or infinity.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][] PredictEveryStep(T[,] steps) => RunEveryStep([FromArray(steps, nameof(steps))], PredictionBatchSize)[0];

    /// <summary>The output y_t at every step of one sequence of MathNet vectors.</summary>
    /// <param name="sequence">L ≥ 1 vectors of length <see cref="InputSize"/>; finite.</param>
    /// <returns>L vectors y_t of length <see cref="OutputSize"/>.</returns>
    /// <exception cref="ArgumentException">Empty, a vector of another length than <see cref="InputSize"/>, or a NaN or infinity.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public Vector<T>[] PredictEveryStep(IReadOnlyList<Vector<T>> sequence) =>
        RunEveryStep([FromVectors(sequence, nameof(sequence), -1)], PredictionBatchSize)[0].Select(y => Vector<T>.Build.Dense(y)).ToArray();

    /// <summary>The output at every real step of sequences of any lengths (steps × features each); nothing is returned for padding.</summary>
    /// <param name="sequences">N ≥ 1 sequences; lengths may differ.</param>
    /// <returns>N entries in order; entry n has one row y_t per step of sequence n.</returns>
    /// <exception cref="ArgumentException">No sequences, or a sequence is empty, ragged or not finite.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][][] PredictEveryStep(IReadOnlyList<T[][]> sequences) => RunEveryStep(FromMany(sequences, nameof(sequences), FromRows), PredictionBatchSize);

    /// <summary>The output at every real step of sequences of MathNet vectors of any lengths.</summary>
    /// <param name="sequences">N ≥ 1 sequences; lengths may differ.</param>
    /// <returns>N entries in order; entry n has one vector y_t per step of sequence n.</returns>
    /// <exception cref="ArgumentException">No sequences, or a sequence is empty, ragged or not finite.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public Vector<T>[][] PredictEveryStep(IReadOnlyList<IReadOnlyList<Vector<T>>> sequences) =>
        RunEveryStep(FromMany(sequences, nameof(sequences), FromVectors), PredictionBatchSize)
            .Select(rows => rows.Select(y => Vector<T>.Build.Dense(y)).ToArray()).ToArray();

    /// <summary>The output at every real step for the inputs of a dataset (targets are ignored).</summary>
    /// <param name="sequences">A <see cref="SequenceDataset{T}"/>, or any list of <see cref="Sequence{T}"/>, with the model's input size.</param>
    /// <returns>N entries in order; entry n has one row y_t per step of sequence n.</returns>
    /// <exception cref="ArgumentException">No sequences, a null entry, or an input size other than <see cref="InputSize"/>.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produce a NaN or infinity on this input.</exception>
    public T[][][] PredictEveryStep(IReadOnlyList<Sequence<T>> sequences) => RunEveryStep(FromMany(sequences, nameof(sequences), FromSequence), PredictionBatchSize);

    /// <summary>Each sequence's output at its own last step: y_{L_n}, of length O.</summary>
    internal T[][] RunLast(IReadOnlyList<(T[] Inputs, int[]? Ids, int Length)> sequences, int batchSize) =>
        PredictionBatches<T>.RunLast(sequences, batchSize, InputSize, OutputSize, CreatePredictionBatch);

    /// <summary>Each sequence's outputs at its real steps: L_n rows of length O.</summary>
    internal T[][][] RunEveryStep(IReadOnlyList<(T[] Inputs, int[]? Ids, int Length)> sequences, int batchSize) =>
        PredictionBatches<T>.RunEveryStep(sequences, batchSize, InputSize, OutputSize, CreatePredictionBatch);

    /// <summary>Converts each of many sequences with <paramref name="convert"/>, naming it <c>paramName[n]</c> in messages.</summary>
    internal (T[] Inputs, int[]? Ids, int Length)[] FromMany<TSequence>(
        IReadOnlyList<TSequence> sequences, string paramName, Func<TSequence, string, int, (T[] Inputs, int[]? Ids, int Length)> convert) =>
        PredictionInputs<T>.FromMany(sequences, paramName, convert);

    internal (T[] Inputs, int[]? Ids, int Length) FromSeries(T[] series, string paramName, int index) => Inputs.FromSeries(series, paramName, index);

    internal (T[] Inputs, int[]? Ids, int Length) FromRows(T[][] steps, string paramName, int index) => Inputs.FromRows(steps, paramName, index);

    internal (T[] Inputs, int[]? Ids, int Length) FromArray(T[,] steps, string paramName) => Inputs.FromArray(steps, paramName);

    internal (T[] Inputs, int[]? Ids, int Length) FromVectors(IReadOnlyList<Vector<T>> sequence, string paramName, int index) => Inputs.FromVectors(sequence, paramName, index);

    internal (T[] Inputs, int[]? Ids, int Length) FromSequence(Sequence<T> sequence, string paramName, int index) => Inputs.FromSequence(sequence, paramName, index);

    /// <summary>
    /// A fresh cache for one prediction batch, run through the inference forward pass (no dropout) from zero states. The
    /// parameters and the dropout generator are only read.
    /// </summary>
    private PredictionBatches<T>.PredictionBatch CreatePredictionBatch(int steps, int batch)
    {
        ForwardCache<T> cache = CreateCache(steps, batch);
        return new(cache.Inputs, cache.EnsureIds, cache.Lengths, (column, output) => cache.OutputColumns(column, 1, output), (padded, tokens) =>
        {
            if (!tokens)
            {
                RequireDenseInput("inputs");
            }

            cache.IdInput = tokens;
            cache.HasLengths = padded;
            CopyStates(cache, null, null);
            ForwardCore(cache, dropout: false);
        });
    }

    private PredictionInputs<T> Inputs => new(InputSize, IdCount, Noun);
}
