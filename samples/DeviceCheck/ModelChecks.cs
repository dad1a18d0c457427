using System.Diagnostics;

namespace CompiledNets.Samples.DeviceCheck;

/// <summary>The tutorial's net on the device.</summary>
[Model]
public partial class CheckTutorialNet
{
    [Layer] readonly Linear hidden = new(4, 10);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Dropout drop = new(0.2f);
    [Layer] readonly Linear @out = new(10, 3);
}

/// <summary>A deeper net with odd widths.</summary>
[Model]
public partial class CheckDeepNet
{
    [Layer] readonly Linear a = new(7, 33);
    [Layer] readonly Tanh tanh = new();
    [Layer] readonly Linear b = new(33, 1);
    [Layer] readonly Sigmoid sigmoid = new();
    [Layer] readonly Linear c = new(1, 5);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Linear head = new(5, 3, bias: false);
}

/// <summary>A field-order model nested in <see cref="CheckEveryOpNet"/>, with its own dropout.</summary>
[Model]
public partial class CheckGraphInner
{
    [Layer] readonly Linear a = new(6, 5);
    [Layer] readonly Tanh tanh = new();
    [Layer] readonly Dropout drop = new(0.25f);
    [Layer] readonly Linear b = new(5, 6);
}

/// <summary>Every graph operation on the device: a nested model, Softmax, LogSoftmax, <c>* + -</c>, constants, Cat.</summary>
[Model]
public partial class CheckEveryOpNet
{
    [Layer] readonly Linear stem = new(5, 6);
    [Layer] readonly CheckGraphInner inner = new();
    [Layer] readonly Linear gate = new(6, 6);
    [Layer] readonly LogSoftmax logSoftmax = new(dim: 1);
    [Layer] readonly Linear head = new(18, 3);

    [Forward]
    public Tensor Define(Tensor x)
    {
        var h = F.Tanh(stem.Forward(x));
        var n = inner.Forward(h);
        var s = F.Softmax(gate.Forward(h));
        var m = s * n + h;
        var d = n - h * 0.5f;
        var l = logSoftmax.Forward(m * 2f - 1f);
        return head.Forward(F.Cat(m, d, l));
    }
}

/// <summary>The step the issue times: 784→1024→1024→10 at batch 256.</summary>
[Model]
public partial class CheckMlp
{
    [Layer] readonly Linear fc1 = new(784, 1024);
    [Layer] readonly ReLU relu1 = new();
    [Layer] readonly Linear fc2 = new(1024, 1024);
    [Layer] readonly ReLU relu2 = new();
    [Layer] readonly Linear fc3 = new(1024, 10);
}

/// <summary>
/// Models trained through the generated GPU path against the CPU path: 20 Adam steps in eval mode and in training (both
/// paths key each dropout's Philox mask by one draw from the layer's generator, so equal seeds give equal masks), the
/// kernel count, and the timed MLP step.
/// </summary>
internal static class ModelChecks
{
    public const double Tolerance = 1e-5;

    /// <summary>How many model checks <see cref="Run"/> makes (for the summary line).</summary>
    public const int Count = 8;

    public static int Run(Device device, bool time, int flatSteps, TextWriter log)
    {
        int failures = 0;
        failures += Parity(device, () => new CheckTutorialNet(), (m, x) => m.Forward(x), 4, log);
        failures += Parity(device, () => new CheckDeepNet(), (m, x) => m.Forward(x), 7, log);
        failures += Parity(device, () => new CheckTutorialNet(), (m, x) => m.Forward(x), 4, log, train: true);
        failures += Parity(device, () => new CheckEveryOpNet(), (m, x) => m.Forward(x), 5, log);
        failures += Parity(device, () => new CheckEveryOpNet(), (m, x) => m.Forward(x), 5, log, train: true);
        failures += LossChecks.Run(device, log);
        failures += MemoryFlat(device, flatSteps, log);
        var context = DeviceContext.For(device);
        int before = context.CompiledKernelCount;
        var net = new CheckTutorialNet().To(device);
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        int afterOne = 0;
        for (int step = 1; step <= 50; step++)
        {
            var (x, y) = Batch(step, 8, 4, 3);
            new CrossEntropyLoss().Forward(net.Train().Forward(x.To(device)), y).Backward();
            opt.Step();
            opt.ZeroGrad();
            afterOne = step == 1 ? context.CompiledKernelCount : afterOne;
        }
        bool same = afterOne == context.CompiledKernelCount;
        failures += same ? 0 : 1;
        log.WriteLine($"  {(same ? "ok  " : "FAIL")} model kernels: {afterOne - before} compiled by the first training step, {context.CompiledKernelCount - afterOne} more in the next 49");
        if (time)
        {
            TimeMlp(device, log);
        }
        return failures;
    }

