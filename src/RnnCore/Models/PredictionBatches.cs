namespace RnnCore.Models;

/// <summary>
/// The batching behind prediction, shared by <see cref="RecurrentLayer{T}"/> and <see cref="RecurrentModel{T}"/>: the
/// sequences are taken in order of length, in batches of up to a batch size (so a batch pads little), each packed into
/// a fresh cache and run through the owner's inference forward pass; the outputs are read back in the callers' order.
/// </summary>
internal static class PredictionBatches<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    /// <summary>
    /// One batch's cache as the batching sees it: its [I, T·B] inputs (zeroed), its [T·B] token ids (allocated when first
    /// asked for), its [B] lengths, the output y of one column (t·B + b) written into an array of length O (rebuilt from
    /// the cached logits), and the owner's forward pass over it from zero states, told whether any sequence is padded and
    /// whether the batch holds ids.
    /// </summary>
    internal readonly record struct PredictionBatch(T[] Inputs, Func<int[]> Ids, int[] Lengths, Action<int, T[]> Output, Action<bool, bool> Forward);

    /// <summary>Each sequence's output at its own last step: y_{L_n}, of length O; createBatch(steps, batch) gives a fresh batch.</summary>
    internal static T[][] RunLast(
        IReadOnlyList<(T[] Inputs, int[]? Ids, int Length)> sequences, int batchSize, int inputSize, int outputSize, Func<int, int, PredictionBatch> createBatch)
    {
        int o = outputSize;
        var outputs = new T[sequences.Count][];
        Run(sequences, batchSize, inputSize, createBatch, (n, batch, b, j) =>
        {
            int t = sequences[n].Length - 1;
            outputs[n] = new T[o];
            batch.Output((t * b) + j, outputs[n]);
        });
        return outputs;
    }

    /// <summary>Each sequence's outputs at its real steps: L_n rows of length O; createBatch(steps, batch) gives a fresh batch.</summary>
    internal static T[][][] RunEveryStep(
        IReadOnlyList<(T[] Inputs, int[]? Ids, int Length)> sequences, int batchSize, int inputSize, int outputSize, Func<int, int, PredictionBatch> createBatch)
    {
        int o = outputSize;
        var outputs = new T[sequences.Count][][];
        Run(sequences, batchSize, inputSize, createBatch, (n, batch, b, j) =>
        {
            var rows = new T[sequences[n].Length][];
            for (int t = 0; t < rows.Length; t++)
            {
                rows[t] = new T[o];
                batch.Output((t * b) + j, rows[t]);
            }

            outputs[n] = rows;
        });
        return outputs;
    }

    /// <summary>
    /// The forward pass over every sequence, in batches of up to <paramref name="batchSize"/> sequences taken in order of
    /// length; then <paramref name="collect"/>(sequence index, batch, batch size, column) for each.
    /// </summary>
    private static void Run(
        IReadOnlyList<(T[] Inputs, int[]? Ids, int Length)> sequences, int batchSize, int inputSize, Func<int, int, PredictionBatch> createBatch,
        Action<int, PredictionBatch, int, int> collect)
    {
        int i = inputSize;
        int[] order = Enumerable.Range(0, sequences.Count).OrderBy(n => sequences[n].Length).ToArray();
        for (int start = 0; start < order.Length; start += batchSize)
        {
            ReadOnlySpan<int> members = order.AsSpan(start, Math.Min(batchSize, order.Length - start));
            int b = members.Length;
            int steps = sequences[members[b - 1]].Length; // the longest, as members are sorted by length
            PredictionBatch batch = createBatch(steps, b);
            bool tokens = sequences[members[0]].Ids is not null;
            int[] batchIds = tokens ? batch.Ids() : [];
            batchIds.AsSpan(0, tokens ? steps * b : 0).Fill(-1);
            bool padded = false;
            for (int j = 0; j < b; j++)
            {
                (T[] inputs, int[]? ids, int length) = sequences[members[j]];
                if ((ids is not null) != tokens)
                {
                    throw new ArgumentException("the sequences mix token ids and vectors; give one kind.", nameof(sequences));
                }

                for (int t = 0; t < length; t++)
                {
                    // x_t of sequence j is column j of the step-t block [I, B] (the padding stays 0); an id, entry t·B + j
                    // (the padding stays −1).
                    if (ids is not null)
                    {
                        batchIds[(t * b) + j] = ids[t];
                    }
                    else
                    {
                        inputs.AsSpan(t * i, i).CopyTo(batch.Inputs.AsSpan(((t * b) + j) * i, i));
                    }
                }

                batch.Lengths[j] = length;
                padded |= length < steps;
            }

            batch.Forward(padded, tokens);
            for (int j = 0; j < b; j++)
            {
                collect(members[j], batch, b, j);
            }
        }
    }
}
