namespace RnnCore;

/// <summary>How the loss terms are combined into one number, exactly as PyTorch's <c>reduction</c> argument.</summary>
public enum LossReduction
{
    /// <summary>The sum of every term: over scored steps, sequences of the batch, and (squared error, BCE) output units.</summary>
    Sum,

    /// <summary>
    /// PyTorch's default mean: cross-entropy divides the sum by the number of (step, sequence) items scored;
    /// binary cross-entropy and squared error divide by the number of scored elements (items × output size).
    /// </summary>
    Mean,
}
