using CompiledNets.Benchmarks.Compare;
using Xunit;

namespace CompiledNets.Tests.Benchmarks;

/// <summary>
/// A dry run of the CompiledNets side of <c>tests/CompiledNets.Benchmarks/compare.py</c>: every workload builds, runs
/// and prints the line the script parses; none allocates per step. No timing is asserted.
/// </summary>
public sealed class CompareDryRunTests
{
    [Fact]
    public void Every_workload_runs_and_prints_one_json_line()
    {
        var output = new StringWriter();
        CompiledNetsWorkloads.Run([], seconds: 0.001, threads: 2, peak: false, output);
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Workload.All.Select(w => w.Name), lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("workload").GetString()));
        foreach (string line in lines)
        {
            var root = System.Text.Json.JsonDocument.Parse(line).RootElement;
            double us = root.GetProperty("us").GetDouble();
            Assert.True(us > 0 && double.IsFinite(us), line);
        }
    }

    [Theory]
    [InlineData("iris-step", 20)]
    [InlineData("iris-step-112", 20)]
    [InlineData("digits-step", 20)]
    [InlineData("mlp-large", 3)]   // the GEMM, Adam and ZeroGrad (1.86 M values) on 2 threads
    [InlineData("infer-1", 20)]    // with ReuseOutputView
    [InlineData("infer-large", 3)]
    public void Workloads_allocate_nothing_per_step(string name, int calls)
    {
        var w = Workload.All.Single(w => w.Name == name);
        int saved = Threads.Count;
        try
        {
            Threads.Count = w.AllThreads ? 2 : 1; // the threaded paths even on a one-core runner
            Action step = CompiledNetsWorkloads.Build(w);
            Assert.Equal(0, Allocations.PerCall(step, calls));
        }
        finally
        {
            Threads.Count = saved;
        }
    }

    [Fact]
    public void Flops_count_the_forward_once_and_the_backward_twice_except_into_the_input()
    {
        var iris = Workload.All.Single(w => w.Name == "iris-step");
        Assert.Equal(2.0 * 32 * (4 * 10 + 10 * 3) + 2.0 * 32 * (4 * 10 + 2 * 10 * 3), iris.Flops);
        Assert.Equal(2.0 * (4 * 10 + 10 * 3), Workload.All.Single(w => w.Name == "infer-1").Flops);
    }
}
