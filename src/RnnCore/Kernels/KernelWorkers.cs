using System.Diagnostics;

namespace RnnCore.Kernels;

/// <summary>
/// A small pool of dedicated threads that run the parts of one large product alongside the calling thread, without
/// allocating: a part is a static function pointer and a pointer to a job description on the caller's stack, which
/// stays valid because the caller waits for every part before it returns.
/// </summary>
/// <remarks>
/// Workers spin for a short while after each part (a training step issues products back to back, and waking a sleeping
/// thread costs more than a small product), then sleep on an event. One caller at a time owns the pool; a caller that
/// finds it busy (another thread's product) runs all its parts itself, which gives the same result.
/// </remarks>
internal static unsafe class KernelWorkers
{
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs
    private static readonly object GrowLock = new();
    private static Worker[] s_workers = [];
    private static int s_busy;
    private static int s_pending;

    /// <summary>Runs <c>work(job, part)</c> for part = 0 … parts−1, part 0 on the calling thread, and returns when all are done.</summary>
    public static void Run(delegate*<void*, int, void> work, void* job, int parts)
    {
        if (parts <= 1 || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            for (int part = 0; part < parts; part++)
            {
                work(job, part);
            }

            return;
        }

        try
        {
            Worker[] workers = EnsureWorkers(parts - 1);
            Volatile.Write(ref s_pending, parts - 1);
            for (int part = 1; part < parts; part++)
            {
                workers[part - 1].Start(work, job, part);
            }

            try
            {
                work(job, 0);
            }
            finally
            {
                // The job lives on this thread's stack: never leave before every worker is done with it.
                var spin = default(SpinWait);
                while (Volatile.Read(ref s_pending) != 0)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
            }
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    private static Worker[] EnsureWorkers(int count)
    {
        Worker[] workers = s_workers;
        if (workers.Length >= count)
        {
            return workers;
        }

        lock (GrowLock)
        {
            workers = s_workers;
            if (workers.Length < count)
            {
                Worker[] grown = new Worker[count];
                workers.CopyTo(grown, 0);
                for (int i = workers.Length; i < count; i++)
                {
                    grown[i] = new Worker(i + 1);
                }

                s_workers = workers = grown;
            }
        }

        return workers;
    }

    private sealed class Worker
    {
        private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
        private delegate*<void*, int, void> _work;
        private void* _job;
        private int _part;
        private int _generation;

        public Worker(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"RnnCore kernel worker {index}" };
            thread.Start();
        }

        public void Start(delegate*<void*, int, void> work, void* job, int part)
        {
            _work = work;
            _job = job;
            _part = part;
            Interlocked.Increment(ref _generation); // publishes the fields above (full fence)
            _wake.Set();
        }

        private void Loop()
        {
            // The event creates its lock object on the first wait that blocks: do that now, not inside a measured step.
            _wake.Wait(1);
            int seen = 0;
            while (true)
            {
                long start = Stopwatch.GetTimestamp();
                while (Volatile.Read(ref _generation) == seen)
                {
                    if (Stopwatch.GetTimestamp() - start < SpinTicks)
                    {
                        Thread.SpinWait(20);
                    }
                    else
                    {
                        // Reset before re-checking: a Start that raced with the reset is still seen through _generation.
                        _wake.Wait();
                        _wake.Reset();
                        start = Stopwatch.GetTimestamp();
                    }
                }

                seen = Volatile.Read(ref _generation);
                try
                {
                    _work(_job, _part);
                }
                finally
                {
                    Interlocked.Decrement(ref s_pending);
                }
            }
        }
    }
}
