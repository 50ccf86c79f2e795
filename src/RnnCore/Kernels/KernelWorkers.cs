using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace RnnCore.Kernels;

/// <summary>
/// A small pool of dedicated threads that run the parts of one large product alongside the calling thread, without
/// allocating: a part is a static function pointer and a pointer to a job description on the caller's stack, which
/// stays valid because the caller waits for every worker that entered the job before it returns.
/// </summary>
/// <remarks>
/// <para>
/// Parts are claimed one at a time from a shared counter by the caller and by the idle workers it could enlist, so a
/// call is correct with any number of helpers, none included: the split into parts is fixed by the caller, and which
/// thread runs a part never changes the part's arithmetic. Concurrent callers therefore never wait for each other:
/// each enlists the workers that are idle when it starts (first come, first served) and runs the rest itself.
/// </para>
/// <para>
/// A busy machine: a worker that was woken but is not yet running (other processes hold the cores) is not waited
/// for. Once every part is claimed the caller closes the job; a worker that arrives later leaves it untouched, and only a
/// worker already inside, busy with one part, is waited for. When such waits (a helper descheduled inside its part
/// costs the caller a scheduler slice) outweigh what the helpers computed, the caller runs its products alone for a
/// while (<see cref="WorkBatch.Account"/>), so splitting never costs much more than one thread would take.
/// </para>
/// <para>
/// Waiting: a worker spins for <see cref="SpinTime"/> after its last part (a training step issues products back to
/// back, and waking a sleeping thread costs more than a small product), then blocks on an event; after
/// <see cref="IdleTimeout"/> without work it exits, and a later call starts a new thread in its place. The caller spins
/// for at most <see cref="SpinTime"/> for the helpers inside its job, then blocks too.
/// </para>
/// <para>
/// Faults: an exception thrown by a part on any thread is caught, the remaining parts are skipped, and the first
/// exception is rethrown on the calling thread (with its original stack trace) once every helper has left the job.
/// The workers stay alive and usable.
/// </para>
/// </remarks>
internal static unsafe class KernelWorkers
{
    /// <summary>How long a worker (after its last part) or a caller (waiting for its helpers) spins before blocking.</summary>
    internal static readonly TimeSpan SpinTime = TimeSpan.FromMicroseconds(200);

    private static readonly long SpinTicks = (long)(SpinTime.TotalSeconds * Stopwatch.Frequency);

    /// <summary>Net loss below which splitting goes on (50 µs): single short waits are noise.</summary>
    private static readonly long SlackTicks = Stopwatch.Frequency / 20_000;

    /// <summary>The accounts are halved each time the gain passes this (20 ms), so they follow the machine's current load.</summary>
    private static readonly long MemoryTicks = Stopwatch.Frequency / 50;

    /// <summary>The longest time a caller runs alone before it tries its helpers again (1 s).</summary>
    private static readonly long MaxAloneTicks = Stopwatch.Frequency;

    /// <summary>After splitting turned out slower than running alone, the caller runs alone this many times the loss.</summary>
    private const int AloneFactor = 16;
    private static readonly object GrowLock = new();
    private static Worker?[] s_workers = [];
    private static int s_idleTimeoutMilliseconds = 10_000;

    [ThreadStatic]
    private static WorkBatch? t_batch;

    [ThreadStatic]
    private static long t_splitCalls;

    private static long s_workerBytes;

    /// <summary>
    /// Whether a caller whose helpers were descheduled mid-part runs alone for a while (true; tests that hold workers
    /// back on purpose turn it off, so that every split call enlists workers).
    /// </summary>
    internal static bool AdaptToLoad { get; set; } = true;

    /// <summary>
    /// Tests only: called with (part, on the calling thread?) each time a thread claims a part, before it runs it; lets
    /// a test hold a worker back or hold one inside a part, deterministically. Null in normal use.
    /// </summary>
    internal static Action<int, bool>? PartClaimed { get; set; }

