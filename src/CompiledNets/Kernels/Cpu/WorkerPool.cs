using System.Diagnostics;

namespace CompiledNets.Kernels.Cpu;

/// <summary>One parallel job: <see cref="Execute"/> runs on the caller (worker 0) and on each helper that starts before the work is done.</summary>
internal abstract class ParallelJob
{
    /// <summary>Helpers posted to or inside this job (see <see cref="WorkerPool.RunEntered"/>).</summary>
    public int Active;

    /// <summary>The share of thread <paramref name="worker"/> (0 is the caller) out of <paramref name="workers"/>.</summary>
    public abstract void Execute(int worker, int workers);
}

/// <summary>
/// Two jobs of one kind used in turn: a helper that took the last one late may still be inside it (with nothing left
/// to claim), so the next run takes the other, once no helper is left in it. Use only while holding the pool
/// (<see cref="WorkerPool.TryEnter"/>).
/// </summary>
internal sealed class JobPair<T> where T : ParallelJob, new()
{
    private readonly T _first = new(), _second = new();
    private bool _useSecond;

    /// <summary>The job not used last, free of helpers.</summary>
    public T Take()
    {
        _useSecond = !_useSecond;
        T job = _useSecond ? _second : _first;
        WorkerPool.WaitIdle(job);
        return job;
    }
}

/// <summary>
/// A persistent pool of helper threads for the large GEMMs: no allocation per job, one job at a time, counters
/// that threads wait on between phases. Waiting threads spin for at most 20–50 µs, then
/// sleep on a monitor, so an idle pool holds no core.
/// </summary>
/// <remarks>
/// Every flag that a sleeper re-checks is written with a full fence (<see cref="Interlocked"/>) before the
/// writer reads the sleeper count, and every sleeper registers with a full fence before it re-checks under the
/// lock: a wake-up cannot be lost.
/// </remarks>
internal static class WorkerPool
{
    /// <summary>The most threads <see cref="Threads.Count"/> accepts.</summary>
    public const int MaxThreads = 256;

    private static readonly object Gate = new();
    // Bounded spins before sleeping: a helper waiting for the next job spins ≈ 20 µs (the next GEMM of a step
    // usually follows within that); a thread waiting inside a job (for a phase or the end) spins ≈ 50 µs, since the
    // others are computing shares of about the same size. Then they sleep on the monitor.
    private static readonly long IdleSpinTicks = Math.Max(1, Stopwatch.Frequency / 50_000);
    private static readonly long JobSpinTicks = Math.Max(1, Stopwatch.Frequency / 20_000);

    private static Thread[] s_threads = [];
    private static int s_busy;
    private static int s_sleepers;

    private static int s_generation;
    // One slot per helper: 0 idle, +g job g posted to it, −g job g taken by it; with the job and worker count of the
    // post (written before the post, read by the helper after taking it, unchanged until the slot is idle again).
    // A job is posted only to idle helpers it can use; when the work is done, the caller takes back the posts no
    // helper has taken yet and does not wait for the others: a helper that took a post late finds nothing left to do.
    private static readonly int[] s_slots = new int[MaxThreads];
    private static readonly ParallelJob?[] s_slotJobs = new ParallelJob?[MaxThreads];
    private static readonly int[] s_slotWorkers = new int[MaxThreads];

    /// <summary>Takes the pool for one job; <see langword="false"/> when another caller holds it (then run alone).</summary>
    public static bool TryEnter() => Interlocked.CompareExchange(ref s_busy, 1, 0) == 0;

    /// <summary>Gives the pool back after <see cref="TryEnter"/>.</summary>
    public static void Exit() => Volatile.Write(ref s_busy, 0);

    /// <summary>
    /// Runs <paramref name="job"/> on the caller (worker 0) and on up to <paramref name="workers"/> − 1 idle helpers;
    /// the caller holds the pool (<see cref="TryEnter"/>). The job's worker 0 must return only once all of the job's
    /// work is done. Helpers may still be inside <see cref="ParallelJob.Execute"/> (with nothing left to claim) when
    /// this returns: wait for <see cref="ParallelJob.Active"/> to reach 0 (<see cref="WaitIdle"/>) before changing the
    /// job's state for another run.
    /// </summary>
    public static void RunEntered(ParallelJob job, int workers)
    {
        EnsureThreads(workers - 1);
        int g = Interlocked.Increment(ref s_generation);
        if (g <= 0)
        {
            g = s_generation = 1;
        }
        for (int i = 0; i < workers - 1; i++)
        {
            if (Volatile.Read(ref s_slots[i]) == 0)
            {
                s_slotJobs[i] = job;
                s_slotWorkers[i] = workers;
                Interlocked.Increment(ref job.Active);
                Interlocked.Exchange(ref s_slots[i], g);
            }
        }
        WakeSleepers();
        job.Execute(0, workers);
        for (int i = 0; i < workers - 1; i++)
        {
            if (Interlocked.CompareExchange(ref s_slots[i], 0, g) == g)
            {
                Interlocked.Decrement(ref job.Active); // never taken
            }
        }
    }

