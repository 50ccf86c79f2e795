using MathNet.Numerics.LinearAlgebra;
using RnnCore.Kernels;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Kernels;

/// <summary>
/// The kernel threads as a host sees them: a fault in a worker comes back to the caller and leaves the pool usable,
/// idle workers exit and come back on demand, and the degree of parallelism can be set per call and per model.
/// These change process-wide state (the idle timeout) or count this thread's split calls, so they run alone.
/// </summary>
[Collection(ProcessSettingsCollection.Name)]
public sealed unsafe class KernelWorkersTests
{
    private const string Fault = "injected kernel fault";

    [Fact]
    public void A_fault_in_a_worker_is_rethrown_on_the_calling_thread_and_the_pool_stays_usable()
    {
        int callerThread = Environment.CurrentManagedThreadId;
        var job = new FaultJob { CallerThread = callerThread };
        int before = RnnCoreSettings.MaxDegreeOfParallelism;
        try
        {
            RnnCoreSettings.MaxDegreeOfParallelism = 3;

            // This thread may have run its products alone lately (the machine is shared); this test needs its workers.
            KernelWorkers.AdaptToLoad = false;

            // Three parts, and a part run by a worker throws. The caller starts its first part only once a worker has
            // claimed one, so a worker runs a part whatever the scheduler does (the wait is a hang guard, not a timing).
            using var workerClaimed = new ManualResetEventSlim(false);
            KernelWorkers.PartClaimed = (_, onCaller) => WaitOrSignal(onCaller, workerClaimed);
            Exception? thrown;
            try
            {
                thrown = Catch(&FaultOnWorker, &job, 3);
            }
            finally
            {
                KernelWorkers.PartClaimed = null;
            }

            thrown.Should().BeOfType<InvalidOperationException>();
            thrown!.Message.Should().Be(Fault);
            thrown.StackTrace.Should().Contain(nameof(FaultOnWorker), "the worker's stack trace is kept");
            job.FaultsThrown.Should().BeGreaterThan(0, "a worker ran a part (else the test proves nothing)");

            // The pool still works: every part of the next call runs, and a parallel product is exact.
            var counting = new FaultJob { CallerThread = -1 };
            KernelWorkers.Run(&CountPart, &counting, 3);
            counting.PartsRun.Should().Be(3);
            ParallelProductMatchesSerial();
        }
        finally
        {
            RnnCoreSettings.MaxDegreeOfParallelism = before;
            KernelWorkers.AdaptToLoad = true;
        }
    }

    [Fact]
    public void A_fault_on_the_calling_thread_waits_for_the_workers_and_is_rethrown()
    {
        // Eight parts. The caller's first part starts only once a worker has claimed one (and sleeps 50 ms in it), so the
        // caller faults while a worker is inside its part, and must wait for it before rethrowing; without the hook a
        // caller descheduled for 50 ms would find every part taken and nothing to throw.
        var job = new FaultJob { CallerThread = Environment.CurrentManagedThreadId };
        using var workerClaimed = new ManualResetEventSlim(false);
        KernelWorkers.AdaptToLoad = false;
        KernelWorkers.PartClaimed = (_, onCaller) => WaitOrSignal(onCaller, workerClaimed);
        Exception? thrown;
        try
        {
            thrown = Catch(&FaultOnCaller, &job, 8);
        }
        finally
        {
            KernelWorkers.PartClaimed = null;
            KernelWorkers.AdaptToLoad = true;
        }

        workerClaimed.IsSet.Should().BeTrue("a worker held a part when the caller faulted (else the test proves nothing)");
        thrown.Should().BeOfType<InvalidOperationException>().Which.Message.Should().Be(Fault);
        ParallelProductMatchesSerial();
    }