    /// <summary>Tests only: called on a worker thread each time it is woken for a batch, before it tries to enter it. Null in normal use.</summary>
    internal static Action? WorkerArrived { get; set; }

    /// <summary>How long a worker waits without work before its thread exits (10 s by default; tests shorten it).</summary>
    internal static TimeSpan IdleTimeout
    {
        get => TimeSpan.FromMilliseconds(Volatile.Read(ref s_idleTimeoutMilliseconds));
        set
        {
            Volatile.Write(ref s_idleTimeoutMilliseconds, (int)value.TotalMilliseconds);

            // Idle workers re-check: a spurious wake makes them wait again, with the new timeout.
            foreach (Worker? worker in Volatile.Read(ref s_workers))
            {
                worker?.Nudge();
            }
        }
    }

    /// <summary>The number of worker threads alive now (idle or busy); for tests and diagnostics.</summary>
    internal static int LiveWorkers
    {
        get
        {
            int live = 0;
            foreach (Worker? worker in Volatile.Read(ref s_workers))
            {
                live += worker is not null && worker.IsAlive ? 1 : 0;
            }

            return live;
        }
    }

    /// <summary>How many calls on this thread were cut into parts for more than one thread (whether or not it then ran them alone); lets tests see which setting a product used.</summary>
    internal static long SplitCallsOnThisThread => t_splitCalls;

    /// <summary>
    /// What the worker threads allocated while serving batches (from waking for one to leaving it), summed over every
    /// worker, less what the shared pools allocated there (<see cref="SharedPoolAllocations"/>: a pack buffer for a
    /// worker finds the pool holding as many buffers as threads were once inside parts at the same time, which depends
    /// on the scheduler): with this thread's own count, what a split step itself allocates on every thread it uses.
    /// </summary>
    internal static long WorkerAllocatedBytes => Interlocked.Read(ref s_workerBytes);

    /// <summary>
    /// Runs <c>work(job, part)</c> for part = 0 … parts−1 on the calling thread and on up to parts−1 idle workers, and
    /// returns when all are done. An exception from any part is rethrown here.
    /// </summary>
    public static void Run(delegate*<void*, int, void> work, void* job, int parts) => Run(work, job, parts, parts);

    /// <summary>
    /// Runs <c>work(job, part)</c> for part = 0 … parts−1 on the calling thread and on up to threads−1 idle workers, and
    /// returns when all are done. Parts are claimed one at a time, so more parts than threads let a thread that runs
    /// faster (or a worker that starts late) take a larger share. An exception from any part is rethrown here.
    /// </summary>
    public static void Run(delegate*<void*, int, void> work, void* job, int parts, int threads)
    {
        if (parts <= 1 || threads <= 1)
        {
            for (int part = 0; part < parts; part++)
            {
                work(job, part);
            }

            return;
        }

        t_splitCalls++;
        WorkBatch batch = t_batch ??= new WorkBatch();
        long start = Stopwatch.GetTimestamp();
        if (AdaptToLoad && start < batch.AloneUntil)
        {
            // The workers were recently not running when needed (see below): this caller runs its products alone for a
            // while, as it would on one thread. The parts are the same, so the bits are too.
            for (int part = 0; part < parts; part++)
            {
                work(job, part);
            }

            return;
        }

        batch.Begin(work, job, parts);
        Enlist(batch, Math.Min(parts, threads) - 1);
        int own = batch.RunParts(onCaller: true, out long fastestPart);
        long claimed = Stopwatch.GetTimestamp();

        // Every part is claimed. Close the batch to helpers that have not entered it yet (a worker woken but not yet
        // scheduled finds it closed and goes back to idle without touching the job), then wait only for those inside:
        // the job lives on this thread's stack, so never leave while a helper is still running a part of it.
        long waited = 0;
        if (batch.Close() != 0)
        {
            batch.WaitForHelpers(SpinTicks);
            waited = Stopwatch.GetTimestamp() - claimed;
        }

        if (AdaptToLoad && own > 0 && fastestPart != long.MaxValue)
        {
            batch.Account(parts - own, fastestPart, waited);
        }

        batch.ThrowIfFaulted();
    }

