namespace CompiledNets.Tests;

/// <summary>Measures managed allocations of the calling thread.</summary>
internal static class Allocations
{
    /// <summary>
    /// Bytes allocated per call of <paramref name="action"/>, the least over <paramref name="rounds"/>
    /// rounds of <paramref name="calls"/> calls, after two warm-up calls: a one-off allocation by the
    /// runtime in one round (JIT tiering, a lazily built static) cannot fail a test, a per-call one still does.
    /// </summary>
    public static long PerCall(Action action, int calls = 100, int rounds = 3)
    {
        action();
        action();
        long best = long.MaxValue;
        for (int round = 0; round < rounds; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++)
            {
                action();
            }
            best = Math.Min(best, (GC.GetAllocatedBytesForCurrentThread() - before) / calls);
        }
        return best;
    }
}
