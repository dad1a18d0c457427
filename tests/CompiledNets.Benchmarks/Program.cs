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