    /// <summary>Hands <paramref name="batch"/> to up to <paramref name="wanted"/> idle workers, starting threads as needed.</summary>
    private static int Enlist(WorkBatch batch, int wanted)
    {
        int enlisted = 0;
        if (wanted <= 0)
        {
            return 0;
        }

        Worker?[] workers = Volatile.Read(ref s_workers);
        for (int i = 0; i < workers.Length && enlisted < wanted; i++)
        {
            Worker? worker = workers[i];
            if (worker is not null && worker.TryAssign(batch))
            {
                enlisted++;
            }
        }

        if (enlisted < wanted && HasRoom(workers, wanted))
        {
            enlisted += StartWorkers(batch, wanted - enlisted, wanted);
        }

        return enlisted;
    }

    /// <summary>True when a slot is free (a worker exited) or the pool is smaller than a call of this size needs.</summary>
    private static bool HasRoom(Worker?[] workers, int wanted)
    {
        if (workers.Length < Math.Max(wanted, Environment.ProcessorCount - 1))
        {
            return true;
        }

        foreach (Worker? worker in workers)
        {
            if (worker is null || worker.HasExited)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Starts up to <paramref name="count"/> new workers already assigned to <paramref name="batch"/>, in free slots; the
    /// pool holds at most max(ProcessorCount − 1, parts − 1) threads for the largest parts a call has asked for.
    /// </summary>
    private static int StartWorkers(WorkBatch batch, int count, int wanted)
    {
        lock (GrowLock)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Worker?[] workers = s_workers;
            int capacity = Math.Max(workers.Length, Math.Max(wanted, Environment.ProcessorCount - 1));
            if (capacity > workers.Length)
            {
                Array.Resize(ref workers, capacity);
            }

            int started = 0;
            for (int i = 0; i < workers.Length && started < count; i++)
            {
                if (workers[i] is null || workers[i]!.HasExited)
                {
                    workers[i] = new Worker(i + 1, batch);
                    started++;
                }
            }

            Volatile.Write(ref s_workers, workers);
            SharedPoolAllocations.AddSince(before);
            return started;
        }
    }

    /// <summary>One call's parts, shared by the caller and its enlisted workers. One per calling thread, reused.</summary>
    /// <remarks>
    /// <c>_entry</c> is the door: <see cref="Closed"/> once the caller has claimed the last part, plus the number of
    /// helpers inside. A helper enters only while the door is open (one compare-and-swap against the caller's close),
    /// so after closing, the caller knows exactly whom to wait for: the helpers inside, each busy with at most one part.
    /// A worker that was woken but not scheduled before the close never touches the job; if it arrives while this
    /// batch is open again for the same caller's next call, it simply helps with that call.
    /// </remarks>
    private sealed class WorkBatch
    {
        private const int Closed = 1 << 30;

        private readonly ManualResetEventSlim _helpersLeft = new(false, spinCount: 0);
        private delegate*<void*, int, void> _work;
        private void* _job;
        private int _parts;
        private int _nextPart;
        private int _entry = Closed;
        private ExceptionDispatchInfo? _fault;

        public WorkBatch()
        {
            // The event creates its lock object on the first wait that blocks: do that now, not inside a measured step.
            _helpersLeft.Wait(1);
        }

        public void Begin(delegate*<void*, int, void> work, void* job, int parts)
        {
            _work = work;
            _job = job;
            _parts = parts;
            _fault = null;
            Volatile.Write(ref _nextPart, 0);

            // Opens the door last: a helper that enters sees the job above (the compare-and-swap is a full fence).
            Volatile.Write(ref _entry, 0);
        }

        /// <summary>Enters the batch unless the caller has closed it; false means: leave the job alone.</summary>
        public bool TryEnter()
        {
            int entry = Volatile.Read(ref _entry);
            while ((entry & Closed) == 0)
            {
                int seen = Interlocked.CompareExchange(ref _entry, entry + 1, entry);
                if (seen == entry)
                {
                    return true;
                }

                entry = seen;
            }

            return false;
        }

        /// <summary>A helper that entered is done with the job; after this it must not touch the job again.</summary>
        public void Leave()
        {
            if (Interlocked.Decrement(ref _entry) == Closed)
            {
                // The last helper out of a closed batch. A late Set after the caller has moved on only costs that
                // caller one extra check of the count.
                _helpersLeft.Set();
            }
        }

        /// <summary>Closes the door to helpers that have not entered yet; returns how many are inside.</summary>
        public int Close() => Interlocked.Or(ref _entry, Closed) & ~Closed;

        private long _gain;
        private long _loss;

        /// <summary>Until this timestamp the caller runs its products alone (its helpers were found descheduled).</summary>
        public long AloneUntil { get; private set; }

        /// <summary>
        /// Weighs what the helpers of one split call saved against what waiting for them cost, and decides whether the
        /// caller should run alone for a while.
        /// </summary>
        /// <remarks>
        /// The helpers ran <paramref name="helperParts"/> parts that would have cost the caller about
        /// <paramref name="perPart"/> each (its fastest part of the call, so that the caller's own time descheduled
        /// does not count as the helpers' gain); the caller then <paramref name="waited"/> for them. Waiting up to one part is
        /// what any split costs; beyond that a helper was descheduled inside its part (the machine is busy with other
        /// processes), and the caller waits a scheduler slice, many of its own parts. When the waits outweigh the
        /// helpers' parts, splitting is slower than running alone, so the caller runs alone for
        /// <see cref="AloneFactor"/> times the net loss (which bounds the cost of trying again to about
        /// 1 / (AloneFactor + 1) of one thread's time), then tries its helpers again. On a quiet machine, and on a busy
        /// one with large products (whose parts outweigh a slice), the helpers' parts win and nothing changes.
        /// </remarks>
        public void Account(int helperParts, long perPart, long waited)
        {
            _gain += helperParts * perPart;
            _loss += Math.Max(0, waited - perPart);
            if (_loss > _gain + SlackTicks)
            {
                long now = Stopwatch.GetTimestamp();
                AloneUntil = now + Math.Min(MaxAloneTicks, (_loss - _gain) * AloneFactor);
                _gain = 0;
                _loss = 0;
            }
            else if (_gain > MemoryTicks)
            {
                _gain /= 2;
                _loss /= 2;
            }
        }

        /// <summary>
        /// Claims and runs parts until none is left (after a fault the rest are claimed and skipped); returns how many
        /// this thread claimed. On the caller, <paramref name="fastestPart"/> gets the shortest time one of its parts
        /// took (a part during which it was descheduled takes longer, the fastest does not).
        /// </summary>
        public int RunParts(bool onCaller, out long fastestPart)
        {
            int claimed = 0;
            fastestPart = long.MaxValue;
            int part;
            while ((part = Interlocked.Increment(ref _nextPart) - 1) < _parts)
            {
                claimed++;
                if (Volatile.Read(ref _fault) is not null)
                {
                    continue;
                }

                try
                {
                    PartClaimed?.Invoke(part, onCaller);
                    long start = onCaller ? Stopwatch.GetTimestamp() : 0;
                    _work(_job, part);
                    if (onCaller)
                    {
                        fastestPart = Math.Min(fastestPart, Stopwatch.GetTimestamp() - start);
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _fault, ExceptionDispatchInfo.Capture(e), null);
                }
            }

            return claimed;
        }

        /// <summary>Waits until every helper inside the closed batch has left it.</summary>
        public void WaitForHelpers(long spinTicks)
        {
            long start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _entry) != Closed)
            {
                if (Stopwatch.GetTimestamp() - start < spinTicks)
                {
                    Thread.SpinWait(20);
                    continue;
                }

                // The count is the truth and the event only a hint: reset, re-check, then block.
                _helpersLeft.Reset();
                if (Volatile.Read(ref _entry) != Closed)
                {
                    _helpersLeft.Wait();
                }
            }
        }

