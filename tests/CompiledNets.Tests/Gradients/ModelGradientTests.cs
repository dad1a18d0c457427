using Xunit;
using Xunit.Abstractions;

namespace CompiledNets.Tests.Gradients;

/// <summary>
/// The generated backward pass of whole models against central finite differences of a float64
/// reference of the same forward pass (see <see cref="ReferenceModel"/> for why float64): parameter
/// gradients through <see cref="Loss.Backward"/>, and input gradients through <see cref="Module.BackwardBatch"/>
/// with a non-empty <c>gradInput</c>; train mode with a fixed dropout mask, and eval mode.
/// </summary>
public sealed class ModelGradientTests(ITestOutputHelper output)
{
    /// <summary>Finite-difference step in float64: rounding ≈1e-16/h ≈ 1e-10, truncation ≈h² ≈ 1e-12.</summary>
    private const double H = 1e-6;

    /// <summary>
    /// Tolerances of the float32 generated results against the float64 references: relative 1e-4 per
    /// value, plus 1e-5 × the tensor's largest value as an absolute floor for values near 0 that are
    /// float32 sums of much larger terms. Float32 accuracy is ≈1e-7 per operation; the largest errors
    /// seen are under 1e-5 relative (printed by each test).
    /// </summary>
    private const double Rtol = 1e-4, Atol = 1e-5;

    private static double s_worstParam, s_worstInput, s_worstForward;

