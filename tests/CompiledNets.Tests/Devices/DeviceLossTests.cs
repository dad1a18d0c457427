using CompiledNets.Tests.Kernels;
using Xunit;

namespace CompiledNets.Tests.Devices;

/// <summary>
/// Every loss on a device tensor (ILGPU's CPU accelerator) against the same loss on the host, at odd sizes, for the mean
/// and the sum: the value (read back as one float) and the input gradient, to 1e-5 relative.
/// </summary>
public sealed class DeviceLossTests
{
    private static readonly Device Accel = Device.IlgpuCpu;

    /// <summary>(rows, columns): a column, odd widths, one element.</summary>
    public static TheoryData<int, int> Sizes => new() { { 7, 3 }, { 13, 1 }, { 1, 1 }, { 5, 33 } };

    private static Tensor Values(int rows, int cols, ulong seed, double scale = 1.5) =>
        Tensor.FromArray(KernelTestData.Normal(rows * cols, seed, scale), rows, cols);

    private static Tensor Uniform(int rows, int cols, ulong seed, float low, float high)
    {
        var g = new Generator(seed);
        return Tensor.FromArray(Enumerable.Range(0, rows * cols).Select(_ => low + (high - low) * (float)g.NextDouble()).ToArray(), rows, cols);
    }

