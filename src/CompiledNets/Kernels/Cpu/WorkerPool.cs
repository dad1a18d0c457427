using System.Diagnostics;

namespace CompiledNets.Kernels.Cpu;

/// <summary>One parallel job: <see cref="Execute"/> runs once on each of <c>workers</c> threads.</summary>
internal abstract class ParallelJob
{
    /// <summary>The share of thread <paramref name="worker"/> (0 is the caller) out of <paramref name="workers"/>.</summary>
    public abstract void Execute(int worker, int workers);
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

    private static ParallelJob? s_job;
    private static int s_workers;
    private static int s_generation;
    private static int s_running;


    /// <summary>Takes the pool for one job; <see langword="false"/> when another caller holds it (then run alone).</summary>
    public static bool TryEnter() => Interlocked.CompareExchange(ref s_busy, 1, 0) == 0;

    /// <summary>Gives the pool back after <see cref="TryEnter"/>.</summary>
    public static void Exit() => Volatile.Write(ref s_busy, 0);

    /// <summary>
    /// Runs <paramref name="job"/> on <paramref name="workers"/> threads (the caller is worker 0) and returns when
    /// all are done; the caller holds the pool (<see cref="TryEnter"/>).
    /// </summary>
    public static void RunEntered(ParallelJob job, int workers)
    {
        EnsureThreads(workers - 1);
        s_job = job;
        s_workers = workers;
        // Every helper acknowledges every job (those beyond the count only count down), so a helper never
        // skips a job nor sees the next one's parameters before this one is done.
        Interlocked.Exchange(ref s_running, s_threads.Length);
        Interlocked.Increment(ref s_generation);
        WakeSleepers();
        job.Execute(0, workers);
        WaitUntil(ref s_running, 0);
        s_job = null;
    }

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
        // The generation before the next job: a helper that starts late must still run that job.
        int generation = Volatile.Read(ref s_generation);
        for (int i = s_threads.Length; i < helpers; i++)
        {
            threads[i] = StartHelper(i + 1, generation);
        }
        s_threads = threads;
    }

    // A method of its own: a lambda in EnsureThreads would allocate its closure on every call, early return or not.
    private static Thread StartHelper(int index, int generation)
    {
        var thread = new Thread(() => Work(index, generation), maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = $"CompiledNets worker {index}",
        };
        thread.Start();
        return thread;
    }

    private static void Work(int index, int seen)
    {
        while (true)
        {
            WaitWhile(ref s_generation, seen, IdleSpinTicks);
            seen = Volatile.Read(ref s_generation);
            if (index < s_workers)
            {
                s_job!.Execute(index, s_workers);
            }
            if (Interlocked.Decrement(ref s_running) == 0)
            {
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
