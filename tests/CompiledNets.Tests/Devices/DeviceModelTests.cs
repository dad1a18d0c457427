using Xunit;
using Xunit.Abstractions;

namespace CompiledNets.Tests.Devices;

/// <summary>The tutorial's net, for the device tests.</summary>
[Model]
public partial class DeviceTutorialNet
{
    [Layer] readonly Linear hidden = new(4, 10);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Dropout drop = new(0.2f);
    [Layer] readonly Linear @out = new(10, 3);
}

/// <summary>The tutorial's net with dropout p = 0.5, for the train-mode parity tests.</summary>
[Model]
public partial class DeviceTutorialNetHalfDropout
{
    [Layer] readonly Linear hidden = new(4, 10);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Dropout drop = new(0.5f);
    [Layer] readonly Linear @out = new(10, 3);
}

/// <summary>The tutorial net's first half (Linear, ReLU, Dropout p = 0.5): its output's zero pattern is the mask's where the ReLU passes.</summary>
[Model]
public partial class DeviceDropoutProbe
{
    [Layer] readonly Linear hidden = new(4, 10);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Dropout drop = new(0.5f);
}

/// <summary>A deeper net with odd widths (7, 33, 1, 5, 3), every activation with a GPU kernel, a layer without bias.</summary>
[Model]
public partial class DeviceDeepNet
{
    [Layer] readonly Linear a = new(7, 33);
    [Layer] readonly Tanh tanh = new();
    [Layer] readonly Linear b = new(33, 1);
    [Layer] readonly Sigmoid sigmoid = new();
    [Layer] readonly Linear c = new(1, 5);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Dropout drop = new(0.3f);
    [Layer] readonly Linear head = new(5, 3, bias: false);
}

/// <summary>
/// Models on ILGPU's CPU accelerator (the GPU path the generator emits) against the same models on the CPU path.
/// One class, so its tests run one after another on the shared <c>DeviceContext.For(Device.IlgpuCpu)</c>.
/// </summary>
public sealed partial class DeviceModelTests(ITestOutputHelper output)
{
    private static readonly Device Accel = Device.IlgpuCpu;
    private const double Tolerance = 1e-5;

