using CompiledNets.Kernels.Cpu;

namespace CompiledNets;

/// <summary>
/// How many threads the CPU kernels may use (PyTorch: <c>torch.set_num_threads</c> / <c>torch.get_num_threads</c>).
/// </summary>
/// <remarks>
/// <para>The large matrix products of <see cref="Linear"/> layers run on several threads (see
/// <see cref="Kernels.Cpu.LinearKernels"/>): a product with fewer than <see cref="MinMultiplyAddsPerThread"/>
/// multiply-adds per thread stays on the calling thread, so small models never pay for threads. So do the optimizer
/// steps (<see cref="Adam"/>, <see cref="AdamW"/>, <see cref="SGD"/>) and <see cref="Optimizer.ZeroGrad"/> over large parameter
/// blocks: at least 32 K values per thread for a step, 128 K for a clear (measured; a model under 64 K parameters
/// steps on one thread, see <see cref="Kernels.Cpu.OptimizerKernels"/>).</para>
/// <para>Results are bitwise identical whatever the count: the work is split so that every output value is
/// computed by the same sequence of operations on any thread.</para>
/// <para>The helper threads are started on first use, kept, and sleep when idle (after a spin of a few
/// tens of microseconds at most, so they do not hold a core another process needs). One large product runs on them at a
/// time: a product or step started while another thread's holds them runs on its own calling thread.</para>
/// </remarks>
public static class Threads
{
    private static int s_count = Environment.ProcessorCount;

    /// <summary>
    /// The number of threads a large product may use, the calling thread included; defaults to
    /// <see cref="Environment.ProcessorCount"/> (the cores this process may run on). 1 turns threading off.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to less than 1 or more than 256.</exception>
    public static int Count
    {
        get => s_count;
        set
        {
            if (value < 1 || value > WorkerPool.MaxThreads)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value,
                    $"Threads.Count must be between 1 and {WorkerPool.MaxThreads}; got {value}.");
            }
            s_count = value;
        }
    }

    private static long s_minMultiplyAdds = DefaultMinMultiplyAddsPerThread;

    /// <summary>The default of <see cref="MinMultiplyAddsPerThread"/>.</summary>
    public const long DefaultMinMultiplyAddsPerThread = 2L * 1024 * 1024;

    /// <summary>
    /// The fewest multiply-adds per thread worth a thread: a product of <c>N</c> multiply-adds uses
    /// <c>min(Count, N / MinMultiplyAddsPerThread)</c> threads (at least 1). Default
    /// <see cref="DefaultMinMultiplyAddsPerThread"/> (2 M, see tests/CompiledNets.Benchmarks/README.md for the
    /// measurement); 1 threads every GEMM-sized product (for measurements).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to less than 1.</exception>
    public static long MinMultiplyAddsPerThread
    {
        get => s_minMultiplyAdds;
        set
        {
            if (value < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, $"MinMultiplyAddsPerThread must be at least 1; got {value}.");
            }
            s_minMultiplyAdds = value;
        }
    }
}