    /// <summary>Waits until no helper is inside <paramref name="job"/> (bounded spin, then sleep).</summary>
    public static void WaitIdle(ParallelJob job) => WaitUntil(ref job.Active, 0);

    /// <summary>Counts one finished unit of work on <paramref name="counter"/> and wakes threads waiting for it.</summary>
    public static void Done(ref int counter)
    {
        Interlocked.Increment(ref counter);
        WakeSleepers();
    }

    /// <summary>Waits until <paramref name="counter"/> ≥ <paramref name="target"/> (bounded spin, then sleep).</summary>
    public static void WaitAtLeast(ref int counter, int target)
    {
        if (Volatile.Read(ref counter) >= target)
        {
            return;
        }
        long until = Stopwatch.GetTimestamp() + JobSpinTicks;
        do
        {
            Thread.SpinWait(20);
            if (Volatile.Read(ref counter) >= target)
            {
                return;
            }
        }
        while (Stopwatch.GetTimestamp() < until);
        lock (Gate)
        {
            Interlocked.Increment(ref s_sleepers);
            while (Volatile.Read(ref counter) < target)
            {
                Monitor.Wait(Gate);
            }
            Interlocked.Decrement(ref s_sleepers);
        }
    }

    private static void EnsureThreads(int helpers)
    {
        if (s_threads.Length >= helpers)
        {
            return;
        }
        var threads = new Thread[helpers];
        Array.Copy(s_threads, threads, s_threads.Length);
        for (int i = s_threads.Length; i < helpers; i++)
        {
            threads[i] = StartHelper(i + 1);
        }
        s_threads = threads;
    }

    // A method of its own: a lambda in EnsureThreads would allocate its closure on every call, early return or not.
    private static Thread StartHelper(int index)
    {
        var thread = new Thread(() => Work(index), maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = $"CompiledNets worker {index}",
        };
        thread.Start();
        return thread;
    }

    private static void Work(int index)
    {
        ref int slot = ref s_slots[index - 1];
        while (true)
        {
            WaitWhile(ref slot, 0, IdleSpinTicks);
            int g = Volatile.Read(ref slot);
            if (g > 0 && Interlocked.CompareExchange(ref slot, -g, g) == g)
            {
                ParallelJob job = s_slotJobs[index - 1]!;
                job.Execute(index, s_slotWorkers[index - 1]);
                Interlocked.Decrement(ref job.Active);
                Interlocked.Exchange(ref slot, 0);
                WakeSleepers();
            }
        }
    }

    private static void WakeSleepers()
    {
        if (Volatile.Read(ref s_sleepers) != 0)
        {
            lock (Gate)
            {
                Monitor.PulseAll(Gate);
            }
        }
    }

    /// <summary>Waits while <paramref name="field"/> equals <paramref name="value"/>: a bounded spin, then sleep.</summary>
    private static void WaitWhile(ref int field, int value, long spinTicks)
    {
        if (Volatile.Read(ref field) != value)
        {
            return;
        }
        long until = Stopwatch.GetTimestamp() + spinTicks;
        do
        {
            Thread.SpinWait(20);
            if (Volatile.Read(ref field) != value)
            {
                return;
            }
        }
        while (Stopwatch.GetTimestamp() < until);
        lock (Gate)
        {
            Interlocked.Increment(ref s_sleepers);
            while (Volatile.Read(ref field) == value)
            {
                Monitor.Wait(Gate);
            }
            Interlocked.Decrement(ref s_sleepers);
        }
    }

    /// <summary>Waits until <paramref name="field"/> equals <paramref name="value"/>: a bounded spin, then sleep.</summary>
    private static void WaitUntil(ref int field, int value)
    {
        if (Volatile.Read(ref field) == value)
        {
            return;
        }
        long until = Stopwatch.GetTimestamp() + JobSpinTicks;
        do
        {
            Thread.SpinWait(20);
            if (Volatile.Read(ref field) == value)
            {
                return;
            }
        }
        while (Stopwatch.GetTimestamp() < until);
        lock (Gate)
        {
            Interlocked.Increment(ref s_sleepers);
            while (Volatile.Read(ref field) != value)
            {
                Monitor.Wait(Gate);
            }
            Interlocked.Decrement(ref s_sleepers);
        }
    }
}
