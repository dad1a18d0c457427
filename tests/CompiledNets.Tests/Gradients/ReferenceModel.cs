namespace CompiledNets.Tests.Gradients;

/// <summary>
/// A float64 re-implementation of a model's forward pass and losses, read off the live module tree
/// (<see cref="Module.NamedChildren"/>), used as the function that finite differences differentiate.
/// </summary>
/// <remarks>
/// Why float64: central differences of the float32 generated forward need a large step (≈1e-2 to
/// 1e-3) to rise above rounding, which costs truncation error and kink crossings and forces loose
/// tolerances (≈1e-2). In float64 a step of 1e-6 has rounding error ≈1e-10 and truncation ≈1e-12,
/// so the only error left in a comparison is the float32 error of the generated backward itself
/// (≈1e-6 relative), and the tolerances can be tight. The reference is tied to the generated
/// forward by a separate assertion that both give the same outputs (float32 accuracy), so it
/// cannot silently model a different function.
/// Dropout masks: each <see cref="Dropout"/> must have its own <see cref="Generator"/>; the reference
/// takes the Philox seed as the first <see cref="Generator.NextUInt64"/> of a fresh generator with that
/// generator's <see cref="Generator.InitialSeed"/> and drops value <c>i</c> (row-major) when
/// <c>Philox.Uniform((seed, 0, 0), i) &lt; p</c> (what <c>PhiloxDropoutKernels.Forward</c> documents), and the
/// tests re-seed the model's generators before every generated forward, so both see the same mask.
/// </remarks>
internal sealed class ReferenceModel
{
    private readonly Module _model;
    private readonly Dictionary<Parameter, double[]> _values = new(ReferenceEqualityComparer.Instance);

    public ReferenceModel(Module model)
    {
        _model = model;
        foreach (var p in model.Parameters())
        {
            _values[p] = p.Data.ToArray().Select(v => (double)v).ToArray();
        }
    }

    /// <summary>The float64 copy of <paramref name="p"/>'s values that the reference reads; perturb it for finite differences.</summary>
    public double[] Values(Parameter p) => _values[p];

    /// <summary>The forward pass on <paramref name="x"/> (<c>[batch, width]</c>); <paramref name="reluPattern"/> collects the sign of every ReLU input.</summary>
    public double[] Forward(double[] x, int batch, List<bool>? reluPattern = null)
    {
        _pattern = reluPattern;
        return Run(_model, x, batch, reluPattern);
    }

    private List<bool>? _pattern;

    /// <summary>For a custom forward's reference: runs <paramref name="module"/> (a layer or a model) on <paramref name="x"/>.</summary>
    public double[] Call(Module module, double[] x, int batch) => Run(module, x, batch, _pattern);

    /// <summary>ReLU, recording the sign pattern (for kink detection).</summary>
    public double[] Relu(double[] x)
    {
        _pattern?.AddRange(x.Select(v => v > 0));
        return x.Select(v => Math.Max(v, 0.0)).ToArray();
    }

    public static double[] Tanh(double[] x) => x.Select(Math.Tanh).ToArray();

    public static double[] Sigmoid(double[] x) => x.Select(v => 1.0 / (1.0 + Math.Exp(-v))).ToArray();

    public static double[] Add(double[] a, double[] b) => a.Zip(b, (u, v) => u + v).ToArray();

    public static double[] Mul(double[] a, double[] b) => a.Zip(b, (u, v) => u * v).ToArray();

    /// <summary><c>scale·x + shift</c>; the constants are the float32 ones of the compiled pass.</summary>
    public static double[] Affine(double[] x, double scale, double shift) => x.Select(v => (double)(float)scale * v + (float)shift).ToArray();

    /// <summary>Concatenation of <c>[batch, wᵢ]</c> arrays along the features.</summary>
    public static double[] Cat(int batch, params double[][] parts)
    {
        int width = parts.Sum(p => p.Length / batch);
        var y = new double[batch * width];
        for (int r = 0; r < batch; r++)
        {
            int offset = 0;
            foreach (var p in parts)
            {
                int w = p.Length / batch;
                Array.Copy(p, r * w, y, r * width + offset, w);
                offset += w;
            }
        }
        return y;
    }