    /// <summary>Runs <paramref name="create"/>'s loss on the host and on the device (the device's <c>Item</c> and input gradient), asserting they agree.</summary>
    private static void AssertSame(string what, Func<Reduction, LossFunction> create, Func<LossFunction, Tensor, Loss> forward, Tensor input)
    {
        foreach (var reduction in new[] { Reduction.Mean, Reduction.Sum })
        {
            var host = create(reduction);
            var device = create(reduction);
            float expected = forward(host, input).Item();
            using var onDevice = input.To(Accel);
            var loss = forward(device, onDevice);
            Assert.True(device.LastForwardOnDevice, $"{what} {reduction} ran on the host");
            float actual = loss.Item();
            Assert.True(Math.Abs(actual - expected) <= 1e-5 * Math.Abs(expected) + 1e-7, $"{what} {reduction}: device {actual:R}, host {expected:R}");
            var upstream = new Tensor();
            upstream.AsSpan()[0] = 0.75f;
            float[] g = host.InputGradFor(upstream).ToArray(), dg = device.InputGradFor(upstream).ToArray();
            double scale = g.Max(v => Math.Abs(v)) + 1e-12;
            for (int i = 0; i < g.Length; i++)
            {
                Assert.True(Math.Abs(dg[i] - g[i]) <= 1e-5 * scale, $"{what} {reduction}: gradient [{i}] device {dg[i]:R}, host {g[i]:R}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void RegressionLosses_OnTheDevice_MatchTheHost(int rows, int cols)
    {
        var x = Values(rows, cols, 1);
        var t = Values(rows, cols, 2);
        AssertSame("MSELoss", r => new MSELoss(r), (f, i) => ((MSELoss)f).Forward(i, t), x);
        AssertSame("L1Loss", r => new L1Loss(r), (f, i) => ((L1Loss)f).Forward(i, t), x);
        AssertSame("HuberLoss", r => new HuberLoss(r, delta: 0.7f), (f, i) => ((HuberLoss)f).Forward(i, t), x);
        AssertSame("SmoothL1Loss", r => new SmoothL1Loss(r, beta: 0.6f), (f, i) => ((SmoothL1Loss)f).Forward(i, t), x);
        AssertSame("SmoothL1Loss β=0", r => new SmoothL1Loss(r, beta: 0f), (f, i) => ((SmoothL1Loss)f).Forward(i, t), x);
        using var tOnDevice = t.To(Accel); // a target already on the device is used where it is
        AssertSame("MSELoss, target on the device", r => new MSELoss(r), (f, i) => ((MSELoss)f).Forward(i, i.Device == Accel ? tOnDevice : t), x);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void BinaryLosses_WithWeightsAndPositiveWeights_OnTheDevice_MatchTheHost(int rows, int cols)
    {
        var logits = Values(rows, cols, 3, scale: 6); // large |x| too: log(1 + e^−|x|) must keep its accuracy
        var probs = Uniform(rows, cols, 4, 0.02f, 0.98f);
        var t = Uniform(rows, cols, 5, 0f, 1f);
        var perColumn = Uniform(1, cols, 6, 0.5f, 2f).Reshape(cols);
        var perElement = Uniform(rows, cols, 7, 0.5f, 2f);
        var pos = Uniform(1, cols, 8, 0.3f, 3f).Reshape(cols);
        var onePos = Tensor.FromArray([2.5f], 1);
        AssertSame("BCELoss", r => new BCELoss(reduction: r), (f, i) => ((BCELoss)f).Forward(i, t), probs);
        AssertSame("BCELoss weight per column", r => new BCELoss(perColumn, r), (f, i) => ((BCELoss)f).Forward(i, t), probs);
        AssertSame("BCELoss weight per element", r => new BCELoss(perElement, r), (f, i) => ((BCELoss)f).Forward(i, t), probs);
        AssertSame("BCEWithLogitsLoss", r => new BCEWithLogitsLoss(reduction: r), (f, i) => ((BCEWithLogitsLoss)f).Forward(i, t), logits);
        AssertSame("BCEWithLogitsLoss weight and pos_weight", r => new BCEWithLogitsLoss(perColumn, r, pos), (f, i) => ((BCEWithLogitsLoss)f).Forward(i, t), logits);
        AssertSame("BCEWithLogitsLoss one pos_weight", r => new BCEWithLogitsLoss(perElement, r, onePos), (f, i) => ((BCEWithLogitsLoss)f).Forward(i, t), logits);
    }

    [Theory]
    [InlineData(7, 5)]
    [InlineData(1, 1)]
    [InlineData(13, 3)]
    [InlineData(4, 33)]
    public void ClassLosses_WithWeightsIgnoreIndexAndSmoothing_OnTheDevice_MatchTheHost(int batch, int classes)
    {
        var logits = Values(batch, classes, 9, scale: 4);
        var g = new Generator(10);
        int[] labels = Enumerable.Range(0, batch).Select(r => r % 4 == 1 ? -100 : g.NextInt(classes)).ToArray();
        var y = IntTensor.FromArray(labels, batch);
        var w = Uniform(1, classes, 11, 0.2f, 3f).Reshape(classes);
        var logProbs = Tensor.FromArray(logits.ToArray(), batch, classes);
        CompiledNets.Kernels.Cpu.SoftmaxKernels.LogForward(logProbs.AsSpan(), batch, classes);
        AssertSame("CrossEntropyLoss", r => new CrossEntropyLoss(r), (f, i) => ((CrossEntropyLoss)f).Forward(i, y), logits);
        AssertSame("CrossEntropyLoss weight, ignore, smoothing", r => new CrossEntropyLoss(w, -100, r, labelSmoothing: 0.15f), (f, i) => ((CrossEntropyLoss)f).Forward(i, y), logits);
        AssertSame("CrossEntropyLoss smoothing 1", r => new CrossEntropyLoss(null, -100, r, labelSmoothing: 1f), (f, i) => ((CrossEntropyLoss)f).Forward(i, y), logits);
        AssertSame("NLLLoss", r => new NLLLoss(reduction: r), (f, i) => ((NLLLoss)f).Forward(i, y), logProbs);
        AssertSame("NLLLoss weight, ignore", r => new NLLLoss(w, -100, r), (f, i) => ((NLLLoss)f).Forward(i, y), logProbs);
    }

    [Fact]
    public void AnUnreadDeviceLoss_StaysReadable_AfterLaterForwards_AndAHostForwardFreesTheScratch()
    {
        var t = Values(6, 3, 12);
        var fn = new MSELoss();
        var hostFn = new MSELoss();
        var inputs = Enumerable.Range(0, 4).Select(i => Values(6, 3, (ulong)(20 + i))).ToArray();
        var onDevice = inputs.Select(x => x.To(Accel)).ToArray();
        var losses = onDevice.Select(x => fn.Forward(x, t)).ToList(); // none read yet
        for (int i = 0; i < inputs.Length; i++)
        {
            float expected = hostFn.Forward(inputs[i], t).Item();
            Assert.True(Math.Abs(losses[i].Item() - expected) <= 1e-5 * expected, $"loss {i}: {losses[i].Item()} vs {expected}");
        }
        var context = DeviceContext.For(Accel);
        long before = context.MemoryAllocated;
        var last = fn.Forward(inputs[0], t); // on the host: the device scratch goes
        Assert.False(fn.LastForwardOnDevice);
        Assert.True(context.MemoryAllocated < before);
        Assert.Equal(losses[0].Item(), last.Item(), 5);
        foreach (var x in onDevice)
        {
            x.Dispose();
        }
    }
}
