using Xunit;

namespace CompiledNets.Tests.Gradients;

/// <summary>
/// Every loss against a float64 reference written from PyTorch's formulas: the value, and the input gradient against
/// central finite differences of that reference (h = 1e-6), for every reduction (none: the gradient of Σ uᵢ·ℓᵢ for
/// random upstream weights u). Inputs are kept away from the kinks of L1, Huber and SmoothL1 and from BCE's edges.
/// </summary>
public sealed class LossFiniteDifferenceTests
{
    private const double H = 1e-6;

    public static TheoryData<string, Reduction> Cases()
    {
        var data = new TheoryData<string, Reduction>();
        foreach (string loss in new[] { "ce", "ce_weight_ignore_smoothing", "nll", "bcelogits", "bce", "mse", "l1", "huber", "smoothl1" })
        {
            foreach (var r in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
            {
                data.Add(loss, r);
            }
        }
        return data;
    }

    /// <summary>The per-element losses in float64 (one per row for the class losses) and the mean's divisor.</summary>
    private delegate (double[] Elements, double Divisor) Reference(double[] x);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Value_and_gradient_match_a_float64_reference_and_finite_differences(string loss, Reduction reduction)
    {
        const int batch = 5, k = 4;
        var g = new Generator((ulong)(loss.GetHashCode() & 0xffff) + 7 * (ulong)reduction + 1);
        double Normal() => g.NextNormal();
        int[] labels = Enumerable.Range(0, batch).Select(_ => g.NextInt(k)).ToArray();
        labels[3] = -100;
        float[] weight = [0.5f, 2f, 1f, 1.5f];
        float[] x;
        float[] t = Enumerable.Range(0, batch * k).Select(_ => (float)Normal()).ToArray();
        float[] tBin = Enumerable.Range(0, batch * k).Select(i => i % 5 == 0 ? 0.3f : g.NextFloat() < 0.5f ? 0f : 1f).ToArray();
        LossFunction fn;
        Loss result;
        Reference reference;
        var shape = new[] { batch, k };
        switch (loss)
        {
            case "ce":
            case "ce_weight_ignore_smoothing":
            case "nll":
            {
                bool full = loss == "ce_weight_ignore_smoothing";
                int[] y = full ? labels : labels.Select(l => l < 0 ? 0 : l).ToArray();
                double[] w = full || loss == "nll" ? weight.Select(v => (double)v).ToArray() : [1, 1, 1, 1];
                double eps = full ? 0.2 : 0;
                x = Enumerable.Range(0, batch * k).Select(_ => (float)(2 * Normal())).ToArray();
                if (loss == "nll")
                {
                    var nll = new NLLLoss(Tensor.FromArray(weight), reduction: reduction);
                    fn = nll;
                    result = nll.Forward(Tensor.FromArray(x, shape), IntTensor.FromArray(y));
                    reference = xs =>
                    {
                        var e = new double[batch];
                        double d = 0;
                        for (int r = 0; r < batch; r++)
                        {
                            e[r] = -w[y[r]] * xs[r * k + y[r]];
                            d += w[y[r]];
                        }
                        return (e, d);
                    };
                    break;
                }
                var ce = new CrossEntropyLoss(full ? Tensor.FromArray(weight) : null, -100, reduction, (float)eps);
                fn = ce;
                result = ce.Forward(Tensor.FromArray(x, shape), IntTensor.FromArray(y));
                reference = xs =>
                {
                    var e = new double[batch];
                    double d = 0;
                    for (int r = 0; r < batch; r++)
                    {
                        if (y[r] == -100)
                        {
                            continue;
                        }
                        double max = Enumerable.Range(0, k).Max(j => xs[r * k + j]);
                        double lse = max + Math.Log(Enumerable.Range(0, k).Sum(j => Math.Exp(xs[r * k + j] - max)));
                        double smooth = Enumerable.Range(0, k).Sum(j => w[j] * (lse - xs[r * k + j]));
                        e[r] = (1 - eps) * w[y[r]] * (lse - xs[r * k + y[r]]) + eps / k * smooth;
                        d += w[y[r]];
                    }
                    return (e, d);
                };
                break;
            }
            case "bcelogits":
            {
                float[] pos = [3f, 0.5f, 1f, 2f];
                x = Enumerable.Range(0, batch * k).Select(_ => (float)(3 * Normal())).ToArray();
                var bce = new BCEWithLogitsLoss(Tensor.FromArray(weight), reduction, Tensor.FromArray(pos));
                fn = bce;
                result = bce.Forward(Tensor.FromArray(x, shape), Tensor.FromArray(tBin, shape));
                reference = xs => (xs.Select((v, i) =>
                {
                    double s = 1 / (1 + Math.Exp(-v));
                    double tt = tBin[i];
                    return -weight[i % k] * (pos[i % k] * tt * Math.Log(s) + (1 - tt) * Math.Log(1 - s));
                }).ToArray(), xs.Length);
                break;
            }
            case "bce":
            {
                x = Enumerable.Range(0, batch * k).Select(_ => 0.05f + 0.9f * g.NextFloat()).ToArray();
                var bce = new BCELoss(Tensor.FromArray(weight), reduction);
                fn = bce;
                result = bce.Forward(Tensor.FromArray(x, shape), Tensor.FromArray(tBin, shape));
                reference = xs => (xs.Select((v, i) => -weight[i % k] * (tBin[i] * Math.Log(v) + (1 - tBin[i]) * Math.Log(1 - v))).ToArray(), xs.Length);
                break;
            }
            default:
            {
                // Differences spread over ±3, kept ≥ 0.01 away from 0 and from δ = β = 0.7.
                x = new float[batch * k];
                for (int i = 0; i < x.Length; i++)
                {
                    double d;
                    do
                    {
                        d = 1.5 * Normal();
                    }
                    while (Math.Abs(d) < 0.01 || Math.Abs(Math.Abs(d) - 0.7) < 0.01);
                    x[i] = t[i] + (float)d;
                }
                const double delta = 0.7;
                ElementwiseLoss e = loss switch
                {
                    "mse" => new MSELoss(reduction),
                    "l1" => new L1Loss(reduction),
                    "huber" => new HuberLoss(reduction, (float)delta),
                    _ => new SmoothL1Loss(reduction, (float)delta),
                };
                fn = e;
                result = e.Forward(Tensor.FromArray(x, shape), Tensor.FromArray(t, shape));
                Func<double, double> f = loss switch
                {
                    "mse" => d => d * d,
                    "l1" => Math.Abs,
                    "huber" => d => Math.Abs(d) < delta ? 0.5 * d * d : delta * (Math.Abs(d) - 0.5 * delta),
                    _ => d => Math.Abs(d) < delta ? 0.5 * d * d / delta : Math.Abs(d) - 0.5 * delta,
                };
                reference = xs => (xs.Select((v, i) => f(v - t[i])).ToArray(), xs.Length);
                break;
            }
        }

        double[] xd = x.Select(v => (double)v).ToArray();
        var (elements, divisor) = reference(xd);
        double[] upstream = reduction == Reduction.None
            ? elements.Select(_ => 2 * g.NextDouble() - 0.5).ToArray()
            : elements.Select(_ => reduction == Reduction.Mean ? 1 / divisor : 1.0).ToArray();
        double Objective(double[] xs)
        {
            var (e, _) = reference(xs);
            return e.Select((v, i) => v * upstream[i]).Sum();
        }

        if (reduction == Reduction.None)
        {
            Check.Close($"{loss} none: values", result.ToTensor().AsSpan(), elements, 1e-5, 1e-6);
        }
        else
        {
            Check.Close($"{loss} {reduction}: value", [result.Item()], [Objective(xd)], 1e-5, 1e-6);
        }
        var expected = new double[xd.Length];
        for (int i = 0; i < xd.Length; i++)
        {
            double v = xd[i];
            xd[i] = v + H;
            double plus = Objective(xd);
            xd[i] = v - H;
            double minus = Objective(xd);
            xd[i] = v;
            expected[i] = (plus - minus) / (2 * H);
        }
        var gradient = reduction == Reduction.None
            ? Tensor.FromArray(upstream.Select(u => (float)u).ToArray(), result.ToTensor().Shape.ToArray())
            : null;
        // The float32 upstream weights of none: the reference uses them rounded as the loss sees them.
        if (gradient is not null)
        {
            for (int i = 0; i < upstream.Length; i++)
            {
                upstream[i] = gradient.AsSpan()[i];
            }
            for (int i = 0; i < xd.Length; i++)
            {
                double v = xd[i];
                xd[i] = v + H;
                double plus = Objective(xd);
                xd[i] = v - H;
                double minus = Objective(xd);
                xd[i] = v;
                expected[i] = (plus - minus) / (2 * H);
            }
        }
        Check.Close($"{loss} {reduction}: gradient", fn.InputGradFor(gradient), expected, 1e-5, 1e-6);
    }

    /// <summary>LogSoftmax in a generated model, last (with NLLLoss) and in the middle: parameter gradients against finite differences of a float64 forward.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    public void LogSoftmax_models_backward_matches_finite_differences(int batch)
    {
        Generator.Default.ManualSeed(21);
        var last = new Models.LogSoftmaxNet();
        var middle = new Models.LogSoftmaxMiddleNet();
        var g = new Generator(5);
        foreach (var (net, inF, outF) in new (Module, int, int)[] { (last, 4, 3), (middle, 3, 2) })
        {
            float[] x = Enumerable.Range(0, batch * inF).Select(_ => (float)(2 * g.NextNormal())).ToArray();
            int[] y = Enumerable.Range(0, batch).Select(_ => g.NextInt(outF)).ToArray();
            var input = Tensor.FromArray(x, batch, inF);
            var lossFn = new NLLLoss(Tensor.FromArray(Enumerable.Range(1, outF).Select(v => (float)v).ToArray()));
            var output = net is Models.LogSoftmaxNet l ? l.Forward(input) : ((Models.LogSoftmaxMiddleNet)net).Forward(input);
            var eager = Eager(net, x.Select(v => (double)v).ToArray(), batch);
            Check.Close($"{net.GetType().Name} output", output.AsSpan(), eager, 1e-5, 1e-6);
            // Last: NLLLoss with class weights 1, 2, 3. Middle: MSELoss against a fixed target.
            float[] target = Enumerable.Range(0, batch * outF).Select(_ => (float)g.NextNormal()).ToArray();
            bool isLast = net is Models.LogSoftmaxNet;
            if (isLast)
            {
                lossFn.Forward(output, IntTensor.FromArray(y)).Backward();
            }
            else
            {
                new MSELoss().Forward(output, Tensor.FromArray(target, batch, outF)).Backward();
            }
            foreach (var (name, p) in net.NamedParameters())
            {
                var expected = new double[p.Numel];
                for (int i = 0; i < p.Numel; i++)
                {
                    float v = p.Data[i];
                    double Objective(double delta)
                    {
                        p.Data[i] = v;
                        var logp = EagerWith(net, x, batch, p, i, v + delta);
                        if (!isLast)
                        {
                            return logp.Select((o, j) => (o - target[j]) * (o - target[j])).Average();
                        }
                        double total = 0, d = 0;
                        for (int r = 0; r < batch; r++)
                        {
                            total -= (y[r] + 1) * logp[r * outF + y[r]];
                            d += y[r] + 1;
                        }
                        return total / d;
                    }
                    expected[i] = (Objective(H) - Objective(-H)) / (2 * H);
                    p.Data[i] = v;
                }
                Check.Close($"{net.GetType().Name} {name}.grad", p.Grad, expected, 1e-4, 1e-6);
            }
        }
    }

    /// <summary>The model's forward in float64, from its parameters, layer by layer.</summary>
    private static double[] Eager(Module net, double[] x, int batch) => EagerWith(net, x.Select(v => (float)v).ToArray(), batch, null, 0, 0);

    private static double[] EagerWith(Module net, float[] xf, int batch, Parameter? changed, int index, double value)
    {
        double[] a = xf.Select(v => (double)v).ToArray();
        int width = a.Length / batch;
        foreach (var child in net.Children())
        {
            switch (child)
            {
                case Linear lin:
                {
                    double W(int o, int i) => ReferenceEquals(lin.Weight, changed) && o * lin.InFeatures + i == index ? value : lin.Weight.Data[o * lin.InFeatures + i];
                    double B(int o) => lin.Bias is null ? 0 : ReferenceEquals(lin.Bias, changed) && o == index ? value : lin.Bias.Data[o];
                    var next = new double[batch * lin.OutFeatures];
                    for (int r = 0; r < batch; r++)
                    {
                        for (int o = 0; o < lin.OutFeatures; o++)
                        {
                            double s = B(o);
                            for (int i = 0; i < lin.InFeatures; i++)
                            {
                                s += a[r * lin.InFeatures + i] * W(o, i);
                            }
                            next[r * lin.OutFeatures + o] = s;
                        }
                    }
                    a = next;
                    width = lin.OutFeatures;
                    break;
                }
                case ReLU:
                    a = a.Select(v => Math.Max(v, 0)).ToArray();
                    break;
                case LogSoftmax:
                    for (int r = 0; r < batch; r++)
                    {
                        double max = Enumerable.Range(0, width).Max(j => a[r * width + j]);
                        double lse = max + Math.Log(Enumerable.Range(0, width).Sum(j => Math.Exp(a[r * width + j] - max)));
                        for (int j = 0; j < width; j++)
                        {
                            a[r * width + j] -= lse;
                        }
                    }
                    break;
                default:
                    throw new NotSupportedException(child.GetType().Name);
            }
        }
        return a;
    }
}
