using System.Globalization;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;
using TorchNn = TorchSharp.torch.nn;

namespace CompiledNets.Benchmarks.Compare;

/// <summary>
/// The TorchSharp side of the three-way comparison: an <c>nn.Sequential</c> of the same layers,
/// <c>cross_entropy</c>, <c>optim.Adam</c> (lr 0), <c>zero_grad()</c>, each step in a dispose scope; eval forwards
/// under <c>no_grad</c>. Timed by the same <see cref="CompiledNetsWorkloads.Measure"/>.
/// </summary>
public static class TorchSharpWorkloads
{
    /// <summary>Builds the step of <paramref name="w"/>.</summary>
    public static Action Build(Workload w)
    {
        torch.manual_seed(42);
        var layers = new List<(string, TorchNn.Module<TorchTensor, TorchTensor>)>();
        int[] widths = w.Widths;
        for (int i = 0; i + 1 < widths.Length; i++)
        {
            layers.Add(($"linear{i}", TorchNn.Linear(widths[i], widths[i + 1])));
            if (i + 2 < widths.Length)
            {
                layers.Add(($"relu{i}", TorchNn.ReLU()));
                if (w.Dropout && i == 0)
                {
                    layers.Add(("drop", TorchNn.Dropout(0.2)));
                }
            }
        }
        var model = TorchNn.Sequential(layers);
        var (xs, ys) = w.Data();
        var x = torch.tensor(xs, [w.Batch, widths[0]]);
        var y = torch.tensor(ys.Select(v => (long)v).ToArray(), [w.Batch]);
        if (!w.Train)
        {
            model.eval();
            return () =>
            {
                using var scope = torch.NewDisposeScope();
                using var noGrad = torch.no_grad();
                model.forward(x);
            };
        }
        var opt = torch.optim.Adam(model.parameters(), lr: 0.0);
        model.train();
        return () =>
        {
            using var scope = torch.NewDisposeScope();
            var loss = TorchNn.functional.cross_entropy(model.forward(x), y);
            loss.backward();
            opt.step();
            opt.zero_grad();
        };
    }

    /// <summary>As <see cref="CompiledNetsWorkloads.Run"/>, with <c>torch.set_num_threads</c>.</summary>
    public static void Run(IReadOnlyList<string> names, double seconds, int threads, TextWriter output)
    {
        foreach (var w in Workload.All)
        {
            if (names.Count > 0 && !names.Contains(w.Name))
            {
                continue;
            }
            int t = w.AllThreads ? threads : 1;
            torch.set_num_threads(t);
            var (us, _) = CompiledNetsWorkloads.Measure(Build(w), seconds);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"fw\": \"TorchSharp\", \"workload\": \"{w.Name}\", \"threads\": {t}, \"us\": {us:R}}}"));
        }
    }
}
