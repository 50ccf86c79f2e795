using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace RnnCore.Kernels;

/// <summary>
/// A small pool of dedicated threads that run the parts of one large product alongside the calling thread, without
/// allocating: a part is a static function pointer and a pointer to a job description on the caller's stack, which
/// stays valid because the caller waits for every worker it enlisted before it returns.
/// </summary>
/// <remarks>
/// <para>
/// Parts are claimed one at a time from a shared counter by the caller and by the idle workers it could enlist, so a
/// call is correct with any number of helpers, none included: the split into parts is fixed by the caller, and which
/// thread runs a part never changes the part's arithmetic. Concurrent callers therefore never wait for each other:
/// each enlists the workers that are idle when it starts (first come, first served) and runs the rest itself.
/// </para>
/// <para>
/// Waiting: a worker spins for <see cref="SpinTime"/> after its last part (a training step issues products back to
/// back, and waking a sleeping thread costs more than a small product), then blocks on an event; after
/// <see cref="IdleTimeout"/> without work it exits, and a later call starts a new thread in its place. The caller spins
/// for at most <see cref="SpinTime"/> for its helpers, then blocks too.
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
    private static readonly object GrowLock = new();
    private static Worker?[] s_workers = [];
    private static int s_idleTimeoutMilliseconds = 10_000;

    [ThreadStatic]
    private static Batch? t_batch;

    [ThreadStatic]
    private static long t_splitCalls;

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

    /// <summary>How many calls on this thread were split into more than one part; lets tests see which setting a product used.</summary>
    internal static long SplitCallsOnThisThread => t_splitCalls;

    /// <summary>
    /// Runs <c>work(job, part)</c> for part = 0 … parts−1 on the calling thread and on up to parts−1 idle workers, and
    /// returns when all are done. An exception from any part is rethrown here.
    /// </summary>
    public static void Run(delegate*<void*, int, void> work, void* job, int parts)
    {
        if (parts <= 1)
        {
            for (int part = 0; part < parts; part++)
            {
                work(job, part);
            }

            return;
        }

        t_splitCalls++;
        Batch batch = t_batch ??= new Batch();
        batch.Begin(work, job, parts);
        int enlisted = Enlist(batch, parts - 1);
        batch.RunParts();
        if (enlisted > 0)
        {
            // The job lives on this thread's stack: never leave before every enlisted worker has left it.
            batch.WaitForHelpers(SpinTicks);
        }

        batch.ThrowIfFaulted();
    }

    /// <summary>Hands <paramref name="batch"/> to up to <paramref name="wanted"/> idle workers, starting threads as needed.</summary>
    private static int Enlist(Batch batch, int wanted)
    {
        int enlisted = 0;
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
    private static int StartWorkers(Batch batch, int count, int wanted)
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
    private sealed class Batch
    {
        private readonly ManualResetEventSlim _helpersLeft = new(false, spinCount: 0);
        private delegate*<void*, int, void> _work;
        private void* _job;
        private int _parts;
        private int _nextPart;
        private int _helpers;
        private ExceptionDispatchInfo? _fault;

        public Batch()
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
            Volatile.Write(ref _helpers, 0);
        }

        /// <summary>Registers one more helper before it is woken (so the caller waits for it).</summary>
        public void AddHelper() => Interlocked.Increment(ref _helpers);

        /// <summary>Claims and runs parts until none is left; after a fault the rest are claimed and skipped.</summary>
        public void RunParts()
        {
            int part;
            while ((part = Interlocked.Increment(ref _nextPart) - 1) < _parts)
            {
                if (Volatile.Read(ref _fault) is not null)
                {
                    continue;
                }

                try
                {
                    _work(_job, part);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _fault, ExceptionDispatchInfo.Capture(e), null);
                }
            }
        }

        /// <summary>A helper is done with the job; after this it must not touch the job again.</summary>
        public void HelperLeft()
        {
            if (Interlocked.Decrement(ref _helpers) == 0)
            {
                // A late Set after the caller has moved on only costs that caller one extra check of the count.
                _helpersLeft.Set();
            }
        }

        public void WaitForHelpers(long spinTicks)
        {
            long start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _helpers) != 0)
            {
                if (Stopwatch.GetTimestamp() - start < spinTicks)
                {
                    Thread.SpinWait(20);
                    continue;
                }

                // The count is the truth and the event only a hint: reset, re-check, then block.
                _helpersLeft.Reset();
                if (Volatile.Read(ref _helpers) != 0)
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
        private Batch? _batch;
        private int _state;

        /// <summary>Starts a worker thread whose first job is <paramref name="first"/>.</summary>
        public Worker(int index, Batch first)
        {
            _state = Assigned;
            first.AddHelper();
            _batch = first;
            _thread = new Thread(Loop) { IsBackground = true, Name = $"RnnCore kernel worker {index}" };
            _thread.UnsafeStart();
        }

        public bool HasExited => Volatile.Read(ref _state) == Exited;

        public bool IsAlive => !HasExited && _thread.IsAlive;

        /// <summary>Wakes the worker without work (it goes back to waiting).</summary>
        public void Nudge() => _wake.Set();

        /// <summary>Claims this worker for <paramref name="batch"/> if it is idle, and wakes it.</summary>
        public bool TryAssign(Batch batch)
        {
            if (Interlocked.CompareExchange(ref _state, Assigned, Idle) != Idle)
            {
                return false;
            }

            batch.AddHelper();
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
                Batch? batch = Volatile.Read(ref _batch);
                if (batch is null)
                {
                    if (!WaitForWork())
                    {
                        return;
                    }

                    continue;
                }

                try
                {
                    batch.RunParts();
                }
                finally
                {
                    _batch = null;
                    Volatile.Write(ref _state, Idle);
                    batch.HelperLeft();
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
