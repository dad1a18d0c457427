using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using CompiledNets.Benchmarks;

if (args.Length > 0 && args[0] == "--drift")
{
    Drift.Run(args.Skip(1).ToArray());
    return;
}
if (args.Length > 0 && args[0] == "--residual")
{
    ResidualInterleaved.Run();
    return;
}
if (args.Length > 0 && args[0] == "--compare")
{
    // --compare cn|ts [--seconds S] [--threads T] [--peak] [WORKLOAD...]: one JSON line per workload (compare.py).
    var names = new List<string>();
    double seconds = 1;
    int threads = Environment.ProcessorCount;
    bool peak = false;
    for (int i = 2; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--seconds": seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
            case "--threads": threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
            case "--peak": peak = true; break;
            default: names.Add(args[i]); break;
        }
    }
    if (args[1] == "ts")
    {
        CompiledNets.Benchmarks.Compare.TorchSharpWorkloads.Run(names, seconds, threads, Console.Out);
    }
    else
    {
        CompiledNets.Benchmarks.Compare.CompiledNetsWorkloads.Run(names, seconds, threads, peak, Console.Out);
    }
    return;
}
if (args.Length > 0 && args[0] == "--gemm")
{
    GemmBench.Run(args.Skip(1).ToArray());
    return;
}
if (args.Length > 0 && args[0] == "--optim-step")
{
    OptimBench.RunSteps(args.Skip(1).ToArray());
    return;
}
if (args.Length > 0 && args[0] == "--optim")
{
    OptimBench.Run(args.Skip(1).ToArray());
    return;
}
if (args.Length > 0 && args[0] == "--profile")
{
    Profiler.Run(args.Skip(1).ToArray());
    return;
}

// In process: BenchmarkDotNet's usual per-benchmark project would copy LibTorch's native libraries
// again, without the GLIBCXX fix the build applies to ours (see the .csproj). Fixed counts keep the
// whole suite near five minutes on a 2-core machine.
var job = Job.Default
    .WithToolchain(InProcessEmitToolchain.Instance)
    .WithLaunchCount(1)
    .WithWarmupCount(6)
    .WithIterationCount(25)
    .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(400))
    .WithId("Bench25");
// The default config already exports GitHub markdown, CSV and HTML tables (BenchmarkDotNet.Artifacts/results).
var config = DefaultConfig.Instance
    .AddJob(job)
    .AddColumn(StatisticColumn.Median);
BenchmarkRunner.Run(typeof(TrainingStep).Assembly, config, args);
