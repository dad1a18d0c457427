using System.Diagnostics;
using CompiledNets.Kernels.Cpu;

namespace CompiledNets.Benchmarks;

/// <summary>
/// <c>--profile [CASE...]</c>: a Stopwatch breakdown of a training step by phase (forward, loss, backward,
/// step, zero_grad) in both frameworks, and, for the CompiledNets side, by Linear kernel at the case's sizes.
/// </summary>
public static class Profiler
{
    private static readonly string[] Phases = ["forward", "loss", "backward", "step", "zero_grad"];

    /// <summary>Prints the breakdowns for the given cases (all when none); <c>--lr X</c> sets Adam's rate (default 0, as in the benchmarks).</summary>
    public static void Run(string[] args)
    {
        float lr = CaseData.BenchmarkLearningRate;
        int lrAt = Array.IndexOf(args, "--lr");
        if (lrAt >= 0)
        {
            lr = float.Parse(args[lrAt + 1], System.Globalization.CultureInfo.InvariantCulture);
            args = args.Where((_, i) => i != lrAt && i != lrAt + 1).ToArray();
        }
        var cases = args.Length == 0 ? Enum.GetValues<Case>() : args.Select(Enum.Parse<Case>).ToArray();
        foreach (var c in cases)
        {
            var data = CaseData.For(c);
            int steps = c == Case.Mlp784_b256 ? 40 : 3000;
            Console.WriteLine($"## {c} (batch {data.Batch}, widths {string.Join("→", data.Widths)}), Adam lr {lr}, mean of {steps} steps after ≥ 1.5 s of warm-up, µs");
            Console.WriteLine();
            Console.WriteLine($"| framework | {string.Join(" | ", Phases)} | total |");
            Console.WriteLine($"|---|{string.Concat(Enumerable.Repeat("---:|", Phases.Length + 1))}");
            using (var cn = new CompiledNetsRunner(data, lr))
            {
                PrintPhases("CompiledNets", cn, steps);
            }
            using (var ts = new TorchSharpRunner(data, lr))
            {
                PrintPhases("TorchSharp", ts, steps);
            }
            Console.WriteLine();
            PrintKernels(data, c == Case.Mlp784_b256 ? 20 : 2000);
            Console.WriteLine();
        }
    }

    private static void PrintPhases(string name, IStepRunner runner, int steps)
    {
        var ticks = new long[Phases.Length];
        WarmUp(() => runner.TrainStepTimed(ticks), steps / 4);
        Array.Clear(ticks);
        for (int i = 0; i < steps; i++)
        {
            runner.TrainStepTimed(ticks);
        }
        double Us(long t) => t * 1e6 / Stopwatch.Frequency / steps;
        Console.WriteLine($"| {name} | {string.Join(" | ", ticks.Select(t => Us(t).ToString("F1")))} | {Us(ticks.Sum()):F1} |");
    }

    /// <summary>Times each Linear kernel call the generated code makes for this case, with GFLOP/s (2·batch·in·out per GEMM).</summary>
    private static void PrintKernels(CaseData data, int reps)
    {
        Console.WriteLine($"CompiledNets Linear kernels at these sizes (mean of {reps} calls after ≥ 1.5 s of warm-up; GFLOP/s = 2·batch·in·out / time):");
        Console.WriteLine();
        Console.WriteLine("| layer | kernel | µs | GFLOP/s |");
        Console.WriteLine("|---|---|---:|---:|");
        int batch = data.Batch;
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
        double total = 0;
        for (int l = 0; l + 1 < data.Widths.Length; l++)
        {
            int inF = data.Widths[l], outF = data.Widths[l + 1];
            float[] x = Rand(batch * inF), w = Rand(outF * inF), b = Rand(outF), y = new float[batch * outF];
            float[] dy = Rand(batch * outF), dx = new float[batch * inF], dw = new float[outF * inF], db = new float[outF];
            double flops = 2.0 * batch * inF * outF;
            string layer = $"{inF}→{outF}";
            total += Time(layer, "Forward (+bias, ReLU)", flops, reps, () => LinearKernels.Forward(x, w, b, y, batch, inF, outF, relu: l + 2 < data.Widths.Length));
            total += Time(layer, "BackwardWeight", flops, reps, () => LinearKernels.BackwardWeight(dy, x, dw, batch, inF, outF));
            total += Time(layer, "BackwardBias", 0, reps, () => LinearKernels.BackwardBias(dy, db, batch, outF));
            if (l > 0)
            {
                total += Time(layer, "BackwardInput", flops, reps, () => LinearKernels.BackwardInput(dy, w, dx, batch, inF, outF));
            }
        }
        Console.WriteLine($"| all | sum of the kernels above | {total:F1} | |");
    }

    /// <summary>Calls <paramref name="call"/> at least <paramref name="count"/> times and for at least 1.5 s, so the JIT has tiered up.</summary>
    private static void WarmUp(Action call, int count)
    {
        long until = Stopwatch.GetTimestamp() + (long)(1.5 * Stopwatch.Frequency);
        for (int i = 0; i < count || Stopwatch.GetTimestamp() < until; i++)
        {
            call();
        }
    }

    private static double Time(string layer, string kernel, double flops, int reps, Action call)
    {
        WarmUp(call, reps / 4);
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < reps; i++)
        {
            call();
        }
        double us = (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency / reps;
        string gflops = flops > 0 ? (flops / us / 1e3).ToString("F1") : "";
        Console.WriteLine($"| {layer} | {kernel} | {us:F1} | {gflops} |");
        return us;
    }
}