    private double[] Run(Module module, double[] x, int batch, List<bool>? pattern)
    {
        int width = x.Length / batch;
        switch (module)
        {
            case Linear lin:
            {
                double[] w = _values[lin.Weight];
                double[]? b = lin.Bias is null ? null : _values[lin.Bias];
                int n = lin.InFeatures, m = lin.OutFeatures;
                var y = new double[batch * m];
                for (int r = 0; r < batch; r++)
                {
                    for (int o = 0; o < m; o++)
                    {
                        double s = b?[o] ?? 0.0;
                        for (int k = 0; k < n; k++)
                        {
                            s += x[r * n + k] * w[o * n + k];
                        }
                        y[r * m + o] = s;
                    }
                }
                return y;
            }
            case ReLU:
                pattern?.AddRange(x.Select(v => v > 0));
                return x.Select(v => Math.Max(v, 0.0)).ToArray();
            case CompiledNets.Sigmoid:
                return x.Select(v => 1.0 / (1.0 + Math.Exp(-v))).ToArray();
            case CompiledNets.Tanh:
                return x.Select(Math.Tanh).ToArray();
            case CompiledNets.Softmax:
                return Softmax(x, batch, width);
            case Dropout drop:
            {
                if (!drop.IsTraining)
                {
                    return (double[])x.Clone();
                }
                var key = new PhiloxKey(new Generator(drop.Generator.InitialSeed).NextUInt64(), 0, 0);
                double scale = 1.0 / (1.0 - drop.P);
                return x.Select((v, i) => Philox.Uniform(key, i) < drop.P ? 0.0 : v * scale).ToArray();
            }
            case ICustomForward custom:
                return custom.Reference(this, x, batch);
            default:
            {
                var children = module.NamedChildren().ToList();
                if (children.Count == 0)
                {
                    throw new NotSupportedException($"No reference for {module.GetType().Name}.");
                }
                double[] h = x;
                foreach (var (_, child) in children)
                {
                    h = Run(child, h, batch, pattern);
                }
                return h;
            }
        }
    }

    public static double[] Softmax(double[] x, int batch, int width)
    {
        var y = new double[x.Length];
        for (int r = 0; r < batch; r++)
        {
            double max = double.NegativeInfinity;
            for (int j = 0; j < width; j++)
            {
                max = Math.Max(max, x[r * width + j]);
            }
            double sum = 0;
            for (int j = 0; j < width; j++)
            {
                sum += y[r * width + j] = Math.Exp(x[r * width + j] - max);
            }
            for (int j = 0; j < width; j++)
            {
                y[r * width + j] /= sum;
            }
        }
        return y;
    }

    /// <summary>PyTorch's <c>CrossEntropyLoss()</c>, mean reduction: the mean over rows of <c>logsumexp(x) − x[label]</c>.</summary>
    public static double CrossEntropy(double[] logits, int[] labels, int batch)
    {
        int classes = logits.Length / batch;
        double total = 0;
        for (int r = 0; r < batch; r++)
        {
            double max = double.NegativeInfinity;
            for (int j = 0; j < classes; j++)
            {
                max = Math.Max(max, logits[r * classes + j]);
            }
            double sum = 0;
            for (int j = 0; j < classes; j++)
            {
                sum += Math.Exp(logits[r * classes + j] - max);
            }
            total += max + Math.Log(sum) - logits[r * classes + labels[r]];
        }
        return total / batch;
    }

    /// <summary>PyTorch's <c>MSELoss()</c>, mean reduction over all elements.</summary>
    public static double Mse(double[] output, double[] target)
    {
        double total = 0;
        for (int i = 0; i < output.Length; i++)
        {
            double d = output[i] - target[i];
            total += d * d;
        }
        return total / output.Length;
    }
}
