using System.Collections;

namespace RnnCore.Training;

/// <summary>
/// An ordered collection of <see cref="Sequence{T}"/> examples of possibly different lengths, all with the same input
/// size and the same kind and size of target: what <see cref="Trainer{T}"/> trains and validates on.
/// </summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class SequenceDataset<T> : IReadOnlyList<Sequence<T>>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private readonly Sequence<T>[] _sequences;

    /// <summary>Creates a dataset; the sequences are shared, not copied (a sequence is immutable).</summary>
    /// <param name="sequences">At least one sequence; all with the same <see cref="Sequence{T}.InputSize"/>, target kind and target size.</param>
    /// <exception cref="ArgumentException">Empty, a null entry, or sequences that disagree (the message names the first one).</exception>
    public SequenceDataset(IEnumerable<Sequence<T>> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        _sequences = sequences.ToArray();
        if (_sequences.Length == 0)
        {
            throw new ArgumentException("sequences is empty; a dataset needs at least one sequence.", nameof(sequences));
        }

        Sequence<T> first = _sequences[0] ?? throw new ArgumentNullException(nameof(sequences), "sequences[0] is null.");
        for (int i = 1; i < _sequences.Length; i++)
        {
            Sequence<T> s = _sequences[i] ?? throw new ArgumentNullException(nameof(sequences), $"sequences[{i}] is null.");
            if (s.IsTokens != first.IsTokens)
            {
                throw new ArgumentException(
                    $"sequences[{i}] {(s.IsTokens ? "holds token ids" : "holds vectors")} but sequences[0] {(first.IsTokens ? "holds token ids" : "holds vectors")}; a dataset holds one kind.", nameof(sequences));
            }

            if (s.InputSize != first.InputSize || s.IsClasses != first.IsClasses || s.TargetSize != first.TargetSize)
            {
                throw new ArgumentException(
                    $"sequences[{i}] has input size {s.InputSize} and {(s.IsClasses ? "class" : $"size-{s.TargetSize} value")} targets, " +
                    $"but sequences[0] has input size {first.InputSize} and {(first.IsClasses ? "class" : $"size-{first.TargetSize} value")} targets.",
                    nameof(sequences));
            }
        }

        InputSize = first.InputSize;
        IsTokens = first.IsTokens;
        MaxId = IsTokens ? _sequences.Max(s => s.Ids!.Max()) : -1;
        IsClasses = first.IsClasses;
        TargetSize = first.TargetSize;
    }

    /// <summary>Number of sequences.</summary>
    public int Count => _sequences.Length;

    /// <summary>I, the input size of every sequence.</summary>
    public int InputSize { get; }

    /// <summary>True when the sequences hold token ids (<see cref="Sequence{T}.FromTokens(IReadOnlyList{int}, IReadOnlyList{int})"/>), not vectors.</summary>
    public bool IsTokens { get; }

    /// <summary>The largest token id of any sequence (−1 for vectors): what a network must read, checked once before training.</summary>
    internal int MaxId { get; }

    /// <summary>True when the targets are class indices.</summary>
    public bool IsClasses { get; }

    /// <summary>O, the length of each value target; 0 for class targets.</summary>
    public int TargetSize { get; }

    /// <summary>Sequence <paramref name="index"/>.</summary>
    /// <param name="index">0-based index.</param>
    public Sequence<T> this[int index] => _sequences[index];

    /// <inheritdoc/>
    public IEnumerator<Sequence<T>> GetEnumerator() => ((IEnumerable<Sequence<T>>)_sequences).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _sequences.GetEnumerator();
}
