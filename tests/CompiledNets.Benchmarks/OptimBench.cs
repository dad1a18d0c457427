using System.Diagnostics;
using System.Globalization;
using CompiledNets.Kernels.Cpu;

namespace CompiledNets.Benchmarks;

/// <summary>
/// <c>--optim [rounds]</c>: the optimizer step (Adam) and the gradient clear over blocks of several sizes on 1 thread and
/// on 2, interleaved in one process (A, B, A, B, …), median time of each and the ratio; what
/// <see cref="OptimizerKernels.MinElementsPerThread"/> was chosen from.
/// </summary>
internal static class OptimBench
{
    public static void Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        Console.WriteLine("kernel  n  1-thread-us  2-thread-us  1t/2t");
        foreach (int n in new[] { 32 * 1024, 64 * 1024, 128 * 1024, 256 * 1024, 512 * 1024, 1024 * 1024, 1_863_690 })
        {
            var rng = new Random(1);
            float[] p = Fill(n, rng), g = Fill(n, rng), m = new float[n], v = new float[n];
            Report("adam", n, rounds, t => OptimizerKernels.AdamCorrectedOn(p, g, m, v, 0f, 0.9f, 0.999f, 1e-8f, 0f, 0.1, 0.001, false, t));
            Report("sgd-mom", n, rounds, t => OptimizerKernels.SgdOn(p, g, m, 0f, 0.9f, 0f, 0f, false, false, t));
            Report("zero", n, rounds, t => OptimizerKernels.ZeroOn(g, t));
        }
    }

    /// <summary>
    /// <c>--optim-step [rounds]</c>: the mlp-large and mlp-large-1t steps of <c>compare.py</c> with the optimizer kernels on one
    /// thread (A, as before) and on <see cref="Threads.Count"/> (B), interleaved in one process; medians and A/B.
    /// </summary>
    public static void RunSteps(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        foreach (var name in new[] { "mlp-large", "mlp-large-1t" })
        {
            var w = Compare.Workload.All.Single(x => x.Name == name);
            Threads.Count = w.AllThreads ? Environment.ProcessorCount : 1;
            Action step = Compare.CompiledNetsWorkloads.Build(w);
            var a = new List<double>();
            var b = new List<double>();
            for (int r = 0; r < rounds + 2; r++)
            {
                OptimizerKernels.ThreadLimit = 1;
                double ta = TimeStep(step, 10);
                OptimizerKernels.ThreadLimit = Kernels.Cpu.WorkerPool.MaxThreads;
                double tb = TimeStep(step, 10);
                if (r >= 2)
                {
                    a.Add(ta);
                    b.Add(tb);
                }
            }
            a.Sort();
            b.Sort();
            double ma = a[a.Count / 2], mb = b[b.Count / 2];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name} threads {Threads.Count}: optimizer on 1 thread {ma:F0} us (range {a[0]:F0}–{a[^1]:F0}), threaded {mb:F0} us (range {b[0]:F0}–{b[^1]:F0}), ratio {ma / mb:F3}"));
        }
    }

    private static double TimeStep(Action step, int calls)
    {
        long t = Stopwatch.GetTimestamp();
        for (int i = 0; i < calls; i++)
        {
            step();
        }
        return Stopwatch.GetElapsedTime(t).TotalMicroseconds / calls;
    }

    private static float[] Fill(int n, Random rng)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)(rng.NextDouble() - 0.5);
        }
        return a;
    }

    private static void Report(string name, int n, int rounds, Action<int> kernel)
    {
        // Calls per sample: ≈ 2 ms of work.
        int calls = Math.Max(1, 2_000_000 / Math.Max(1, n / 4));
        var one = new List<double>();
        var two = new List<double>();
        for (int r = 0; r < rounds + 2; r++)
        {
            double a = Time(kernel, 1, calls), b = Time(kernel, 2, calls);
            if (r >= 2)
            {
                one.Add(a);
                two.Add(b);
            }
        }
        one.Sort();
        two.Sort();
        double m1 = one[one.Count / 2], m2 = two[two.Count / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}  {n}  {m1:F1}  {m2:F1}  {m1 / m2:F2}"));
    }

    private static double Time(Action<int> kernel, int threads, int calls)
    {
        long t = Stopwatch.GetTimestamp();
        for (int i = 0; i < calls; i++)
        {
            kernel(threads);
        }
        return Stopwatch.GetElapsedTime(t).TotalMicroseconds / calls;
    }
}