        public void ThrowIfFaulted()
        {
            ExceptionDispatchInfo? fault = _fault;
            if (fault is not null)
            {
                _fault = null;
                _job = null;
                fault.Throw();
            }

            _job = null;
        }
    }

    private sealed class Worker
    {
        private const int Idle = 0, Assigned = 1, Exited = 2;

        private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
        private readonly Thread _thread;
        private WorkBatch? _batch;
        private int _state;

        /// <summary>Starts a worker thread whose first job is <paramref name="first"/>.</summary>
        public Worker(int index, WorkBatch first)
        {
            _state = Assigned;
            _batch = first;
            _thread = new Thread(Loop) { IsBackground = true, Name = $"RnnCore kernel worker {index}" };
            _thread.UnsafeStart();
        }

        public bool HasExited => Volatile.Read(ref _state) == Exited;

        public bool IsAlive => !HasExited && _thread.IsAlive;

        /// <summary>Wakes the worker without work (it goes back to waiting).</summary>
        public void Nudge() => _wake.Set();

        /// <summary>Claims this worker for <paramref name="batch"/> if it is idle, and wakes it.</summary>
        public bool TryAssign(WorkBatch batch)
        {
            if (Interlocked.CompareExchange(ref _state, Assigned, Idle) != Idle)
            {
                return false;
            }

            Volatile.Write(ref _batch, batch);
            _wake.Set();
            return true;
        }

        private void Loop()
        {
            // The event creates its lock object on the first wait that blocks: do that now, not inside a measured step.
            _wake.Wait(1);
            while (true)
            {
                WorkBatch? batch = Volatile.Read(ref _batch);
                if (batch is null)
                {
                    if (!WaitForWork())
                    {
                        return;
                    }

                    continue;
                }

                // A batch closed before this thread got to it is left alone: its caller has run every part itself.
                long allocated = SharedPoolAllocations.OwnBytesOnThisThread;
                WorkerArrived?.Invoke();
                bool entered = batch.TryEnter();
                try
                {
                    if (entered)
                    {
                        batch.RunParts(onCaller: false, out _);
                    }
                }
                finally
                {
                    // Counted before leaving, so that the caller, once it returns, has seen every byte of its batch.
                    long bytes = SharedPoolAllocations.OwnBytesOnThisThread - allocated;
                    if (bytes != 0)
                    {
                        Interlocked.Add(ref s_workerBytes, bytes);
                    }

                    _batch = null;
                    Volatile.Write(ref _state, Idle);
                    if (entered)
                    {
                        batch.Leave();
                    }
                }
            }
        }

        /// <summary>Spins briefly, then blocks; false when the idle timeout passed and the thread should exit.</summary>
        private bool WaitForWork()
        {
            long start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _batch) is null)
            {
                if (Stopwatch.GetTimestamp() - start < SpinTicks)
                {
                    Thread.SpinWait(20);
                    continue;
                }

                // Reset before re-checking: an assignment that raced with the reset is still seen through _batch.
                _wake.Reset();
                if (Volatile.Read(ref _batch) is not null)
                {
                    break;
                }

                if (!_wake.Wait(IdleTimeout) && Interlocked.CompareExchange(ref _state, Exited, Idle) == Idle)
                {
                    // The last worker to leave also lets the GC have the pooled packing buffers.
                    if (LiveWorkers == 0)
                    {
                        GemmBlocking.TrimPackBuffers();
                    }

                    return false;
                }

                // Woken, or a caller claimed this worker just as the timeout passed: its batch is on the way.
            }

            return true;
        }
    }
}