    private static (Tensor X, IntTensor Y) Batch(int seed, int batch, int features, int classes)
    {
        var g = new Generator((ulong)seed);
        var x = new float[batch * features];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)g.NextNormal();
        }
        var y = new int[batch];
        for (int i = 0; i < batch; i++)
        {
            y[i] = g.NextInt(classes);
        }
        return (Tensor.FromArray(x, batch, features), IntTensor.FromArray(y, batch));
    }

    /// <summary>A model with values from its own seeded generator (Generator.Default is shared with tests running in parallel).</summary>
    private static T Seeded<T>(Func<T> create, ulong seed) where T : Module
    {
        var model = create();
        var g = new Generator(seed);
        foreach (var p in model.Parameters())
        {
            var data = p.Data;
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = (float)(g.NextDouble() - 0.5);
            }
        }
        return model;
    }

    private static T Twin<T>(T source, Func<T> create) where T : Module
    {
        var twin = create();
        twin.LoadStateDict(source.StateDict());
        return twin;
    }

    /// <summary>
    /// Per parameter tensor, max |a − b| / max |b| (gradients are sums over the batch whose terms cancel, so an element's
    /// own size is no scale for its rounding); the worst tensor.
    /// </summary>
    private static double TensorwiseError(IEnumerable<Parameter> actual, IEnumerable<Parameter> expected, bool grad)
    {
        double worst = 0;
        foreach (var (a, e) in actual.Zip(expected))
        {
            float[] x = (grad ? a.Grad : a.Data).ToArray(), y = (grad ? e.Grad : e.Data).ToArray();
            double scale = y.Max(v => Math.Abs(v)), diff = x.Zip(y).Max(t => Math.Abs(t.First - t.Second));
            worst = Math.Max(worst, scale == 0 ? diff : diff / scale);
        }
        return worst;
    }

    /// <summary>max |a − b| / max |b| over a whole output.</summary>
    private static double OutputError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0, diff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            scale = Math.Max(scale, Math.Abs(expected[i]));
            diff = Math.Max(diff, Math.Abs(actual[i] - expected[i]));
        }
        return scale == 0 ? diff : diff / scale;
    }

    private static float[] Flat(IEnumerable<Parameter> parameters, bool grad) =>
        parameters.SelectMany(p => (grad ? p.Grad : p.Data).ToArray()).ToArray();

    /// <summary>Gives every <see cref="Dropout"/> of <paramref name="model"/> its own generator seeded with <paramref name="seed"/> + its ordinal.</summary>
    private static void SeedDropouts(Module model, ulong seed)
    {
        ulong i = 0;
        foreach (var drop in model.NamedModules().Select(m => m.Module).OfType<Dropout>())
        {
            drop.Generator = new Generator(seed + i++);
        }
    }

    private void ParityCore<T>(Func<T> create, Func<T, Tensor, Tensor> forward, int features, int classes, bool optimizerFirst, bool train = false) where T : Module
    {
        var cpu = Seeded(create, 42);
        var dev = Twin(cpu, create);
        if (train)
        {
            // Both paths key each dropout's Philox mask by one draw from its generator per forward: same seeds, same masks.
            cpu.Train();
            dev.Train();
            SeedDropouts(cpu, 1000);
            SeedDropouts(dev, 1000);
        }
        else
        {
            cpu.Eval();
            dev.Eval();
        }
        var devOpt = optimizerFirst ? new Adam(dev.Parameters(), lr: 0.01f) : null;
        dev.To(Accel);
        devOpt ??= new Adam(dev.Parameters(), lr: 0.01f);
        var cpuOpt = new Adam(cpu.Parameters(), lr: 0.01f);
        var lossFn = new CrossEntropyLoss();
        var lossDev = new CrossEntropyLoss();
        double forwardError = 0, gradError = 0;
        string worstGrad = "";
        for (int step = 0; step < 20; step++)
        {
            var (x, y) = Batch(100 + step, 5, features, classes);
            var cpuOut = forward(cpu, x);
            var devOut = forward(dev, x.To(Accel));
            Assert.Equal(Accel, devOut.Device);
            forwardError = Math.Max(forwardError, OutputError(devOut.AsSpan(), cpuOut.AsSpan()));
            lossFn.Forward(cpuOut, y).Backward();
            var devLoss = lossDev.Forward(devOut, y);
            devLoss.Backward();
            double stepGradError = TensorwiseError(dev.Parameters(), cpu.Parameters(), grad: true);
            if (stepGradError > gradError)
            {
                gradError = stepGradError;
                worstGrad = dev.NamedParameters().Zip(cpu.Parameters())
                    .MaxBy(t => TensorwiseError([t.First.Parameter], [t.Second], grad: true)).First.Name + " at step " + step;
            }
            cpuOpt.Step();
            cpuOpt.ZeroGrad();
            devOpt.Step();
            devOpt.ZeroGrad();
        }
        double paramError = TensorwiseError(dev.Parameters(), cpu.Parameters(), grad: false);
        output.WriteLine($"{typeof(T).Name}: forward {forwardError:E2}, gradients {gradError:E2} ({worstGrad}), parameters after 20 Adam steps {paramError:E2} (max error / max value, per tensor)");
        Assert.True(forwardError <= Tolerance, $"forward relative error {forwardError}");
        Assert.True(gradError <= Tolerance, $"gradient relative error {gradError}");
        Assert.True(paramError <= Tolerance, $"parameter relative error {paramError}");
        Assert.All(Flat(dev.Parameters(), grad: true), g => Assert.Equal(0f, g)); // ZeroGrad on the device reached the host view
    }

    [Fact]
    public void TutorialNet_ForwardBackwardAndTwentyAdamSteps_MatchTheCpuPath() =>
        ParityCore(() => new DeviceTutorialNet(), (m, x) => m.Forward(x), 4, 3, optimizerFirst: false);

    [Fact]
    public void TutorialNet_InTraining_DropoutHalf_ForwardBackwardAndTwentyAdamSteps_MatchTheCpuPath() =>
        ParityCore(() => new DeviceTutorialNetHalfDropout(), (m, x) => m.Forward(x), 4, 3, optimizerFirst: false, train: true);

    [Fact]
    public void DeepOddWidthNet_InTraining_ForwardBackwardAndTwentyAdamSteps_MatchTheCpuPath() =>
        ParityCore(() => new DeviceDeepNet(), (m, x) => m.Forward(x), 7, 3, optimizerFirst: true, train: true);

    [Fact]
    public void DropoutMasks_ForTheSameSeed_AreBitIdenticalOnTheCpuAndTheAccelerator_AndArePhiloxOfTheFirstDraw()
    {
        // Positive inputs, weights and biases: the ReLU passes everything, so the output's zeros are the mask's zeros.
        var cpu = new DeviceDropoutProbe();
        foreach (var p in cpu.Parameters())
        {
            var data = p.Data;
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = 0.1f + 0.01f * i;
            }
        }
        var dev = Twin(cpu, () => new DeviceDropoutProbe());
        cpu.Train();
        dev.Train();
        SeedDropouts(cpu, 2024);
        SeedDropouts(dev, 2024);
        dev.To(Accel);
        var reference = new Generator(2024);
        int dropped = 0;
        for (int step = 0; step < 3; step++)
        {
            var x = Tensor.FromArray(Enumerable.Range(0, 37 * 4).Select(i => 1f + (i % 5)).ToArray(), 37, 4);
            float[] a = cpu.Forward(x).ToArray(), b = dev.Forward(x.To(Accel)).ToArray();
            var key = new PhiloxKey(reference.NextUInt64(), 0, 0);
            for (int i = 0; i < a.Length; i++)
            {
                bool drop = Philox.Uniform(key, i) < 0.5f;
                Assert.Equal(drop, a[i] == 0f);
                Assert.Equal(drop, b[i] == 0f);
                dropped += drop ? 1 : 0;
            }
            Assert.Equal(a.Select(v => v == 0f), b.Select(v => v == 0f));
        }
        Assert.InRange(dropped, 3 * 370 / 2 - 100, 3 * 370 / 2 + 100); // Binomial(1110, 0.5): sd ≈ 17
        // One draw per dropout per forward on both paths: the generators end where the reference does.
        var cpuDrop = cpu.NamedModules().Select(m => m.Module).OfType<Dropout>().Single();
        var devDrop = dev.NamedModules().Select(m => m.Module).OfType<Dropout>().Single();
        Assert.Equal(reference.GetState(), cpuDrop.Generator.GetState());
        Assert.Equal(reference.GetState(), devDrop.Generator.GetState());
    }

    [Fact]
    public void DeepOddWidthNet_ForwardBackwardAndTwentyAdamSteps_MatchTheCpuPath_OptimizerBuiltBeforeTheMove() =>
        ParityCore(() => new DeviceDeepNet(), (m, x) => m.Forward(x), 7, 3, optimizerFirst: true);

    [Fact]
    public void ADataLoaderOnTheDevice_YieldsTheSameBatchesThere_AndTrainsTheModel()
    {
        var (x, y) = Batch(21, 10, 4, 3);
        var onHost = new CompiledNets.Data.DataLoader(new CompiledNets.Data.TensorDataset(x, y, numClasses: 3), batchSize: 4, shuffle: true, seed: 5);
        var onDevice = new CompiledNets.Data.DataLoader(new CompiledNets.Data.TensorDataset(x, y, numClasses: 3), batchSize: 4, shuffle: true, seed: 5) { Device = Accel };
        var net = Seeded(() => new DeviceTutorialNet(), 3).Eval();
        var twin = Twin(net, () => new DeviceTutorialNet()).Eval();
        twin.To(Accel);
        var hostBatches = onHost.Cast<(Tensor X, IntTensor Y)>().Select(b => (b.X.ToArray(), b.Y.ToArray())).ToList();
        int i = 0;
        foreach (var (xb, yb) in onDevice)
        {
            Assert.Equal(Accel, xb.Device);
            Assert.Equal(hostBatches[i].Item1, xb.ToArray());
            Assert.Equal(hostBatches[i].Item1, xb.DeviceValues.ToArray()); // the device copy holds this batch, not an earlier one
            Assert.Equal(hostBatches[i].Item2, yb.ToArray());
            var expected = net.Forward(Tensor.FromArray(hostBatches[i].Item1, xb.Size(0), 4)).ToArray();
            Assert.True(OutputError(twin.Forward(xb).AsSpan(), expected) <= Tolerance);
            i++;
        }
        Assert.Equal(3, i);
    }

    [Fact]
    public void MSELoss_OnADeviceOutput_RunsOnTheDevice_AndTrainsAsOnTheCpu()
    {
        var cpu = Seeded(() => new DeviceDeepNet(), 17).Eval();
        var dev = Twin(cpu, () => new DeviceDeepNet()).Eval();
        dev.To(Accel);
        var (x, _) = Batch(31, 6, 7, 3);
        var (target, _) = Batch(32, 6, 3, 3);
        var lc = new MSELoss().Forward(cpu.Forward(x), target);
        var mse = new MSELoss();
        var ld = mse.Forward(dev.Forward(x.To(Accel)), target);
        Assert.True(mse.LastForwardOnDevice);
        Assert.True(Math.Abs(lc.Item() - ld.Item()) <= 1e-5 * Math.Abs(lc.Item()), $"{lc.Item()} vs {ld.Item()}");
        lc.Backward();
        ld.Backward();
        double error = TensorwiseError(dev.Parameters(), cpu.Parameters(), grad: true);
        Assert.True(error <= Tolerance, $"gradient error {error}");
    }

    [Fact]
    public void ToAMissingCudaDevice_Throws_AndLeavesTheModelOnTheCpu()
    {
        if (Cuda.IsAvailable())
        {
            return; // only observable without CUDA
        }
        var net = new DeviceTutorialNet();
        var before = Flat(net.Parameters(), grad: false);
        Assert.Throws<InvalidOperationException>(() => net.Cuda());
        Assert.Equal(Device.Cpu, net.Device);
        Assert.Equal(before, Flat(net.Parameters(), grad: false));
        Assert.Equal(3, net.Forward(Tensor.FromArray(new float[4], 1, 4)).Size(1));
    }

    [Fact]
    public void Freezing_OnTheDevice_KeepsFrozenValuesBitForBit_AndTrainsTheRestAsTheCpu()
    {
        var cpu = Seeded(() => new DeviceDeepNet(), 13).Eval();
        var dev = Twin(cpu, () => new DeviceDeepNet()).Eval();
        foreach (var net in new Module[] { cpu, dev })
        {
            foreach (var (name, p) in net.NamedParameters())
            {
                p.RequiresGrad = !(name.StartsWith("a.", StringComparison.Ordinal) || name == "b.weight"); // stop early; a frozen weight with a trained bias
            }
        }
        dev.To(Accel);
        var frozen = dev.NamedParameters().Where(p => !p.Parameter.RequiresGrad).Select(p => p.Parameter.Data.ToArray()).ToList();
        var cpuOpt = new Adam(cpu.Parameters(), lr: 0.01f);
        var devOpt = new Adam(dev.Parameters(), lr: 0.01f);
        for (int step = 0; step < 5; step++)
        {
            var (x, y) = Batch(200 + step, 5, 7, 3);
            new CrossEntropyLoss().Forward(cpu.Forward(x), y).Backward();
            new CrossEntropyLoss().Forward(dev.Forward(x.To(Accel)), y).Backward();
            cpuOpt.Step();
            cpuOpt.ZeroGrad();
            devOpt.Step();
            devOpt.ZeroGrad();
        }
        var frozenAfter = dev.NamedParameters().Where(p => !p.Parameter.RequiresGrad).Select(p => p.Parameter.Data.ToArray()).ToList();
        Assert.Equal(frozen, frozenAfter);
        double error = TensorwiseError(dev.Parameters(), cpu.Parameters(), grad: false);
        Assert.True(error <= Tolerance, $"parameter error {error}");
    }

    [Fact]
    public void CrossEntropy_OnTheDevice_WithEveryOption_GivesTheCpuLossAndGradients()
    {
        var cpu = Seeded(() => new DeviceTutorialNet(), 9).Eval();
        var dev = Twin(cpu, () => new DeviceTutorialNet()).Eval();
        dev.To(Accel);
        var (x, y) = Batch(11, 6, 4, 3);
        var twice = new Tensor();
        twice.AsSpan()[0] = 2f;
        Func<CrossEntropyLoss>[] losses =
        [
            () => new CrossEntropyLoss(),                                          // on the device
            () => new CrossEntropyLoss(reduction: Reduction.Sum),                  // on the device
            () => new CrossEntropyLoss(Tensor.FromArray([1f, 2f, 0.5f], 3)),       // weights
            () => new CrossEntropyLoss(labelSmoothing: 0.1f),                      // smoothing
            () => new CrossEntropyLoss(Tensor.FromArray([1f, 2f, 0.5f], 3), ignoreIndex: y.AsSpan()[1], labelSmoothing: 0.2f), // all three
        ];
        foreach (var create in losses)
        {
            cpu.ZeroGrad();
            dev.ZeroGrad();
            var lc = create().Forward(cpu.Forward(x), y);
            var devLoss = create();
            var ld = devLoss.Forward(dev.Forward(x.To(Accel)), y);
            Assert.True(devLoss.LastForwardOnDevice); // every option runs on the device
            Assert.True(Math.Abs(lc.Item() - ld.Item()) <= 1e-5 * Math.Abs(lc.Item()), $"{lc.Item()} vs {ld.Item()}");
            lc.Backward(twice);
            ld.Backward(twice);
            double error = TensorwiseError(dev.Parameters(), cpu.Parameters(), grad: true);
            Assert.True(error <= Tolerance, $"gradient error {error}");
        }
    }

    [Fact]
    public void To_AndBack_KeepsEveryParameterBitForBit_AndTrainedValuesComeBack()
    {
        var net = new DeviceDeepNet();
        var before = Flat(net.Parameters(), grad: false);
        net.To(Accel);
        Assert.Equal(Accel, net.Device);
        Assert.All(net.Parameters(), p => Assert.Equal(Accel, p.Device));
        net.Cpu();
        Assert.Equal(Device.Cpu, net.Device);
        Assert.Equal(before.Select(BitConverter.SingleToInt32Bits), Flat(net.Parameters(), grad: false).Select(BitConverter.SingleToInt32Bits));

        net.To(Accel);
        var opt = new SGD(net.Parameters(), lr: 0.1f, momentum: 0.9f);
        var (x, y) = Batch(7, 9, 7, 3);
        new CrossEntropyLoss().Forward(net.Forward(x.To(Accel)), y).Backward();
        opt.Step();
        var onDevice = net.StateDict();
        net.Cpu();
        var back = net.StateDict();
        foreach (var key in onDevice.Keys)
        {
            Assert.Equal(onDevice[key].ToArray().Select(BitConverter.SingleToInt32Bits), back[key].ToArray().Select(BitConverter.SingleToInt32Bits));
        }
        Assert.NotEqual(before, Flat(net.Parameters(), grad: false)); // the step on the device changed the values
    }

    [Fact]
    public void Forward_WithAnInputOnAnotherDevice_NamesBothDevices_AndChangesNothing()
    {
        var net = new DeviceTutorialNet();
        net.To(Accel);
        var x = Tensor.FromArray(new float[8], 2, 4);
        var e = Assert.Throws<ArgumentException>(() => net.Forward(x));
        Assert.Contains("ilgpu-cpu", e.Message);
        Assert.Contains("cpu", e.Message.Replace("ilgpu-cpu", ""));
        var cpuNet = new DeviceTutorialNet();
        var e2 = Assert.Throws<ArgumentException>(() => cpuNet.Forward(x.To(Accel)));
        Assert.Contains("ilgpu-cpu", e2.Message);
    }

    [Fact]
    public void Backward_AfterTheModelMovedBackToTheCpu_SaysWhatHappened_AndTheNextStepWorks()
    {
        var net = Seeded(() => new DeviceTutorialNet(), 5);
        net.To(Accel);
        var (x, y) = Batch(1, 6, 4, 3);
        using var xd = x.To(Accel);
        var loss = new CrossEntropyLoss().Forward(net.Forward(xd), y);
        net.Cpu();
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("moved (Cpu() or To()) between Forward and Backward", e.Message);
        Assert.Contains("DeviceTutorialNet", e.Message);
        // Where the model is now, a new step runs.
        var again = new CrossEntropyLoss().Forward(net.Forward(x), y);
        again.Backward();
        Assert.True(float.IsFinite(again.Item()));
    }

    [Fact]
    public void Checkpoints_SavedOnTheAccelerator_LoadOnTheCpu_AndViceVersa()
    {
        string dir = Path.Combine(Path.GetTempPath(), "cn-device-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var dev = Seeded(() => new DeviceTutorialNet(), 5).Eval();
            dev.To(Accel);
            var opt = new Adam(dev.Parameters(), lr: 0.05f);
            var (x, y) = Batch(3, 6, 4, 3);
            for (int i = 0; i < 3; i++)
            {
                new CrossEntropyLoss().Forward(dev.Forward(x.To(Accel)), y).Backward();
                opt.Step();
                opt.ZeroGrad();
            }
            string fromDevice = Path.Combine(dir, "device.safetensors");
            dev.StateDict().Save(fromDevice);
            var cpu = new DeviceTutorialNet().Eval();
            cpu.LoadStateDict(StateDict.Load(fromDevice));
            var expected = dev.Forward(x.To(Accel)).ToArray();
            Assert.Equal(Flat(dev.Parameters(), grad: false), Flat(cpu.Parameters(), grad: false));
            Assert.True(OutputError(cpu.Forward(x).AsSpan(), expected) <= Tolerance);

            // And a CPU file into a model already on the device: the next forward uses the loaded values.
            string fromCpu = Path.Combine(dir, "cpu.safetensors");
            var other = Seeded(() => new DeviceTutorialNet(), 6).Eval();
            other.StateDict().Save(fromCpu);
            dev.LoadStateDict(StateDict.Load(fromCpu));
            Assert.True(OutputError(dev.Forward(x.To(Accel)).AsSpan(), other.Forward(x).AsSpan()) <= Tolerance);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Training_CompilesItsKernelsOnce_FiftyStepsCompileNoMoreThanOne()
    {
        DeviceTutorialNet net = new DeviceTutorialNet().To(Accel); // the generated To returns the model's own type
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        var lossFn = new CrossEntropyLoss();
        var context = DeviceContext.For(Accel);
        int afterOne = 0;
        for (int step = 1; step <= 50; step++)
        {
            var (x, y) = Batch(step, 4, 4, 3);
            net.Train();
            lossFn.Forward(net.Forward(x.To(Accel)), y).Backward();
            opt.Step();
            opt.ZeroGrad();
            if (step == 1)
            {
                afterOne = context.CompiledKernelCount;
            }
        }
        output.WriteLine($"kernels compiled after 1 step: {afterOne}, after 50: {context.CompiledKernelCount}");
        Assert.True(afterOne > 0);
        Assert.Equal(afterOne, context.CompiledKernelCount);
        Assert.All(Flat(net.Parameters(), grad: false), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void DropoutOnTheDevice_DrawsANewPhiloxMaskEachForward_AndIsTheIdentityInEval()
    {
        var net = new DeviceTutorialNet();
        net.To(Accel);
        net.Train();
        var x = Tensor.FromArray(Enumerable.Repeat(1f, 64 * 4).ToArray(), 64, 4);
        var a = net.Forward(x.To(Accel)).ToArray();
        var b = net.Forward(x.To(Accel)).ToArray();
        Assert.NotEqual(a, b); // a new Philox key per forward
        net.Eval();
        var e = net.Forward(x.To(Accel)).ToArray();
        Assert.Equal(e.Take(3), e.Skip(3).Take(3)); // identical rows without dropout
    }

    [Fact]
    public void DropoutInTheLinearEpilogue_IsThePhiloxMaskOfTheKeyDrawnFromTheLayersGenerator()
    {
        var net = Seeded(() => new DeviceTutorialNet(), 23);
        var drop = (Dropout)net.NamedModules().Single(m => m.Name == "drop").Module;
        drop.Generator = new Generator(77);
        var param = net.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Data.ToArray());
        net.To(Accel).Train();
        var (x, _) = Batch(41, 9, 4, 3);
        var actual = net.Forward(x.To(Accel)).ToArray();

        var key = new PhiloxKey(new Generator(77).NextUInt64(), 0u, 0UL); // the seed the forward drew; stream 0, step 0
        float scale = Philox.DropoutScale(0.2f);
        var expected = new float[9 * 3];
        var xs = x.ToArray();
        int dropped = 0;
        for (int r = 0; r < 9; r++)
        {
            var h = new double[10];
            for (int o = 0; o < 10; o++)
            {
                double sum = param["hidden.bias"][o];
                for (int k = 0; k < 4; k++)
                {
                    sum += (double)xs[r * 4 + k] * param["hidden.weight"][o * 4 + k];
                }
                bool keep = Philox.Uniform(key, r * 10 + o) >= 0.2f;
                dropped += keep ? 0 : 1;
                h[o] = Math.Max(sum, 0) * (keep ? scale : 0f);
            }
            for (int o = 0; o < 3; o++)
            {
                double sum = param["out.bias"][o];
                for (int k = 0; k < 10; k++)
                {
                    sum += h[k] * param["out.weight"][o * 10 + k];
                }
                expected[r * 3 + o] = (float)sum;
            }
        }
        Assert.InRange(dropped, 5, 40); // about 0.2 of 90
        double error = OutputError(actual, expected);
        Assert.True(error <= Tolerance, $"output error {error}");
    }
}
