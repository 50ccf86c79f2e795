using System.Numerics;

namespace RnnCore.Optimizers;

/// <summary>
/// A deep copy of an optimizer's state at one moment: which optimizer it belongs to, its step count, its current
/// learning rate and its per-tensor buffers (momentum, squared-gradient averages, AMSGrad maxima). Captured with
/// <see cref="OptimizerBase{T}.CaptureState"/>, stored in a checkpoint by <see cref="Persistence.ModelFile"/>, and put
/// back with <see cref="OptimizerBase{T}.RestoreState"/>, so that a resumed run continues bit for bit.
/// </summary>
/// <remarks>
/// The hyper-parameters other than the learning rate (betas, momentum, eps, ...) are not part of the state: the optimizer
/// that receives it must be constructed with the same options. The kind of optimizer and the number of buffers per
/// tensor (which depends on options such as momentum, centered or AMSGrad) are checked on restore.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class OptimizerState<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The longest <see cref="OptimizerName"/> accepted (a bound the file loader relies on).</summary>
    public const int MaxNameLength = 64;

    /// <summary>The most buffers per tensor accepted (RMSprop, centered with momentum, keeps three).</summary>
    public const int MaxBuffersPerTensor = 8;

    // Tensor-major, as OptimizerBase holds them: buffer `slot` of tensor `i` is _buffers[i * BuffersPerTensor + slot].
    private readonly T[][] _buffers;
    private readonly int[] _tensorLengths;

    /// <summary>Creates a state from its parts; the buffers are copied.</summary>
    /// <param name="optimizerName">The optimizer's kind, e.g. <c>"AdamOptimizer"</c> (see <see cref="OptimizerName"/>).</param>
    /// <param name="stepCount">Completed steps; 0 when the optimizer has not stepped yet (then there are no buffers).</param>
    /// <param name="learningRate">The learning rate at capture; non-negative and finite.</param>
    /// <param name="buffersPerTensor">Buffers the optimizer keeps per tensor, 0 to <see cref="MaxBuffersPerTensor"/>.</param>
    /// <param name="tensorLengths">The length of every parameter tensor the buffers were built for; empty when there are no buffers.</param>
    /// <param name="buffers">Tensor-major buffers: <c>tensorLengths.Count · buffersPerTensor</c> arrays, buffer <c>slot</c> of tensor <c>i</c> at <c>i · buffersPerTensor + slot</c>, each as long as its tensor.</param>
    /// <exception cref="ArgumentException">The parts are inconsistent; the message says which.</exception>
    public OptimizerState(
        string optimizerName,
        long stepCount,
        double learningRate,
        int buffersPerTensor,
        IReadOnlyList<int> tensorLengths,
        IReadOnlyList<T[]> buffers)
    {
        ArgumentException.ThrowIfNullOrEmpty(optimizerName);
        ArgumentNullException.ThrowIfNull(tensorLengths);
        ArgumentNullException.ThrowIfNull(buffers);
        if (optimizerName.Length > MaxNameLength)
        {
            throw new ArgumentException($"optimizerName has {optimizerName.Length} characters; at most {MaxNameLength} are allowed.", nameof(optimizerName));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        if (!double.IsFinite(learningRate) || learningRate < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, $"learningRate must be non-negative and finite, but was {learningRate}.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(buffersPerTensor);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(buffersPerTensor, MaxBuffersPerTensor);
        if (buffers.Count != tensorLengths.Count * buffersPerTensor)
        {
            throw new ArgumentException(
                $"buffers has {buffers.Count} arrays but {tensorLengths.Count} tensors x {buffersPerTensor} buffers per tensor were expected.",
                nameof(buffers));
        }

        if (stepCount == 0 && tensorLengths.Count != 0)
        {
            throw new ArgumentException("an optimizer that has not stepped has no buffers, but tensorLengths is not empty.", nameof(tensorLengths));
        }

        _tensorLengths = tensorLengths.ToArray();
        _buffers = new T[buffers.Count][];
        for (int k = 0; k < buffers.Count; k++)
        {
            int tensor = k / buffersPerTensor;
            if (buffers[k] is null || buffers[k].Length != _tensorLengths[tensor])
            {
                throw new ArgumentException(
                    $"buffers[{k}] has {buffers[k]?.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} elements but tensor {tensor} has {_tensorLengths[tensor]}.",
                    nameof(buffers));
            }

            _buffers[k] = (T[])buffers[k].Clone();
        }

        OptimizerName = optimizerName;
        StepCount = stepCount;
        LearningRate = learningRate;
        BuffersPerTensor = buffersPerTensor;
    }

    /// <summary>The optimizer's kind: its type name without the generic suffix, e.g. <c>"SgdOptimizer"</c>.</summary>
    public string OptimizerName { get; }

    /// <summary>Completed steps (<see cref="IOptimizer{T}.StepCount"/>), which drives Adam's bias correction and SGD's first step.</summary>
    public long StepCount { get; }

    /// <summary>The learning rate at capture, so that a schedule's current value is restored too.</summary>
    public double LearningRate { get; }

    /// <summary>Buffers the optimizer keeps per tensor.</summary>
    public int BuffersPerTensor { get; }

    /// <summary>The length of every parameter tensor the buffers were built for; empty before the first step.</summary>
    public IReadOnlyList<int> TensorLengths => _tensorLengths;

    /// <summary>Buffer <paramref name="slot"/> of tensor <paramref name="tensorIndex"/>, read-only.</summary>
    /// <param name="tensorIndex">0-based tensor index, below <c>TensorLengths.Count</c>.</param>
    /// <param name="slot">0-based buffer index, below <see cref="BuffersPerTensor"/>.</param>
    public ReadOnlySpan<T> Buffer(int tensorIndex, int slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tensorIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(tensorIndex, _tensorLengths.Length);
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, BuffersPerTensor);
        return _buffers[(tensorIndex * BuffersPerTensor) + slot];
    }

    /// <summary>The kind name of an optimizer type: <c>AdamOptimizer`1</c> becomes <c>AdamOptimizer</c>.</summary>
    internal static string NameOf(Type type)
    {
        string name = type.Name;
        int tick = name.IndexOf('`', StringComparison.Ordinal);
        return tick < 0 ? name : name[..tick];
    }

    /// <summary>A deep copy of the buffers, for the optimizer that restores this state.</summary>
    internal T[][] CopyBuffers() => _buffers.Select(b => (T[])b.Clone()).ToArray();
}
