using System.Numerics;

namespace RnnCore;

/// <summary>
/// An ordered list of named, flat tensors: a model's trainable parameters, or their gradients, in a fixed order.
/// Optimizers and gradient clipping work on this and know nothing about layers.
/// </summary>
/// <remarks>
/// The tensors are views, not copies: a <see cref="TensorSet{T}"/> built by <see cref="Models.RecurrentLayer{T}"/> writes straight
/// into the layer's live MathNet storage (column-major for matrices). Two sets are compatible when they have the same
/// count and the same length at every index (<see cref="RequireSameShape"/>).
/// Reading is thread-safe; writing through <see cref="this[int]"/> is not synchronised.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class TensorSet<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly string[] _names;
    private readonly Memory<T>[] _tensors;

    /// <summary>Creates a set over existing memory (no copy).</summary>
    /// <param name="names">One name per tensor, e.g. <c>"Wx"</c>.</param>
    /// <param name="tensors">One block of memory per tensor, in the same order as <paramref name="names"/>.</param>
    /// <exception cref="ArgumentException">The two lists differ in length, or a name is null or empty.</exception>
    public TensorSet(IReadOnlyList<string> names, IReadOnlyList<Memory<T>> tensors)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(tensors);
        if (names.Count != tensors.Count)
        {
            throw new ArgumentException(
                $"names has {names.Count} entries but tensors has {tensors.Count}; expected one name per tensor.", nameof(names));
        }

        _names = new string[names.Count];
        _tensors = new Memory<T>[tensors.Count];
        for (int i = 0; i < _names.Length; i++)
        {
            if (string.IsNullOrEmpty(names[i]))
            {
                throw new ArgumentException($"names[{i}] is null or empty; every tensor needs a name.", nameof(names));
            }

            _names[i] = names[i];
            _tensors[i] = tensors[i];
        }
    }

    /// <summary>Number of tensors.</summary>
    public int Count => _tensors.Length;

    /// <summary>Total number of elements over all tensors.</summary>
    public long TotalLength
    {
        get
        {
            long total = 0;
            foreach (Memory<T> tensor in _tensors)
            {
                total += tensor.Length;
            }

            return total;
        }
    }

    /// <summary>The elements of tensor <paramref name="index"/>, writable, in storage order.</summary>
    /// <param name="index">0-based tensor index.</param>
    public Span<T> this[int index] => _tensors[index].Span;

    /// <summary>The memory of tensor <paramref name="index"/> (for views over the same storage).</summary>
    internal Memory<T> Memory(int index) => _tensors[index];

    /// <summary>The name of tensor <paramref name="index"/>.</summary>
    /// <param name="index">0-based tensor index.</param>
    public string GetName(int index) => _names[index];

    /// <summary>The number of elements of tensor <paramref name="index"/>.</summary>
    /// <param name="index">0-based tensor index.</param>
    public int GetLength(int index) => _tensors[index].Length;

    /// <summary>
    /// The global L2 norm over every element of every tensor, <c>sqrt(Σ x²)</c>, accumulated in double.
    /// This is the norm PyTorch's <c>clip_grad_norm_</c> measures. Finite values always give a finite norm: when the plain
    /// sum of squares overflows (|x| above about 1e154), it is recomputed scaled by the largest magnitude.
    /// </summary>
    public double L2Norm()
    {
        double sumOfSquares = 0;
        foreach (Memory<T> tensor in _tensors)
        {
            foreach (T x in tensor.Span)
            {
                double v = double.CreateTruncating(x);
                sumOfSquares += v * v;
            }
        }

        if (double.IsFinite(sumOfSquares) && (sumOfSquares == 0 || sumOfSquares > 1e-290))
        {
            return Math.Sqrt(sumOfSquares);
        }

        // Overflow or underflow of the squares: scale by the largest magnitude (NaN and infinity are returned as such).
        double scale = 0;
        foreach (Memory<T> tensor in _tensors)
        {
            foreach (T x in tensor.Span)
            {
                double magnitude = Math.Abs(double.CreateTruncating(x));
                if (!double.IsFinite(magnitude))
                {
                    return magnitude;
                }

                scale = Math.Max(scale, magnitude);
            }
        }

        double scaled = 0;
        foreach (Memory<T> tensor in _tensors)
        {
            foreach (T x in tensor.Span)
            {
                double v = double.CreateTruncating(x) / scale;
                scaled += v * v;
            }
        }

        return scale * Math.Sqrt(scaled);
    }

    /// <summary>Sets every element of every tensor to zero.</summary>
    public void Clear()
    {
        foreach (Memory<T> tensor in _tensors)
        {
            tensor.Span.Clear();
        }
    }

    /// <summary>
    /// Throws unless <paramref name="other"/> has the same number of tensors, with the same length at each index.
    /// </summary>
    /// <param name="other">The set to compare with (e.g. gradients against parameters).</param>
    /// <param name="paramName">The argument name to report, usually <c>nameof(gradients)</c>.</param>
    /// <exception cref="ArgumentException">The shapes differ; the message names the first difference.</exception>
    public void RequireSameShape(TensorSet<T> other, string paramName)
    {
        ArgumentNullException.ThrowIfNull(other, paramName);
        if (other.Count != Count)
        {
            throw new ArgumentException(
                $"{paramName} has {other.Count} tensors but {Count} were expected ({string.Join(", ", _names)}).", paramName);
        }

        for (int i = 0; i < Count; i++)
        {
            if (other.GetLength(i) != GetLength(i))
            {
                throw new ArgumentException(
                    $"{paramName}[{i}] ('{other.GetName(i)}') has {other.GetLength(i)} elements but '{GetName(i)}' has {GetLength(i)}.",
                    paramName);
            }
        }
    }
}
