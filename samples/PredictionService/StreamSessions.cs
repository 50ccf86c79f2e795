using System.Threading.Channels;
using RnnCore;
using RnnCore.Models;

namespace PredictionService;

/// <summary>
/// Streaming sessions: each client opens a session, sends its readings one at a time and gets each prediction, with the
/// state carried between requests in one <see cref="RecurrentStreams{T}"/> pool. Bounded: at most
/// <see cref="MaxSessions"/> sessions (their states are allocated once, with the pool); a session idle for longer than
/// <see cref="IdleTimeout"/> is expired and its slot given to the next session that needs one.
/// </summary>
/// <remarks>
/// Steps that arrive together run together: requests queue their step, and one loop takes every queued step (up to the
/// pool's batch) and runs them as one batched step, one product per layer for all of them; each answer is the same, bit
/// for bit, as its stream stepped alone. The loop waits on the queue when there is nothing to do (no thread spins), and
/// the pool is only touched under <c>_gate</c>.
/// </remarks>
public sealed class StreamSessions : IDisposable
{
    private readonly RecurrentStreams<float> _pool;
    private readonly TimeProvider _time;
    private readonly Session?[] _slots;
    private readonly Dictionary<long, Session> _sessions = [];
    private readonly Channel<PendingStep> _queue = Channel.CreateUnbounded<PendingStep>(new UnboundedChannelOptions { SingleReader = true });
    private readonly object _gate = new();
    private readonly Task _loop;
    private long _lastId;
    private long _steps;
    private long _rounds;

    /// <summary>Opens the pool of <paramref name="maxSessions"/> streams on <paramref name="model"/> and starts the batching loop.</summary>
    /// <param name="model">A unidirectional network (shared with the other endpoints: the pool only reads it).</param>
    /// <param name="maxSessions">The most sessions open at once.</param>
    /// <param name="idleTimeout">How long a session may go without a step before it is expired.</param>
    /// <param name="time">The clock (tests pass their own).</param>
    public StreamSessions(RecurrentModel<float> model, int maxSessions, TimeSpan idleTimeout, TimeProvider time)
    {
        _pool = model.OpenStreams(maxSessions);
        _slots = new Session?[maxSessions];
        _time = time;
        IdleTimeout = idleTimeout;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The most sessions open at once.</summary>
    public int MaxSessions => _slots.Length;

    /// <summary>How long a session may go without a step before it is expired.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary>Steps answered so far (for reports: <see cref="Steps"/> / <see cref="Rounds"/> is the mean batch).</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>Batched steps run so far.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>The sessions open now (expired ones not yet reclaimed included).</summary>
    public int OpenCount
    {
        get
        {
            lock (_gate)
            {
                return _sessions.Count;
            }
        }
    }

    /// <summary>Opens a session from the zero state, or returns null when every slot holds a session that is not idle.</summary>
    public long? Open()
    {
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            int slot = Array.IndexOf(_slots, null);
            if (slot < 0)
            {
                // Every slot taken: reclaim the session idle the longest, if it has been idle long enough.
                Session oldest = _slots.MinBy(s => s!.LastUsed)!;
                if (!IsExpired(oldest, now))
                {
                    return null;
                }

                Remove(oldest);
                slot = oldest.Slot;
            }

            var session = new Session(++_lastId, slot) { LastUsed = now };
            _slots[slot] = session;
            _sessions.Add(session.Id, session);
            _pool.Reset(slot);
            return session.Id;
        }
    }

    /// <summary>Closes a session; false when there is none of that id (never opened, closed or expired).</summary>
    public bool Close(long id)
    {
        lock (_gate)
        {
            if (!TryGet(id, out Session? session))
            {
                return false;
            }

            Remove(session);
            return true;
        }
    }

    /// <summary>Steps session <paramref name="id"/> with <paramref name="input"/>, batched with whatever other steps are queued.</summary>
    /// <returns>The outcome: the output y_t, or why there is none.</returns>
    public Task<StepOutcome> StepAsync(long id, float[] input)
    {
        var pending = new PendingStep(id, input);
        if (!_queue.Writer.TryWrite(pending))
        {
            pending.Done.SetResult(StepOutcome.Missing("the service is stopping."));
        }

        return pending.Done.Task;
    }

