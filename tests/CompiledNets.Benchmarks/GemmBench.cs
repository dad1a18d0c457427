using System.Diagnostics;
using System.Runtime.InteropServices;
using CompiledNets.Benchmarks.Compare;
using CompiledNets.Kernels.Cpu;

namespace CompiledNets.Benchmarks;

/// <summary>
/// <c>--gemm [ROUNDS]</c>: the GEMM behind large <see cref="Linear"/> layers against one core's FMA peak measured in the
/// same process: the 8×32 micro-kernel alone (packed operands in L1/L2), the five products of the mlp-large training
/// step (784→1024→1024, batch 256) on 1 and on all threads (and the process CPU time they take on all threads over one),
/// the step itself, and time per sample from batch 64 to 4096.
/// </summary>
/// <remarks>
/// One-thread figures are the median <b>thread CPU time</b> per call (<c>CLOCK_THREAD_CPUTIME_ID</c>): on a machine
/// shared with other builds a 15 ms call is preempted several times, which wall time counts and CPU time does not.
/// All-thread figures are wall time (best call), meaningful only when the other cores are idle (see the load printed).
/// </remarks>
public static unsafe class GemmBench
{
    /// <summary>Runs the measurements <paramref name="rounds"/> times (default 3) and prints the medians.</summary>
    public static void Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 3;
        int all = Environment.ProcessorCount;
        var results = new Dictionary<string, List<double>>();
        void Add(string key, double value)
        {
            if (!results.TryGetValue(key, out var list))
            {
                results[key] = list = [];
            }
            list.Add(value);
        }
        var rng = new Random(7);
        float[] Rand(int n)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++)
            {
                a[i] = (float)(rng.NextDouble() - 0.5);
            }
            return a;
        }
        const int batch = 256;
        var layers = new (int In, int Out)[] { (784, 1024), (1024, 1024) };
        var data = layers.Select(l => (X: Rand(batch * l.In), W: Rand(l.Out * l.In), B: Rand(l.Out), Y: new float[batch * l.Out],
            Dy: Rand(batch * l.Out), Dx: new float[batch * l.In], Dw: new float[l.Out * l.In])).ToArray();
        var step1 = CompiledNetsWorkloads.Build(Workload.All.Single(w => w.Name == "mlp-large-1t"));
        var stepN = CompiledNetsWorkloads.Build(Workload.All.Single(w => w.Name == "mlp-large"));
        double stepFlops = Workload.All.Single(w => w.Name == "mlp-large-1t").Flops;
        Console.WriteLine($"Vector512 hardware-accelerated: {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}; {all} threads; load average at start {LoadAverage()}");
        for (int r = 0; r < rounds; r++)
        {
            double peak = CompiledNetsWorkloads.PeakGflops();
            Add("peak (GFLOP/s, one core)", peak);
            double kernel = KernelAlone();
            Add("micro-kernel alone, % of peak", 100 * kernel / peak);
            foreach (int threads in all > 1 ? new[] { 1, all } : new[] { 1 })
            {
                Threads.Count = threads;
                for (int li = 0; li < layers.Length; li++)
                {
                    var (inF, outF) = layers[li];
                    var d = data[li];
                    double flops = 2.0 * batch * inF * outF / 1e3;
                    Func<Action, double> time = threads == 1 ? a => CpuMicroseconds(a, 0.4) : a => BestWallMicroseconds(a, 0.4);
                    string at = $"{inF}→{outF}, {threads}t, % of 1-core peak";
                    var products = new List<(string Name, Action Call)>
                    {
                        ("forward", () => LinearKernels.Forward(d.X, d.W, d.B, d.Y, batch, inF, outF, relu: true)),
                        ("backward-weight", () => LinearKernels.BackwardWeight(d.Dy, d.X, d.Dw, batch, inF, outF)),
                    };
                    if (li > 0)
                    {
                        products.Add(("backward-input", () => LinearKernels.BackwardInput(d.Dy, d.W, d.Dx, batch, inF, outF)));
                    }
                    foreach (var (name, call) in products)
                    {
                        Add($"{name} {at}", 100 * flops / time(call) / peak);
                        if (threads > 1)
                        {
                            // CPU time of the whole process per call, all threads over one: the cost of splitting the
                            // work (waits, shared packing, cache traffic), readable even when the other cores are busy.
                            Threads.Count = 1;
                            double one = ProcessCpuMicroseconds(call);
                            Threads.Count = threads;
                            Add($"{name} {inF}→{outF}, CPU time {threads}t / 1t", ProcessCpuMicroseconds(call) / one);
                        }
                    }
                }
            }
            Threads.Count = 1;
            double us1 = CpuMicroseconds(step1, 1.0);
            Add("mlp-large-1t step, ms (thread CPU time)", us1 / 1e3);
            Add("mlp-large-1t step, % of peak", 100 * stepFlops / us1 / 1e3 / peak);
            if (all > 1)
            {
                Threads.Count = all;
                double usN = BestWallMicroseconds(stepN, 1.0);
                Add($"mlp-large {all}t step, ms (best wall)", usN / 1e3);
                Add($"mlp-large {all}t step, speed-up over 1t", us1 / usN);
            }
        }
        Threads.Count = all;
        Console.WriteLine($"| measure (median of {rounds} rounds) | value |");
        Console.WriteLine("|---|---:|");
        foreach (var (key, list) in results)
        {
            list.Sort();
            Console.WriteLine($"| {key} | {list[list.Count / 2]:F2} |");
        }
        Console.WriteLine();
        Console.WriteLine("Time per sample, 1 thread, all three products of 784→1024 and 1024→1024 (µs, thread CPU time):");
        Console.WriteLine();
        Console.WriteLine("| batch | µs per sample |");
        Console.WriteLine("|---:|---:|");
        Threads.Count = 1;
        foreach (int b in new[] { 64, 256, 1024, 4096 })
        {
            double total = 0;
            foreach (var (inF, outF) in layers)
            {
                float[] x = Rand(b * inF), w = Rand(outF * inF), bias = Rand(outF), y = new float[b * outF];
                float[] dy = Rand(b * outF), dx = new float[b * inF], dw = new float[outF * inF];
                total += CpuMicroseconds(() => LinearKernels.Forward(x, w, bias, y, b, inF, outF, relu: true), 0.4);
                total += CpuMicroseconds(() => LinearKernels.BackwardInput(dy, w, dx, b, inF, outF), 0.4);
                total += CpuMicroseconds(() => LinearKernels.BackwardWeight(dy, x, dw, b, inF, outF), 0.4);
            }
            Console.WriteLine($"| {b} | {total / b:F1} |");
        }
        Threads.Count = all;
        Console.WriteLine();
        Console.WriteLine($"load average at end {LoadAverage()}");
    }

    /// <summary>The micro-kernel on packed operands: an 8×256 sliver of A against 16 micro-panels of B (512 KiB, L2), GFLOP/s.</summary>
    private static double KernelAlone()
    {
        float[] a = new float[8 * 256 + 16], b = new float[256 * 512 + 16], c = new float[8 * 512 + 16], t = new float[512];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = 1e-3f * (i % 17);
        }
        for (int i = 0; i < b.Length; i++)
        {
            b[i] = 1e-3f * (i % 13);
        }
        fixed (float* a0 = a, b0 = b, c0 = c, t0 = t)
        {
            float* ap = Align(a0), bp = Align(b0), cp = Align(c0), tp = t0;
            double us = CpuMicroseconds(() =>
            {
                for (int rep = 0; rep < 8; rep++)
                {
                    for (int jr = 0; jr < 16; jr++)
                    {
                        if (Gemm.NR == 32)
                        {
                            Gemm.Kernel8x32(256, ap, bp + jr * 256 * 32, cp + jr * 32, 512, 8, 32, true, null, false, tp);
                        }
                    }
                }
            }, 0.3);
            return 8 * 2.0 * 8 * 512 * 256 / us / 1e3;
        }
        static float* Align(float* p) => p + ((64 - ((nint)p & 63)) & 63) / sizeof(float);
    }

    private static double CpuMicroseconds(Action call, double seconds)
    {
        var times = Repeat(call, seconds, ThreadCpuNanoseconds);
        return times[times.Count / 2] / 1e3;
    }

    private static double ProcessCpuMicroseconds(Action call)
    {
        var times = Repeat(call, 0.3, ProcessCpuNanoseconds);
        return times[times.Count / 2] / 1e3;
    }

    private static double BestWallMicroseconds(Action call, double seconds)
    {
        var times = Repeat(call, seconds, () => Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));
        return times[0] / 1e3;
    }

    private static List<double> Repeat(Action call, double seconds, Func<double> clock)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < 2 || Stopwatch.GetElapsedTime(start).TotalSeconds < seconds * 0.3; i++)
        {
            call();
        }
        var times = new List<double>();
        start = Stopwatch.GetTimestamp();
        while (times.Count < 7 || Stopwatch.GetElapsedTime(start).TotalSeconds < seconds)
        {
            double t0 = clock();
            call();
            times.Add(clock() - t0);
        }
        times.Sort();
        return times;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds, Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

    /// <summary>CPU time of the calling thread (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>); falls back to wall time elsewhere.</summary>
    private static double ThreadCpuNanoseconds()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(3, out var t) == 0)
        {
            return t.Seconds * 1e9 + t.Nanoseconds;
        }
        return Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency);
    }

    /// <summary>CPU time of the whole process, all threads (Linux <c>CLOCK_PROCESS_CPUTIME_ID</c>); wall time elsewhere.</summary>
    private static double ProcessCpuNanoseconds()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(2, out var t) == 0)
        {
            return t.Seconds * 1e9 + t.Nanoseconds;
        }
        return Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency);
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
