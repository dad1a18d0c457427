using CompiledNets;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;
using TorchNn = TorchSharp.torch.nn;

namespace CompiledNets.Benchmarks;

/// <summary>The benchmarked networks and batch sizes.</summary>
public enum Case
{
    /// <summary>Tutorial net 4→10→3 with dropout, batch 32 (the tutorial's mini-batches).</summary>
    Iris_b32,

    /// <summary>Tutorial net, batch 112 (the tutorial's full training set).</summary>
    Iris_b112,

    /// <summary>Digits net 64→128→64→10, batch 32.</summary>
    Digits_b32,

    /// <summary>784→1024→1024→10, batch 256.</summary>
    Mlp784_b256,
}

/// <summary>Sizes of a case and the same random batch for both frameworks.</summary>
public sealed class CaseData
{
    private CaseData(Case c, int[] widths, bool dropout, int batch)
    {
        Case = c;
        Widths = widths;
        Dropout = dropout;
        Batch = batch;
        var rng = new Random(1234);
        X = new float[batch * widths[0]];
        for (int i = 0; i < X.Length; i++)
        {
            X[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        Y = new int[batch];
        for (int i = 0; i < Y.Length; i++)
        {
            Y[i] = rng.Next(widths[^1]);
        }
    }

    /// <summary>The case.</summary>
    public Case Case { get; }

    /// <summary>Layer widths, input first, classes last.</summary>
    public int[] Widths { get; }

    /// <summary>Whether a Dropout(0.2) follows the first ReLU (the tutorial net).</summary>
    public bool Dropout { get; }

    /// <summary>Rows per step.</summary>
    public int Batch { get; }

    /// <summary>Inputs, <c>[Batch, Widths[0]]</c>, uniform in [-1, 1).</summary>
    public float[] X { get; }

    /// <summary>Class labels, <c>[Batch]</c>.</summary>
    public int[] Y { get; }

    /// <summary>
    /// Adam's learning rate in the benchmarks: 0, so the weights stay at their initial values and every
    /// measured step costs the same. With a real rate, repeating one batch for 10⁵–10⁶ steps memorises it,
    /// the gradients underflow into subnormal floats and the backward of both frameworks slows down
    /// several times (see <c>--drift</c> and README.md). Neither Adam skips work at 0: the step still reads
    /// and writes parameters, gradients and both moments.
    /// </summary>
    public const float BenchmarkLearningRate = 0f;

    /// <summary>The sizes of <paramref name="c"/>.</summary>
    public static CaseData For(Case c) => c switch
    {
        Case.Iris_b32 => new(c, [4, 10, 3], dropout: true, batch: 32),
        Case.Iris_b112 => new(c, [4, 10, 3], dropout: true, batch: 112),
        Case.Digits_b32 => new(c, [64, 128, 64, 10], dropout: false, batch: 32),
        Case.Mlp784_b256 => new(c, [784, 1024, 1024, 10], dropout: false, batch: 256),
        _ => throw new ArgumentOutOfRangeException(nameof(c)),
    };
}

/// <summary>One framework's model, loss and optimizer for a case, with the phases of a step separable for profiling.</summary>
public interface IStepRunner : IDisposable
{
    /// <summary>forward, cross-entropy, backward, Adam step, zero_grad.</summary>
    void TrainStep();

    /// <summary>An eval-mode forward without gradients.</summary>
    void Infer();

    /// <summary>Runs one training step, adding the time of each phase to <paramref name="ticks"/> (forward, loss, backward, step, zero_grad).</summary>
    void TrainStepTimed(long[] ticks);
}

/// <summary>CompiledNets: the generated model, <see cref="CrossEntropyLoss"/> and <see cref="Adam"/>.</summary>
public sealed class CompiledNetsRunner : IStepRunner
{
    private readonly Module _model;
    private readonly Func<Tensor, Tensor> _forward;
    private readonly Tensor _x;
    private readonly IntTensor _y;
    private readonly CrossEntropyLoss _lossFn = new();
    private readonly Adam _opt;

    /// <summary>Builds the model for <paramref name="data"/> with Adam at learning rate <paramref name="lr"/>.</summary>
    public CompiledNetsRunner(CaseData data, float lr)
    {
        Threads.Count = 1; // one thread each, as TorchSharp's runner (compare.py measures all threads)
        Generator.Default.ManualSeed(42);
        (_model, _forward) = data.Case switch
        {
            Case.Iris_b32 or Case.Iris_b112 => Bind(new IrisNet(), n => n.Forward),
            Case.Digits_b32 => Bind(new DigitsNet(), n => n.Forward),
            Case.Mlp784_b256 => Bind(new LargeMlp(), n => n.Forward),
            _ => throw new ArgumentOutOfRangeException(nameof(data)),
        };
        _x = Tensor.FromArray(data.X, data.Batch, data.Widths[0]);
        _y = IntTensor.FromArray(data.Y);
        _opt = new Adam(_model.Parameters(), lr: lr);
    }

    private static (Module, Func<Tensor, Tensor>) Bind<T>(T model, Func<T, Func<Tensor, Tensor>> forward)
        where T : Module => (model, forward(model));

    /// <inheritdoc/>
    public void TrainStep()
    {
        _model.Train();
        var loss = _lossFn.Forward(_forward(_x), _y);
        loss.Backward();
        _opt.Step();
        _opt.ZeroGrad();
    }

    /// <inheritdoc/>
    public void Infer()
    {
        _model.Eval();
        _forward(_x);
    }

    /// <inheritdoc/>
    public void TrainStepTimed(long[] ticks)
    {
        _model.Train();
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var output = _forward(_x);
        long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
        var loss = _lossFn.Forward(output, _y);
        long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
        loss.Backward();
        long t3 = System.Diagnostics.Stopwatch.GetTimestamp();
        _opt.Step();
        long t4 = System.Diagnostics.Stopwatch.GetTimestamp();
        _opt.ZeroGrad();
        long t5 = System.Diagnostics.Stopwatch.GetTimestamp();
        ticks[0] += t1 - t0;
        ticks[1] += t2 - t1;
        ticks[2] += t3 - t2;
        ticks[3] += t4 - t3;
        ticks[4] += t5 - t4;
    }

    /// <summary>
    /// Runs forward, loss and backward once and counts, in the loss gradient <c>(softmax(z) − onehot(y)) / batch</c>
    /// (recomputed here in float from the logits) and in the parameter gradients, the subnormal values (nonzero
    /// and below 1.18e-38 in magnitude), then zeroes the gradients.
    /// </summary>
    public (float Loss, int SubnormalLossGrad, int LossGradCount, int SubnormalParamGrad, int ParamGradCount) CountSubnormalGradients()
    {
        _model.Train();
        var logits = _forward(_x).Clone();
        var loss = _lossFn.Forward(_forward(_x), _y);
        loss.Backward();
        int batch = logits.Shape[0], classes = logits.Shape[1];
        float[] z = logits.ToArray();
        int lossSubnormal = 0;
        for (int r = 0; r < batch; r++)
        {
            var row = z.AsSpan(r * classes, classes);
            float max = System.Numerics.Tensors.TensorPrimitives.Max(row);
            float sum = 0;
            foreach (float v in row)
            {
                sum += MathF.Exp(v - max);
            }
            for (int j = 0; j < classes; j++)
            {
                float g = (MathF.Exp(row[j] - max) / sum - (j == _y[r] ? 1f : 0f)) / batch;
                lossSubnormal += IsSubnormal(g) ? 1 : 0;
            }
        }
        int subnormal = 0, total = 0;
        foreach (var p in _model.Parameters())
        {
            foreach (float g in p.Grad)
            {
                total++;
                subnormal += IsSubnormal(g) ? 1 : 0;
            }
        }
        _opt.ZeroGrad();
        return (loss.Value, lossSubnormal, z.Length, subnormal, total);
    }

    private static bool IsSubnormal(float v) => v != 0 && !float.IsNormal(v);

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}

/// <summary>TorchSharp: an <c>nn.Sequential</c> of the same layers, <c>cross_entropy</c> and <c>optim.Adam</c>, on one thread.</summary>
public sealed class TorchSharpRunner : IStepRunner
{
    private readonly TorchNn.Module<TorchTensor, TorchTensor> _model;
    private readonly TorchTensor _x;
    private readonly TorchTensor _y;
    private readonly TorchSharp.Modules.Adam _opt;

    /// <summary>Builds the model for <paramref name="data"/> with Adam at learning rate <paramref name="lr"/>.</summary>
    public TorchSharpRunner(CaseData data, double lr)
    {
        torch.set_num_threads(1);
        torch.manual_seed(42);
        var layers = new List<(string, TorchNn.Module<TorchTensor, TorchTensor>)>();
        int[] w = data.Widths;
        for (int i = 0; i + 1 < w.Length; i++)
        {
            layers.Add(($"linear{i}", TorchNn.Linear(w[i], w[i + 1])));
            if (i + 2 < w.Length)
            {
                layers.Add(($"relu{i}", TorchNn.ReLU()));
                if (data.Dropout && i == 0)
                {
                    layers.Add(("drop", TorchNn.Dropout(0.2)));
                }
            }
        }
        _model = TorchNn.Sequential(layers);
        _x = torch.tensor(data.X, [data.Batch, w[0]]);
        _y = torch.tensor(data.Y.Select(v => (long)v).ToArray(), [data.Batch]);
        _opt = torch.optim.Adam(_model.parameters(), lr: lr);
    }

    /// <inheritdoc/>
    public void TrainStep()
    {
        using var scope = torch.NewDisposeScope();
        _model.train();
        var loss = TorchNn.functional.cross_entropy(_model.forward(_x), _y);
        loss.backward();
        _opt.step();
        _opt.zero_grad();
    }

    /// <inheritdoc/>
    public void Infer()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        _model.eval();
        _model.forward(_x);
    }

    /// <inheritdoc/>
    public void TrainStepTimed(long[] ticks)
    {
        using var scope = torch.NewDisposeScope();
        _model.train();
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var output = _model.forward(_x);
        long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
        var loss = TorchNn.functional.cross_entropy(output, _y);
        long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
        loss.backward();
        long t3 = System.Diagnostics.Stopwatch.GetTimestamp();
        _opt.step();
        long t4 = System.Diagnostics.Stopwatch.GetTimestamp();
        _opt.zero_grad();
        long t5 = System.Diagnostics.Stopwatch.GetTimestamp();
        ticks[0] += t1 - t0;
        ticks[1] += t2 - t1;
        ticks[2] += t3 - t2;
        ticks[3] += t4 - t3;
        ticks[4] += t5 - t4;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _opt.Dispose();
        _model.Dispose();
        _x.Dispose();
        _y.Dispose();
    }
}