    /// <summary>Stops the loop (queued steps are answered first).</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _loop.Wait();
    }

    private async Task RunAsync()
    {
        var batch = new List<PendingStep>();
        var later = new List<PendingStep>();
        int[] streams = [];
        float[] inputs = [], outputs = [];
        int n = _pool.Model.InputSize, o = _pool.Model.OutputSize;
        // A round runs as soon as anything is queued (or a step waits for its stream's earlier one); otherwise the loop
        // awaits the queue, which costs no CPU.
        while (later.Count > 0 || await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            lock (_gate)
            {
                // Steps that waited for their stream's earlier step first, then everything queued, up to the pool's batch;
                // a second step of a stream already in the batch waits for the next round.
                PendingStep[] waiting = [.. later];
                later.Clear();
                batch.Clear();
                foreach (PendingStep step in waiting)
                {
                    Take(step, batch, later, _time.GetTimestamp());
                }

                while (batch.Count < _pool.MaxBatch && _queue.Reader.TryRead(out PendingStep? step))
                {
                    Take(step, batch, later, _time.GetTimestamp());
                }

                if (batch.Count > 0)
                {
                    if (streams.Length < batch.Count)
                    {
                        streams = new int[_pool.MaxBatch];
                        inputs = new float[_pool.MaxBatch * n];
                        outputs = new float[_pool.MaxBatch * o];
                    }

                    Run(batch, streams, inputs, outputs, n, o);
                }
            }
        }
    }

    /// <summary>Checks one queued step and puts it in the batch, in the next round, or answers it at once.</summary>
    private void Take(PendingStep step, List<PendingStep> batch, List<PendingStep> later, long now)
    {
        if (!TryGet(step.Id, out Session? session))
        {
            step.Done.SetResult(StepOutcome.Missing($"there is no open session {step.Id} (never opened, closed, or idle for longer than {IdleTimeout.TotalSeconds:F0} s)."));
            return;
        }

        int n = _pool.Model.InputSize;
        if (step.Input.Length != n || step.Input.Any(v => !float.IsFinite(v)))
        {
            step.Done.SetResult(StepOutcome.Refused($"input must hold {n} finite numbers, but has {step.Input.Length}{(step.Input.Any(v => !float.IsFinite(v)) ? " with a NaN or infinity" : string.Empty)}."));
            return;
        }

        if (batch.Count == _pool.MaxBatch || batch.Any(b => b.Slot == session.Slot))
        {
            later.Add(step);
            return;
        }

        session.LastUsed = now;
        step.Slot = session.Slot;
        batch.Add(step);
    }

    /// <summary>One batched step; when the parameters produce a NaN, each stream again alone, so that each answer is its own.</summary>
    private void Run(List<PendingStep> batch, int[] streams, float[] inputs, float[] outputs, int n, int o)
    {
        int count = batch.Count;
        for (int b = 0; b < count; b++)
        {
            streams[b] = batch[b].Slot;
            batch[b].Input.CopyTo(inputs, b * n);
        }

        try
        {
            _pool.Step(streams.AsSpan(0, count), inputs.AsSpan(0, count * n), outputs.AsSpan(0, count * o));
            Interlocked.Add(ref _steps, count);
            Interlocked.Increment(ref _rounds);
            for (int b = 0; b < count; b++)
            {
                batch[b].Done.SetResult(StepOutcome.Answer(outputs.AsSpan(b * o, o).ToArray()));
            }
        }
        catch (NonFiniteValueException) when (count > 1)
        {
            foreach (PendingStep step in batch)
            {
                Run([step], streams, inputs, outputs, n, o);
            }
        }
        catch (NonFiniteValueException e)
        {
            batch[0].Done.SetResult(StepOutcome.NotFinite(e.Message));
        }
        catch (Exception e) when (e is not NonFiniteValueException)
        {
            // Never expected (every step was checked before the batch): answered, so that the loop and the other
            // sessions go on.
            foreach (PendingStep step in batch)
            {
                step.Done.TrySetResult(new StepOutcome(500, null, e.Message));
            }
        }
    }

    private bool TryGet(long id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Session? session)
    {
        if (!_sessions.TryGetValue(id, out session))
        {
            return false;
        }

        if (IsExpired(session, _time.GetTimestamp()))
        {
            Remove(session);
            session = null;
            return false;
        }

        return true;
    }

    private bool IsExpired(Session session, long now) => _time.GetElapsedTime(session.LastUsed, now) > IdleTimeout;

    private void Remove(Session session)
    {
        _sessions.Remove(session.Id);
        _slots[session.Slot] = null;
    }

    private sealed class Session(long id, int slot)
    {
        public long Id { get; } = id;

        public int Slot { get; } = slot;

        public long LastUsed { get; set; }
    }

    private sealed class PendingStep(long id, float[] input)
    {
        public long Id { get; } = id;

        public float[] Input { get; } = input;

        public int Slot { get; set; }

        public TaskCompletionSource<StepOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>What became of one step: an output, or a status and a message.</summary>
/// <param name="Status">200 (answered), 400 (bad input), 404 (no such session), 422 (the parameters produced a NaN), 500 (a failure of the service itself).</param>
/// <param name="Output">y_t when answered.</param>
/// <param name="Error">Why not, otherwise.</param>
public sealed record StepOutcome(int Status, float[]? Output, string? Error)
{
    /// <summary>The output of an answered step.</summary>
    public static StepOutcome Answer(float[] output) => new(200, output, null);

    /// <summary>A step refused for its input.</summary>
    public static StepOutcome Refused(string error) => new(400, null, error);

    /// <summary>A step for a session that is not open.</summary>
    public static StepOutcome Missing(string error) => new(404, null, error);

    /// <summary>A step whose computation produced a NaN or infinity (the stream's state is unchanged).</summary>
    public static StepOutcome NotFinite(string error) => new(422, null, error);
}
