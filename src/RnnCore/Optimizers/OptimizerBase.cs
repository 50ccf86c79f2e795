using System.Numerics;

namespace RnnCore.Optimizers;

/// <summary>
/// What every RnnCore optimizer shares: the learning rate and weight decay, argument and shape validation, the step
/// count, and per-tensor state buffers that are allocated on the first <see cref="Step"/> and reused afterwards.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Step"/> validates everything first (matching shapes, the shape the state was built for, finite gradients)
/// and only then changes anything, so a refused step leaves the parameters, the state and <see cref="StepCount"/> as
/// they were. The update itself is computed in <typeparamref name="T"/>, with every hyper-parameter rounded to
/// <typeparamref name="T"/> once, as PyTorch does for a float32 or float64 model.
/// </para>
/// <para>Only the optimizers in this assembly derive from this class.</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public abstract class OptimizerBase<T> : IOptimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _buffersPerTensor;
    private double _learningRate;

    // State buffers, tensor-major: buffer `slot` of tensor `i` is _state[i * _buffersPerTensor + slot].
    // Null until the first step; _stateLengths records the shape the state was built for.
    private T[][]? _state;
    private int[]? _stateLengths;

    // The parameters and state as they were before the current step, to put back when the step would write a NaN or
    // infinity: allocated with the state, so a steady-state step still allocates nothing.
    private T[][]? _backup;

    /// <summary>Validates the shared options.</summary>
    /// <param name="learningRate">Step size; non-negative and finite (0, as PyTorch allows, leaves the parameters where they are while the state still advances, e.g. the first epoch of a warm-up).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient (<c>g + weightDecay · w</c>); non-negative and finite.</param>
    /// <param name="buffersPerTensor">How many state buffers, each as long as its tensor, the optimizer keeps per tensor.</param>
    private protected OptimizerBase(double learningRate, double weightDecay, int buffersPerTensor)
    {
        OptimizerGuard.RequireFloatOrDouble<T>();
        _learningRate = OptimizerGuard.NonNegativeFinite(learningRate, nameof(learningRate));
        WeightDecay = OptimizerGuard.NonNegativeFinite(weightDecay, nameof(weightDecay));
        _buffersPerTensor = buffersPerTensor;
    }

    /// <summary>
    /// The step size used by the next <see cref="Step"/> (PyTorch's <c>lr</c>). A learning-rate schedule sets it between
    /// steps, as one would set <c>param_groups[0]['lr']</c>; the state is kept.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative, NaN or infinite (0 is accepted, as in PyTorch).</exception>
    public double LearningRate
    {
        get => _learningRate;
        set => _learningRate = OptimizerGuard.NonNegativeFinite(value, nameof(LearningRate));
    }

    /// <summary>The L2 penalty (PyTorch's <c>weight_decay</c>): the gradient used is <c>g + WeightDecay · w</c>.</summary>
    public double WeightDecay { get; }

    /// <inheritdoc/>
    public long StepCount { get; private set; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">
    /// The two sets differ in shape, their shape differs from the one the state was built for (call <see cref="Reset"/>
    /// to start over), or a gradient holds NaN or ±infinity (the message names the tensor and the element).
    /// Nothing is changed.
    /// </exception>
    public void Step(TensorSet<T> parameters, TensorSet<T> gradients)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(gradients);

        // Validate everything before changing anything.
        parameters.RequireSameShape(gradients, nameof(gradients));
        RequireStateShape(parameters);
        OptimizerGuard.RequireFinite(gradients, nameof(gradients));

        bool firstState = _stateLengths is null;
        if (firstState)
        {
            AllocateState(parameters);
        }

        // All or nothing: keep a copy, update, and put everything back if any updated element is not finite.
        SaveBackup(parameters);
        StepCount++;
        BeginStep(StepCount);
        for (int i = 0; i < parameters.Count; i++)
        {
            UpdateTensor(i, parameters[i], gradients[i]);
            int bad = Internal.Guard.IndexOfNonFinite<T>(parameters[i]);
            if (bad >= 0)
            {
                T value = parameters[i][bad];
                RestoreBackup(parameters, i);
                StepCount--;
                if (firstState)
                {
                    _state = null;
                    _stateLengths = null;
                }

                throw new NonFiniteValueException(
                    $"parameter {parameters.GetName(i)}",
                    -1,
                    $"element {bad} would become {value} with learning rate {LearningRate:R}; the step was refused and every parameter and the optimizer state left as they were");
            }
        }
    }

    private void SaveBackup(TensorSet<T> parameters)
    {
        int count = parameters.Count;
        int stateBuffers = _state?.Length ?? 0;
        if (_backup is null || _backup.Length != count + stateBuffers)
        {
            _backup = new T[count + stateBuffers][];
        }

        for (int i = 0; i < count + stateBuffers; i++)
        {
            ReadOnlySpan<T> source = i < count ? parameters[i] : _state![i - count];
            if (_backup[i] is null || _backup[i].Length != source.Length)
            {
                _backup[i] = new T[source.Length];
            }

            source.CopyTo(_backup[i]);
        }
    }

    /// <summary>Puts back parameters 0..<paramref name="last"/> (the later ones were not touched) and the whole state.</summary>
    private void RestoreBackup(TensorSet<T> parameters, int last)
    {
        int count = parameters.Count;
        for (int i = 0; i <= last; i++)
        {
            _backup![i].CopyTo(parameters[i]);
        }

        for (int i = 0; _state is not null && i < _state.Length; i++)
        {
            _backup![count + i].CopyTo(_state[i]);
        }
    }

    /// <inheritdoc/>
    public void Reset()
    {
        _state = null;
        _stateLengths = null;
        StepCount = 0;
    }

    /// <summary>
    /// A deep copy of the state (step count, learning rate, buffers), for checkpoints: see
    /// <see cref="Persistence.ModelFile"/>. Later steps do not change the copy.
    /// </summary>
    public OptimizerState<T> CaptureState()
    {
        T[][] buffers = _state ?? [];
        int[] lengths = _stateLengths ?? [];
        return new OptimizerState<T>(OptimizerState<T>.NameOf(GetType()), StepCount, LearningRate, _buffersPerTensor, lengths, buffers);
    }

    /// <summary>
    /// Replaces this optimizer's state with a copy of <paramref name="state"/>, so that the next <see cref="Step"/>
    /// continues exactly where the captured optimizer stopped. This optimizer must have been constructed with the same
    /// options as the one captured (only the kind and the number of buffers per tensor can be checked).
    /// </summary>
    /// <param name="state">A state from <see cref="CaptureState"/> or from a checkpoint.</param>
    /// <exception cref="ArgumentException">
    /// The state belongs to another kind of optimizer, or to one with another number of buffers per tensor (for
    /// example SGD with momentum restored into SGD without). Nothing is changed.
    /// </exception>
    public void RestoreState(OptimizerState<T> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        string name = OptimizerState<T>.NameOf(GetType());
        if (state.OptimizerName != name)
        {
            throw new ArgumentException($"state was captured from a {state.OptimizerName} but this optimizer is a {name}.", nameof(state));
        }

        if (state.BuffersPerTensor != _buffersPerTensor)
        {
            throw new ArgumentException(
                $"state holds {state.BuffersPerTensor} buffers per tensor but this {name} keeps {_buffersPerTensor}; "
                + "construct it with the same options (momentum, centered, amsGrad) as the captured one.",
                nameof(state));
        }

        LearningRate = state.LearningRate;
        StepCount = state.StepCount;
        bool hasBuffers = state.TensorLengths.Count != 0;
        _state = hasBuffers ? state.CopyBuffers() : null;
        _stateLengths = hasBuffers ? state.TensorLengths.ToArray() : null;
    }

    /// <summary>Computes the scalars that are the same for every tensor of step <paramref name="step"/> (1-based).</summary>
    private protected virtual void BeginStep(long step)
    {
    }

    /// <summary>Updates tensor <paramref name="tensorIndex"/> in place; <see cref="StepCount"/> is already the new step.</summary>
    private protected abstract void UpdateTensor(int tensorIndex, Span<T> parameter, ReadOnlySpan<T> gradient);

    /// <summary>Fills freshly allocated (zeroed) state buffers; the default keeps them at zero.</summary>
    private protected virtual void InitializeState(int tensorIndex, int slot, Span<T> buffer)
    {
    }

    /// <summary>State buffer <paramref name="slot"/> of tensor <paramref name="tensorIndex"/>.</summary>
    private protected Span<T> State(int tensorIndex, int slot) => _state![(tensorIndex * _buffersPerTensor) + slot];

    /// <summary>Rounds a hyper-parameter to <typeparamref name="T"/> (round to nearest for float).</summary>
    private protected static T Cast(double value) => T.CreateTruncating(value);

    private void RequireStateShape(TensorSet<T> parameters)
    {
        if (_stateLengths is null)
        {
            return;
        }

        if (parameters.Count != _stateLengths.Length)
        {
            throw new ArgumentException(
                $"parameters has {parameters.Count} tensors but this optimizer's state was built for {_stateLengths.Length}; "
                + "call Reset() to start over with another model.",
                nameof(parameters));
        }

        for (int i = 0; i < _stateLengths.Length; i++)
        {
            if (parameters.GetLength(i) != _stateLengths[i])
            {
                throw new ArgumentException(
                    $"parameters[{i}] ('{parameters.GetName(i)}') has {parameters.GetLength(i)} elements but this optimizer's "
                    + $"state was built for {_stateLengths[i]}; call Reset() to start over with another model.",
                    nameof(parameters));
            }
        }
    }

    private void AllocateState(TensorSet<T> parameters)
    {
        int[] lengths = new int[parameters.Count];
        T[][] state = new T[parameters.Count * _buffersPerTensor][];
        for (int i = 0; i < parameters.Count; i++)
        {
            lengths[i] = parameters.GetLength(i);
            for (int slot = 0; slot < _buffersPerTensor; slot++)
            {
                T[] buffer = new T[lengths[i]];
                InitializeState(i, slot, buffer);
                state[(i * _buffersPerTensor) + slot] = buffer;
            }
        }

        _state = state;
        _stateLengths = lengths;
    }
}
