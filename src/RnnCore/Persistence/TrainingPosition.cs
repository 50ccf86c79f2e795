namespace RnnCore.Persistence;

/// <summary>
/// Where a training run stands, for checkpoints: the epoch and batch it resumes at, and the state of the random
/// generator that shuffles or samples its data, so that a resumed run draws the same numbers as an uninterrupted one.
/// </summary>
/// <remarks>
/// RnnCore stores these numbers and gives them back unchanged; what they mean is up to the training loop that wrote
/// them (the convention RnnCore's own loops follow: <see cref="Epoch"/> and <see cref="Batch"/> are 0-based and name
/// the next batch to run). Two positions are equal when all their numbers are.
/// </remarks>
public sealed class TrainingPosition : IEquatable<TrainingPosition>
{
    /// <summary>The most words of random-generator state stored (xoshiro256** needs four).</summary>
    public const int MaxRandomStateLength = 16;

    private readonly ulong[] _randomState;

    /// <summary>Creates a position.</summary>
    /// <param name="epoch">The epoch to resume at; non-negative.</param>
    /// <param name="batch">The batch within that epoch to resume at; non-negative.</param>
    /// <param name="randomState">The random generator's state words (copied); at most <see cref="MaxRandomStateLength"/>. Null means none.</param>
    /// <exception cref="ArgumentOutOfRangeException">A number is negative, or there are too many state words.</exception>
    public TrainingPosition(long epoch, long batch, IReadOnlyList<ulong>? randomState = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        _randomState = randomState?.ToArray() ?? [];
        if (_randomState.Length > MaxRandomStateLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(randomState), _randomState.Length, $"randomState has {_randomState.Length} words; at most {MaxRandomStateLength} are stored.");
        }

        Epoch = epoch;
        Batch = batch;
    }

    /// <summary>The epoch to resume at.</summary>
    public long Epoch { get; }

    /// <summary>The batch within <see cref="Epoch"/> to resume at.</summary>
    public long Batch { get; }

    /// <summary>The random generator's state words (a copy is stored; this list cannot be changed).</summary>
    public IReadOnlyList<ulong> RandomState => Array.AsReadOnly(_randomState);

    /// <inheritdoc/>
    public bool Equals(TrainingPosition? other) =>
        other is not null && other.Epoch == Epoch && other.Batch == Batch && other._randomState.AsSpan().SequenceEqual(_randomState);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as TrainingPosition);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Epoch);
        hash.Add(Batch);
        foreach (ulong word in _randomState)
        {
            hash.Add(word);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"epoch {Epoch}, batch {Batch}, random state [{string.Join(", ", _randomState.Select(w => $"0x{w:X16}"))}]";
}