    [Fact]
    public void Idle_workers_exit_after_the_idle_timeout_and_return_on_demand()
    {
        TimeSpan before = KernelWorkers.IdleTimeout;
        try
        {
            // This thread may have run its products alone lately (the machine is shared); this test needs its workers.
            KernelWorkers.AdaptToLoad = false;
            KernelWorkers.IdleTimeout = TimeSpan.FromMilliseconds(100);
            var job = new FaultJob { CallerThread = -1 };
            KernelWorkers.Run(&CountPart, &job, 3);
            KernelWorkers.LiveWorkers.Should().BeGreaterThan(0);
            WaitUntil(() => KernelWorkers.LiveWorkers == 0, TimeSpan.FromSeconds(10)).Should().BeTrue("every worker exits once idle for 100 ms");

            job.PartsRun = 0;
            KernelWorkers.Run(&CountPart, &job, 3);
            job.PartsRun.Should().Be(3);
            KernelWorkers.LiveWorkers.Should().BeGreaterThan(0, "a call after the exit starts workers again");
            ParallelProductMatchesSerial();
        }
        finally
        {
            KernelWorkers.IdleTimeout = before;
            KernelWorkers.AdaptToLoad = true;
        }
    }

    [Fact]
    public void Per_call_scope_overrides_the_model_which_overrides_the_process_default()
    {
        int before = RnnCoreSettings.MaxDegreeOfParallelism;
        try
        {
            RnnCoreSettings.MaxDegreeOfParallelism = 3;
            RnnCoreSettings.CurrentDegreeOfParallelism.Should().Be(3);
            using (RnnCoreSettings.UseModelDegree(2))
            {
                RnnCoreSettings.CurrentDegreeOfParallelism.Should().Be(2);
                using (RnnCoreSettings.UseDegreeOfParallelism(1))
                {
                    RnnCoreSettings.CurrentDegreeOfParallelism.Should().Be(1);
                }

                RnnCoreSettings.CurrentDegreeOfParallelism.Should().Be(2);
            }

            using (RnnCoreSettings.UseModelDegree(null))
            {
                RnnCoreSettings.CurrentDegreeOfParallelism.Should().Be(3, "a model without its own degree uses the process default");
            }

            ((Action)(() => RnnCoreSettings.UseDegreeOfParallelism(0))).Should().Throw<ArgumentOutOfRangeException>()
                .WithParameterName("maxDegreeOfParallelism").WithMessage("*at least 1*was 0*");
            var layer = new RecurrentLayer<float>(2, 3, 2);
            ((Action)(() => layer.MaxDegreeOfParallelism = 0)).Should().Throw<ArgumentOutOfRangeException>();
        }
        finally
        {
            RnnCoreSettings.MaxDegreeOfParallelism = before;
        }
    }