    private static int Parity<T>(Device device, Func<T> create, Func<T, Tensor, Tensor> forward, int features, TextWriter log, bool train = false) where T : Module
    {
        var cpu = create();
        var g = new Generator(42);
        foreach (var p in cpu.Parameters())
        {
            var d = p.Data;
            for (int i = 0; i < d.Length; i++)
            {
                d[i] = (float)(g.NextDouble() - 0.5);
            }
        }
        var dev = create();
        dev.LoadStateDict(cpu.StateDict());
        foreach (var model in new Module[] { cpu, dev })
        {
            if (train)
            {
                model.Train();
                foreach (var drop in model.Modules().OfType<Dropout>())
                {
                    drop.Generator = new Generator(7); // the same seed on both paths: bit-identical masks
                }
            }
            else
            {
                model.Eval();
            }
        }
        dev.To(device);
        var cpuOpt = new Adam(cpu.Parameters(), lr: 0.01f);
        var devOpt = new Adam(dev.Parameters(), lr: 0.01f);
        double forwardError = 0, grad = 0;
        for (int step = 0; step < 20; step++)
        {
            var (x, y) = Batch(100 + step, 5, features, 3);
            var co = forward(cpu, x);
            var dof = forward(dev, x.To(device));
            forwardError = Math.Max(forwardError, Error(dof.ToArray(), co.ToArray()));
            new CrossEntropyLoss().Forward(co, y).Backward();
            new CrossEntropyLoss().Forward(dof, y).Backward();
            grad = Math.Max(grad, Tensorwise(dev, cpu, grads: true));
            cpuOpt.Step();
            cpuOpt.ZeroGrad();
            devOpt.Step();
            devOpt.ZeroGrad();
        }
        double parameters = Tensorwise(dev, cpu, grads: false);
        bool ok = forwardError <= Tolerance && grad <= Tolerance && parameters <= Tolerance;
        log.WriteLine($"  {(ok ? "ok  " : "FAIL")} {typeof(T).Name} on {device}{(train ? " (training, dropout)" : "")}: forward {forwardError:E2}, gradients {grad:E2}, parameters after 20 Adam steps {parameters:E2} (max error / max value per tensor)");
        return ok ? 0 : 1;
    }

    /// <summary>
    /// Issue 8's "10,000 training steps leave device memory flat": the tutorial net trained with Adam on one reused device
    /// batch; <see cref="DeviceContext.MemoryAllocated"/> and <see cref="DeviceContext.BufferCount"/> after step 2 must equal
    /// those after the last step (the counters are exact).
    /// </summary>
    private static int MemoryFlat(Device device, int steps, TextWriter log)
    {
        var context = DeviceContext.For(device);
        var net = new CheckTutorialNet().To(device).Train();
        var opt = new Adam(net.Parameters(), lr: 1e-3f);
        var lossFn = new CrossEntropyLoss();
        var (x, y) = Batch(9, 32, 4, 3);
        using var xb = x.To(device);
        long bytes = 0;
        int buffers = 0;
        float first = 0, last = 0;
        var sw = Stopwatch.StartNew();
        for (int step = 1; step <= steps; step++)
        {
            var loss = lossFn.Forward(net.Forward(xb), y);
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
            if (step == 2)
            {
                bytes = context.MemoryAllocated;
                buffers = context.BufferCount;
                first = loss.Item();
            }
            if (step == steps)
            {
                last = loss.Item();
            }
        }
        double ms = sw.Elapsed.TotalMilliseconds / steps;
        bool ok = bytes == context.MemoryAllocated && buffers == context.BufferCount && float.IsFinite(last) && last < first;
        log.WriteLine($"  {(ok ? "ok  " : "FAIL")} memory flat over {steps} training steps on {device}: {bytes} bytes in {buffers} buffers after step 2, " +
            $"{context.MemoryAllocated} in {context.BufferCount} after step {steps}; loss {first:F4} → {last:F4}; {ms:F3} ms per step");
        net.Cpu();
        return ok ? 0 : 1;
    }

    private static void TimeMlp(Device device, TextWriter log)
    {
        var (x, y) = Batch(1, 256, 784, 10);
        foreach (var where in new[] { Device.Cpu, device })
        {
            var net = new CheckMlp().To(where);
            var opt = new Adam(net.Parameters(), lr: 1e-3f);
            var xb = x.To(where);
            var lossFn = new CrossEntropyLoss();
            void Step()
            {
                var loss = lossFn.Forward(net.Forward(xb), y);
                loss.Backward();
                opt.Step();
                opt.ZeroGrad();
                _ = loss.Item();
            }
            for (int i = 0; i < 3; i++)
            {
                Step();
            }
            var sw = Stopwatch.StartNew();
            const int steps = 20;
            for (int i = 0; i < steps; i++)
            {
                Step();
            }
            log.WriteLine($"  time 784→1024→1024→10 training step, batch 256, Adam, on {where}: {sw.Elapsed.TotalMilliseconds / steps:F2} ms");
            net.Cpu();
        }
    }

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

    private static double Error(float[] actual, float[] expected)
    {
        double scale = 0, diff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            scale = Math.Max(scale, Math.Abs(expected[i]));
            diff = Math.Max(diff, Math.Abs(actual[i] - expected[i]));
        }
        return scale == 0 ? diff : diff / scale;
    }

    private static double Tensorwise(Module actual, Module expected, bool grads)
    {
        double worst = 0;
        foreach (var (a, e) in actual.Parameters().Zip(expected.Parameters()))
        {
            worst = Math.Max(worst, Error((grads ? a.Grad : a.Data).ToArray(), (grads ? e.Grad : e.Data).ToArray()));
        }
        return worst;
    }
}
