using System.Diagnostics;
using System.Globalization;

namespace CompiledNets.Benchmarks;

/// <summary>
/// <c>--drift CASE STEPS WINDOW [LR]</c>: trains on the case's one batch with a real learning rate (default 1e-3)
/// and prints the mean step time per window, with CompiledNets' loss and the number of subnormal values in its
/// loss gradient and parameter gradients: shows why the benchmarks run Adam at <see cref="CaseData.BenchmarkLearningRate"/>.
/// </summary>
public static class Drift
{
    /// <summary>Runs the demonstration.</summary>
    public static void Run(string[] args)
    {
        var c = Enum.Parse<Case>(args[0]);
        int total = int.Parse(args[1], CultureInfo.InvariantCulture);
        int window = int.Parse(args[2], CultureInfo.InvariantCulture);
        float lr = args.Length > 3 ? float.Parse(args[3], CultureInfo.InvariantCulture) : 1e-3f;
        var data = CaseData.For(c);
        using (var cn = new CompiledNetsRunner(data, lr))
        {
            Report("CompiledNets", cn, total, window, () =>
            {
                var (loss, lossSub, lossCount, paramSub, paramCount) = cn.CountSubnormalGradients();
                return $"; loss {loss:E2}; subnormal: {lossSub} of {lossCount} loss-gradient values, {paramSub} of {paramCount} parameter gradients";
            });
        }
        using (var ts = new TorchSharpRunner(data, lr))
        {
            Report("TorchSharp", ts, total, window, () => "");
        }
    }

    private static void Report(string name, IStepRunner runner, int total, int window, Func<string> state)
    {
        var ticks = new long[5];
        for (int s = 0; s < total; s += window)
        {
            Array.Clear(ticks);
            for (int i = 0; i < window; i++)
            {
                runner.TrainStepTimed(ticks);
            }
            double Us(long t) => t * 1e6 / Stopwatch.Frequency / window;
            Console.WriteLine($"{name} after {s + window} steps: {Us(ticks.Sum()):F1} µs/step (forward {Us(ticks[0]):F1}, backward {Us(ticks[2]):F1}, step {Us(ticks[3]):F1}) {state()}");
        }
    }
}