    public static TheoryData<string, int, bool, LossKind> Cases()
    {
        var data = new TheoryData<string, int, bool, LossKind>();
        foreach (string name in ModelUnderTest.Names.Concat(ModelUnderTest.CustomNames))
        {
            foreach (int batch in new[] { 1, 3, 17 })
            {
                foreach (bool train in new[] { true, false })
                {
                    foreach (var loss in new[] { LossKind.CrossEntropy, LossKind.Mse })
                    {
                        data.Add(name, batch, train, loss);
                    }
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradients_match_finite_differences(string model, int batch, bool train, LossKind lossKind)
    {
        Generator.Default.ManualSeed(1234 + (ulong)model.Length);
        var m = ModelUnderTest.Create(model);
        m.SeedDropouts((ulong)(batch * 7 + (train ? 1 : 0)));
        m.Model.Train(train);
        var problem = Problem.Create(m, batch, lossKind, seed: (ulong)(batch * 31 + model.Length));

        // The user's path: Forward, loss, Backward.
        m.ReseedDropouts();
        var y = m.Forward(problem.Input);
        float[] yGenerated = y.ToArray();
        float lossValue = problem.LossOf(y).Item();
        var last = problem.LastLoss!.Value;
        last.Backward();
        var named = m.Model.NamedParameters().ToList();
        var grads = named.Select(p => p.Parameter.Grad.ToArray()).ToList();
        Assert.Contains(grads, g => g.Any(v => v != 0f));

        // The reference computes the same function.
        var reference = new ReferenceModel(m.Model);
        double[] x = problem.Input.ToArray().Select(v => (double)v).ToArray();
        var basePattern = new List<bool>();
        double[] yRef = reference.Forward(x, batch, basePattern);
        Check.Track(ref s_worstForward, Check.Close($"{model} forward", yGenerated, yRef, 1e-5, 1e-6));
        double lossRef = problem.Loss(yRef);
        Assert.InRange(lossValue, lossRef - 1e-5 * Math.Abs(lossRef) - 1e-6, lossRef + 1e-5 * Math.Abs(lossRef) + 1e-6);

        // Parameter gradients.
        int skipped = 0, total = 0;
        for (int j = 0; j < named.Count; j++)
        {
            double[] values = reference.Values(named[j].Parameter);
            var (fd, skip) = FiniteDifferences(values, () => reference.Forward(x, batch, PatternSink()), problem, basePattern);
            skipped += skip.Count(s => s);
            total += skip.Length;
            Check.Track(ref s_worstParam, Check.Close($"{model} d loss / d {named[j].Name}", grads[j], fd, Rtol, Atol, skip));
        }

        // Input gradient (and the parameter gradients again) through BackwardBatch with a gradInput segment.
        m.Model.ZeroGrad();
        m.ReseedDropouts();
        var y2 = m.Forward(problem.Input);
        float[] gradOutput = problem.LossGradient(y2.ToArray());
        float[] gradInput = new float[batch * m.InFeatures];
        m.Model.BackwardBatch(new ArraySegment<float>(gradOutput), new ArraySegment<float>(gradInput), batch);
        for (int j = 0; j < named.Count; j++)
        {
            Check.Close($"{model} {named[j].Name}.grad via BackwardBatch", named[j].Parameter.Grad, grads[j].Select(v => (double)v).ToArray(), 1e-5, 1e-6);
        }
        var (fdInput, skipInput) = FiniteDifferences(x, () => reference.Forward(x, batch, PatternSink()), problem, basePattern);
        skipped += skipInput.Count(s => s);
        total += skipInput.Length;
        Check.Track(ref s_worstInput, Check.Close($"{model} d loss / d input", gradInput, fdInput, Rtol, Atol, skipInput));

        Assert.True(skipped * 20 <= total, $"{skipped} of {total} coordinates sit on a ReLU kink; pick other seeds.");
        output.WriteLine($"worst relative errors so far: forward {s_worstForward:E2}, parameter gradients {s_worstParam:E2}, input gradients {s_worstInput:E2}; {skipped} kink coordinates skipped");
    }

    private List<bool>? _pattern;

    private List<bool> PatternSink() => _pattern = [];

    /// <summary>
    /// Central differences of the reference loss in each coordinate of <paramref name="values"/>, which
    /// <paramref name="forward"/> reads. A coordinate whose ±H evaluations change a ReLU's on/off
    /// pattern straddles a kink, where the derivative does not exist: it is marked skipped.
    /// </summary>
    private (double[] Fd, bool[] Skip) FiniteDifferences(double[] values, Func<double[]> forward, Problem problem, List<bool> basePattern)
    {
        var fd = new double[values.Length];
        var skip = new bool[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            values[i] = v + H;
            double plus = problem.Loss(forward());
            bool same = _pattern!.SequenceEqual(basePattern);
            values[i] = v - H;
            double minus = problem.Loss(forward());
            same &= _pattern!.SequenceEqual(basePattern);
            values[i] = v;
            fd[i] = (plus - minus) / (2 * H);
            skip[i] = !same;
        }
        return (fd, skip);
    }
}

/// <summary>An input batch, its targets, and the loss of a gradient case, in float32 (generated) and float64 (reference).</summary>
internal sealed class Problem
{
    private readonly CrossEntropyLoss _ce = new();
    private readonly MSELoss _mse = new();

    private Problem(LossKind kind, Tensor input, int[] labels, float[] target, int batch)
    {
        Kind = kind;
        Input = input;
        Labels = labels;
        Target = target;
        Batch = batch;
    }

    public LossKind Kind { get; }

    public Tensor Input { get; }

    public int[] Labels { get; }

    public float[] Target { get; }

    public int Batch { get; }

    public Loss? LastLoss { get; private set; }

    /// <summary>The runtime loss function of this problem.</summary>
    public LossFunction LossFunction => Kind == LossKind.CrossEntropy ? _ce : _mse;

    public static Problem Create(ModelUnderTest m, int batch, LossKind kind, ulong seed)
    {
        var g = new Generator(seed);
        var x = new float[batch * m.InFeatures];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)g.NextNormal();
        }
        var labels = new int[batch];
        for (int r = 0; r < batch; r++)
        {
            labels[r] = g.NextInt(m.OutFeatures);
        }
        var target = new float[batch * m.OutFeatures];
        for (int i = 0; i < target.Length; i++)
        {
            target[i] = (float)g.NextNormal() * 0.5f;
        }
        return new Problem(kind, Tensor.FromArray(x, batch, m.InFeatures), labels, target, batch);
    }

    /// <summary>The runtime's loss of a model output (keeps it for <see cref="Loss.Backward"/>).</summary>
    public Loss LossOf(Tensor output)
    {
        LastLoss = Kind == LossKind.CrossEntropy
            ? _ce.Forward(output, IntTensor.FromArray(Labels))
            : _mse.Forward(output, Tensor.FromArray(Target, output.Size(0), output.Size(1)));
        return LastLoss.Value;
    }

    /// <summary>The float64 loss of a reference output.</summary>
    public double Loss(double[] output) => Kind == LossKind.CrossEntropy
        ? ReferenceModel.CrossEntropy(output, Labels, Batch)
        : ReferenceModel.Mse(output, Target.Select(v => (double)v).ToArray());

    /// <summary>d loss / d output in float64 at a float32 output, rounded to float32: the <c>gradOutput</c> of a direct <c>BackwardBatch</c>.</summary>
    public float[] LossGradient(float[] output)
    {
        var grad = new float[output.Length];
        if (Kind == LossKind.Mse)
        {
            for (int i = 0; i < output.Length; i++)
            {
                grad[i] = (float)(2.0 * (output[i] - (double)Target[i]) / output.Length);
            }
            return grad;
        }
        int classes = output.Length / Batch;
        double[] p = ReferenceModel.Softmax(output.Select(v => (double)v).ToArray(), Batch, classes);
        for (int r = 0; r < Batch; r++)
        {
            for (int j = 0; j < classes; j++)
            {
                grad[r * classes + j] = (float)((p[r * classes + j] - (j == Labels[r] ? 1.0 : 0.0)) / Batch);
            }
        }
        return grad;
    }
}