    [Fact]
    public void A_models_degree_of_parallelism_reaches_its_forward_and_bptt_products_with_the_same_bits()
    {
        // H = 256, B = 32: the recurrent and weight-gradient products are large enough to split.
        var random = new Random(3);
        var layer = new RecurrentLayer<double>(20, 256, 12, seed: 2);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 20, 4, 32);
        SequenceTargets<double> targets = RandomProblems.Targets(random, layer, 4, 32, LossPlacement.EveryStep);
        var bptt = new Bptt<double>(layer);
        int before = RnnCoreSettings.MaxDegreeOfParallelism;
        try
        {
            RnnCoreSettings.MaxDegreeOfParallelism = 3;
            layer.MaxDegreeOfParallelism = 1;
            long splits = KernelWorkers.SplitCallsOnThisThread;
            RecurrentGradients<double> serial = bptt.Backward(layer.Forward(inputs), targets);
            KernelWorkers.SplitCallsOnThisThread.Should().Be(splits, "a model limited to one thread splits no product");

            layer.MaxDegreeOfParallelism = null;
            RecurrentGradients<double> parallel = bptt.Backward(layer.Forward(inputs), targets);
            KernelWorkers.SplitCallsOnThisThread.Should().BeGreaterThan(splits, "the process default of 3 splits the large products");
            splits = KernelWorkers.SplitCallsOnThisThread;

            using (RnnCoreSettings.UseDegreeOfParallelism(1))
            {
                bptt.Backward(layer.Forward(inputs), targets);
            }

            KernelWorkers.SplitCallsOnThisThread.Should().Be(splits, "a per-call scope of 1 overrides the process default");
            for (int p = 0; p < serial.ParameterGradients.Count; p++)
            {
                parallel.ParameterGradients[p].ToArray().Should().Equal(serial.ParameterGradients[p].ToArray());
            }
        }
        finally
        {
            RnnCoreSettings.MaxDegreeOfParallelism = before;
        }
    }

    [Fact]
    public void A_recurrent_models_degree_of_parallelism_reaches_its_forward_and_bptt_products_with_the_same_bits()
    {
        // H = 128, four gates: W_hh·h is 512 x 32 x 128 per step, large enough to split at a degree of 3.
        var random = new Random(5);
        var model = new RecurrentModel<double>(new RecurrentModelOptions(20, 128, 12) { Cell = RecurrentCellKind.Lstm, Seed = 4 });
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 20, 4, 32);
        int[][] classes = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 32).Select(_ => random.Next(12)).ToArray()).ToArray();
        SequenceTargets<double> targets = SequenceTargets<double>.FromClasses(classes);
        var bptt = new Bptt<double>(model);
        int before = RnnCoreSettings.MaxDegreeOfParallelism;
        try
        {
            RnnCoreSettings.MaxDegreeOfParallelism = 3;
            model.MaxDegreeOfParallelism = 1;
            long splits = KernelWorkers.SplitCallsOnThisThread;
            RecurrentGradients<double> serial = bptt.Backward(model.Forward(inputs), targets);
            KernelWorkers.SplitCallsOnThisThread.Should().Be(splits, "a model limited to one thread splits no product");

            model.MaxDegreeOfParallelism = null;
            RecurrentGradients<double> parallel = bptt.Backward(model.Forward(inputs), targets);
            KernelWorkers.SplitCallsOnThisThread.Should().BeGreaterThan(splits, "the process default of 3 splits the large products");
            for (int p = 0; p < serial.ParameterGradients.Count; p++)
            {
                parallel.ParameterGradients[p].ToArray().Should().Equal(serial.ParameterGradients[p].ToArray());
            }

            ((Action)(() => model.MaxDegreeOfParallelism = 0)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*at least 1*was 0*");
        }
        finally
        {
            RnnCoreSettings.MaxDegreeOfParallelism = before;
        }
    }

    [Fact]
    public void A_steady_state_step_split_between_threads_allocates_nothing_on_any_thread()
    {
        // H = 256, B = 32 on three threads: the recurrent and weight-gradient products are split, so the caller's batch,
        // the workers and the pooled packing buffers are all in use. The caller may not run alone (as it would after
        // finding its workers descheduled on a busy machine): this test needs its workers.
        KernelWorkers.AdaptToLoad = false;
        try
        {
            var random = new Random(4);
            var layer = new RecurrentLayer<float>(20, 256, 12, seed: 2) { MaxDegreeOfParallelism = 3 };
            List<Matrix<float>> inputs = RandomProblems.Inputs<float>(random, 20, 4, 32);
            SequenceTargets<float> targets = RandomProblems.Targets(random, layer, 4, 32, LossPlacement.EveryStep);
            var bptt = new Bptt<float>(layer);
            ForwardCache<float> cache = layer.CreateCache(4, 32);
            RecurrentGradients<float> gradients = layer.CreateGradients(4, 32);
            for (int i = 0; i < 3; i++)
            {
                layer.Forward(inputs, cache);
                bptt.Backward(cache, targets, gradients);
            }

            // This thread's own count and the workers' (KernelWorkers.WorkerAllocatedBytes), not the process's: the test
            // host's other threads (result reporting, timers) allocate whenever they run, which depends on what else runs.
            // Both leave out the pack-buffer pool's misses: the pool grows to as many buffers as threads were ever inside
            // parts at once, which depends on the scheduler (a worker that first ran beside the others in this window
            // read 111,184 B). The single-thread steady-state tests, which count everything, catch a pool that never reuses.
            long splits = KernelWorkers.SplitCallsOnThisThread;
            long workersBefore = KernelWorkers.WorkerAllocatedBytes;
            long caller = Allocations.OfOwnWork(() =>
            {
                for (int i = 0; i < 5; i++)
                {
                    layer.Forward(inputs, cache);
                    bptt.Backward(cache, targets, gradients);
                }
            });
            long workers = KernelWorkers.WorkerAllocatedBytes - workersBefore;
            KernelWorkers.SplitCallsOnThisThread.Should().BeGreaterThan(splits, "the products were split");
            caller.Should().Be(0, "the calling thread allocates nothing in a steady-state step");
            workers.Should().Be(0, "the workers allocate nothing while serving its products");
        }
        finally
        {
            KernelWorkers.AdaptToLoad = true;
        }
    }

    [Fact]
    public void A_worker_that_never_runs_leaves_its_parts_to_the_caller_with_the_same_bits()
    {
        // 64 x 2048 x 64 on two threads: four parts along the columns. The enlisted worker is held before it enters
        // (as if the scheduler never ran it) until the product has returned, so the caller must run every part itself
        // and must not wait for the worker; the worker, released afterwards, finds the batch closed and leaves it alone.
        var random = new Random(11);
        (float[] a, float[] b, float[] c) = GemmTests<float>.Operands(random, false, false, 64, 2048, 64, 0);
        float[] serial = c.ToArray();
        using (RnnCoreSettings.UseDegreeOfParallelism(1))
        {
            Gemm.Multiply(false, false, 64, 2048, 64, 1f, a, 64, b, 64, 0.5f, serial, 64);
        }

        using var arrived = new ManualResetEventSlim(false);
        using var gate = new ManualResetEventSlim(false);
        int callerParts = 0, workerParts = 0;
        KernelWorkers.AdaptToLoad = false;
        KernelWorkers.WorkerArrived = () =>
        {
            arrived.Set();
            gate.Wait();
        };
        KernelWorkers.PartClaimed = (_, onCaller) => Interlocked.Increment(ref onCaller ? ref callerParts : ref workerParts);
        float[] parallel = c.ToArray();
        try
        {
            bool finished = RunOnOwnThread(() =>
            {
                using (RnnCoreSettings.UseDegreeOfParallelism(2))
                {
                    Gemm.Multiply(false, false, 64, 2048, 64, 1f, a, 64, b, 64, 0.5f, parallel, 64);
                }
            });
            finished.Should().BeTrue("the caller runs the parts no worker has claimed instead of waiting for a worker that is not running");
            arrived.Wait(TimeSpan.FromMinutes(2)).Should().BeTrue("a worker was enlisted (else the test proves nothing)");
        }
        finally
        {
            gate.Set();
            KernelWorkers.WorkerArrived = null;
            KernelWorkers.PartClaimed = null;
            KernelWorkers.AdaptToLoad = true;
        }

        callerParts.Should().Be(4, "the caller ran every part");
        workerParts.Should().Be(0, "the late worker found the batch closed");
        parallel.Should().Equal(serial);
        ParallelProductMatchesSerial();
    }

    [Fact]
    public void A_worker_held_inside_its_part_is_waited_for_and_the_bits_are_the_same()
    {
        // The same four-part product. The worker claims a part and is then held inside it (as if descheduled there);
        // the caller, which starts its first part only once the worker holds one, runs the other three, and must wait
        // for the held part before it returns. The worker is released once the caller has claimed its last part.
        var random = new Random(12);
        (float[] a, float[] b, float[] c) = GemmTests<float>.Operands(random, false, false, 64, 2048, 64, 0);
        float[] serial = c.ToArray();
        using (RnnCoreSettings.UseDegreeOfParallelism(1))
        {
            Gemm.Multiply(false, false, 64, 2048, 64, 1f, a, 64, b, 64, 0.5f, serial, 64);
        }

        using var workerHolds = new ManualResetEventSlim(false);
        using var callerClaimedAll = new ManualResetEventSlim(false);
        using var release = new ManualResetEventSlim(false);
        int callerParts = 0, workerParts = 0;
        KernelWorkers.AdaptToLoad = false;
        KernelWorkers.PartClaimed = (_, onCaller) =>
        {
            if (onCaller)
            {
                if (Interlocked.Increment(ref callerParts) == 1)
                {
                    workerHolds.Wait(TimeSpan.FromMinutes(2));
                }

                if (callerParts == 3)
                {
                    callerClaimedAll.Set();
                }
            }
            else if (Interlocked.Increment(ref workerParts) == 1)
            {
                workerHolds.Set();
                release.Wait();
            }
        };
        float[] parallel = c.ToArray();
        bool finished;
        try
        {
            var product = new Thread(() =>
            {
                using (RnnCoreSettings.UseDegreeOfParallelism(2))
                {
                    Gemm.Multiply(false, false, 64, 2048, 64, 1f, a, 64, b, 64, 0.5f, parallel, 64);
                }
            });
            product.Start();
            callerClaimedAll.Wait(TimeSpan.FromMinutes(2)).Should().BeTrue("the caller claimed the three parts the worker did not hold");
            product.IsAlive.Should().BeTrue("the caller cannot return while the worker holds a part of its product");
            release.Set();
            finished = product.Join(TimeSpan.FromMinutes(2));
        }
        finally
        {
            release.Set();
            workerHolds.Set();
            KernelWorkers.PartClaimed = null;
            KernelWorkers.AdaptToLoad = true;
        }

        finished.Should().BeTrue();
        (callerParts, workerParts).Should().Be((3, 1));
        parallel.Should().Equal(serial);
    }

    [Fact]
    public void Every_part_runs_exactly_once_whichever_threads_claim_them()
    {
        // Many small parts on three threads, repeated: the shared counter hands each part to exactly one thread.
        var job = new PartsJob();
        for (int call = 0; call < 50; call++)
        {
            job = default;
            KernelWorkers.Run(&MarkPart, &job, PartsJob.Count, 3);
            for (int part = 0; part < PartsJob.Count; part++)
            {
                job.Runs[part].Should().Be(1, $"part {part} of call {call} runs once");
            }
        }
    }

    private static void MarkPart(void* state, int part) => Interlocked.Increment(ref ((PartsJob*)state)->Runs[part]);

    private static bool RunOnOwnThread(Action action)
    {
        var thread = new Thread(() => action());
        thread.Start();
        return thread.Join(TimeSpan.FromMinutes(2));
    }

    private static void ParallelProductMatchesSerial()
    {
        var random = new Random(7);
        (double[] a, double[] b, double[] c) = GemmTests<double>.Operands(random, false, false, 200, 150, 180, 0);
        double[] serial = c.ToArray();
        using (RnnCoreSettings.UseDegreeOfParallelism(1))
        {
            Gemm.Multiply(false, false, 200, 150, 180, 1.0, a, 200, b, 180, 0.5, serial, 200);
        }

        double[] parallel = c.ToArray();
        using (RnnCoreSettings.UseDegreeOfParallelism(3))
        {
            Gemm.Multiply(false, false, 200, 150, 180, 1.0, a, 200, b, 180, 0.5, parallel, 200);
        }

        parallel.Should().Equal(serial);
    }

    /// <summary>
    /// A <see cref="KernelWorkers.PartClaimed"/> hook: a worker that claims a part signals <paramref name="workerClaimed"/>;
    /// the caller, before each of its parts, waits for that signal (two minutes at most: a hang guard).
    /// </summary>
    private static void WaitOrSignal(bool onCaller, ManualResetEventSlim workerClaimed)
    {
        if (onCaller)
        {
            workerClaimed.Wait(TimeSpan.FromMinutes(2));
        }
        else
        {
            workerClaimed.Set();
        }
    }

    private static Exception? Catch(delegate*<void*, int, void> work, FaultJob* job, int parts)
    {
        try
        {
            KernelWorkers.Run(work, job, parts);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static bool WaitUntil(Func<bool> condition, TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                return false;
            }

            Thread.Sleep(20);
        }

        return true;
    }

    private static void FaultOnWorker(void* state, int part)
    {
        var job = (FaultJob*)state;
        if (Environment.CurrentManagedThreadId == job->CallerThread)
        {
            Thread.Sleep(50);
        }
        else
        {
            Interlocked.Increment(ref job->FaultsThrown);
            throw new InvalidOperationException(Fault);
        }
    }

    private static void FaultOnCaller(void* state, int part)
    {
        // Eight parts, 50 ms each on a worker: the workers cannot take them all before the caller claims one.
        var job = (FaultJob*)state;
        if (Environment.CurrentManagedThreadId == job->CallerThread)
        {
            throw new InvalidOperationException(Fault);
        }

        Thread.Sleep(50);
    }

    private static void CountPart(void* state, int part)
    {
        Thread.Sleep(1);
        Interlocked.Increment(ref ((FaultJob*)state)->PartsRun);
    }

    private struct PartsJob
    {
        public const int Count = 37;
        public fixed int Runs[Count];
    }

    private struct FaultJob
    {
        public int CallerThread;
        public int FaultsThrown;
        public int PartsRun;
    }
}
