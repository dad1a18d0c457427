using System.Diagnostics;
using CompiledNets.Data;
using Xunit;
using Xunit.Abstractions;

namespace CompiledNets.Tests.Devices;

/// <summary>A net whose parameter block (4·1000 + 1000 + 1000·3 + 3 = 8,003 floats, 32,012 bytes) is too large for the simulated memory limit of the out-of-memory test.</summary>
[Model]
public partial class DeviceWideNet
{
    [Layer] readonly Linear hidden = new(4, 1000);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Linear @out = new(1000, 3);
}

/// <summary>
/// Issue 8's memory promises, counted with <see cref="DeviceContext.MemoryAllocated"/> and <see cref="DeviceContext.BufferCount"/>
/// on the collection's private ILGPU CPU context (made the shared one for these tests' flow by <c>UseAsShared</c>, so no
/// other test's allocations land in between; the collection runs its classes one after another).
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class DeviceMemoryTests(IlgpuCpuFixture fixture, ITestOutputHelper output)
{
    private static readonly Device Accel = Device.IlgpuCpu;

    private static (Tensor X, IntTensor Y) Data(int rows)
    {
        var g = new Generator(42);
        var x = new float[rows * 4];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)g.NextNormal();
        }
        var y = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            y[i] = g.NextInt(3);
        }
        return (Tensor.FromArray(x, rows, 4), IntTensor.FromArray(y, rows));
    }

    [Fact]
    public void TrainingOnTheDevice_AfterAWarmUpStep_LeavesMemoryExactlyFlat_AndCpuFreesWhatTheModelAndOptimizerHeld()
    {
        var context = fixture.Context;
        using var _ = DeviceContext.UseAsShared(context);
        long bytesBefore = context.MemoryAllocated;
        int buffersBefore = context.BufferCount;

        var net = new DeviceTutorialNet();
        net.To(Accel);
        Assert.Same(context, DeviceContext.For(Accel));
        var (x, y) = Data(12);
        var loader = new DataLoader(new TensorDataset(x, y, numClasses: 3), batchSize: 4, shuffle: true, seed: 7) { Device = Accel };
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        var lossFn = new CrossEntropyLoss();
        net.Train();

        void Epoch()
        {
            foreach (var (xb, yb) in loader)
            {
                opt.ZeroGrad();
                lossFn.Forward(net.Forward(xb), yb).Backward();
                opt.Step();
            }
        }

        Epoch(); // warm-up: activations, loss scratch and Adam's moments are allocated on the first step
        long bytesTrained = context.MemoryAllocated;
        int buffersTrained = context.BufferCount;
        Assert.True(bytesTrained > bytesBefore);
        // 100 epochs = 300 further steps, not 10,000: ILGPU's CPU accelerator simulates each kernel's threads (~ms per
        // step), and the count is exact, so any per-step allocation would show after one step, let alone 300.
        var watch = Stopwatch.StartNew();
        int downloads = net.OutputDownloads;
        for (int epoch = 0; epoch < 100; epoch++)
        {
            Epoch();
            Assert.Equal(bytesTrained, context.MemoryAllocated);
            Assert.Equal(buffersTrained, context.BufferCount);
        }
        Assert.Equal(downloads, net.OutputDownloads); // the logits never came back: the loss ran on the device
        output.WriteLine($"300 steps in {watch.ElapsedMilliseconds} ms; {bytesTrained - bytesBefore} bytes in {buffersTrained - buffersBefore} buffers while training");

        var expAvgOnDevice = opt.ExpAvg(0).ToArray(); // brings Adam's state back (and frees it) ...
        opt.Step(); // ... and the next device step uploads it again: still exactly what training holds
        Assert.Equal(bytesTrained, context.MemoryAllocated);
        Assert.NotEqual(expAvgOnDevice, opt.ExpAvg(0).ToArray());
        opt.Step();

        // Cpu(): the parameter block (values and gradients), the activations and Adam's moments are freed; what the
        // loader (its batch buffer) and the loss (its scratch) hold belongs to them, and goes with their next host use.
        int parameterBytes = net.Parameters().Sum(p => p.Numel) * sizeof(float);
        long loaderBytes = 4L * 4 * sizeof(float);
        long lossBytes = 4L * sizeof(int) + 4L * sizeof(float) + 2 * (4L * 3 * sizeof(float)) + sizeof(float); // labels, row losses, gradient and its scaled copy, the sum
        net.Cpu();
        Assert.Equal(Device.Cpu, net.Device);
        Assert.Equal(bytesBefore + loaderBytes + lossBytes, context.MemoryAllocated);
        Assert.Equal(buffersBefore + 1 + 5, context.BufferCount);
        Assert.True(bytesTrained - context.MemoryAllocated >= 4L * parameterBytes); // values, gradients, exp_avg, exp_avg_sq

        // Training goes on on the CPU from Adam's state as the device left it.
        var expAvg = opt.ExpAvg(0).ToArray();
        Assert.All(expAvg, v => Assert.True(float.IsFinite(v)));
        Assert.Contains(expAvg, v => v != 0f);
        loader.Device = Device.Cpu;
        Epoch();
        Assert.Equal(bytesBefore, context.MemoryAllocated);
        Assert.Equal(buffersBefore, context.BufferCount);
    }

    [Fact]
    public void TensorTo_OwnsItsDeviceCopy_DisposeFreesIt_AndAModelOutputIsNotFreedByDispose()
    {
        var context = fixture.Context;
        using var _ = DeviceContext.UseAsShared(context);
        var net = new DeviceTutorialNet().Eval();
        net.To(Accel);
        var (x, _) = Data(5);
        var warm = x.To(Accel);
        net.Forward(warm);
        warm.Dispose();
        long before = context.MemoryAllocated;
        int buffersBefore = context.BufferCount;

        var xd = x.To(Accel);
        Assert.Equal(before + 5 * 4 * sizeof(float), context.MemoryAllocated);
        Assert.Equal(buffersBefore + 1, context.BufferCount);
        var y = net.Forward(xd);
        var expected = y.ToArray();
        y.Dispose(); // the model's output: its device memory is the model's, reused by the next forward
        Assert.Equal(expected, net.Forward(xd).ToArray());
        xd.Dispose();
        xd.Dispose(); // idempotent
        Assert.Equal(before, context.MemoryAllocated);
        Assert.Equal(buffersBefore, context.BufferCount);
        Assert.Equal(x.ToArray(), xd.ToArray()); // the host copy stays readable
        Assert.Throws<ObjectDisposedException>(() => net.Forward(xd));
        x.Dispose(); // a CPU tensor: nothing to free
        Assert.Equal(x.ToArray(), xd.ToArray());
        net.Cpu();
    }

    [Fact]
    public void AModelTooLargeForTheDevice_ThrowsDeviceOutOfMemory_StaysOnTheCpuUnchanged_AndASmallerModelTrainsThereAfter()
    {
        var context = fixture.Context;
        using var _ = DeviceContext.UseAsShared(context);
        long before = context.MemoryAllocated;
        int buffersBefore = context.BufferCount;
        // Simulated: ILGPU's CPU accelerator has no configurable memory size. 48 KB: the wide net's values (32,012
        // bytes) fit, its gradients then do not, so the failure comes halfway through the move.
        context.MemoryLimit = before + 48 * 1024;
        try
        {
            var wide = new DeviceWideNet().Eval();
            var (x, y) = Data(4);
            var valuesBefore = wide.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
            var outputBefore = wide.Forward(x).ToArray();
            var e = Assert.Throws<DeviceOutOfMemoryException>(() => wide.To(Accel));
            Assert.Equal(Accel, e.Device);
            Assert.Equal(8003L * sizeof(float), e.RequestedBytes);
            Assert.Contains("Out of memory on ilgpu-cpu", e.Message);
            Assert.Equal(Device.Cpu, wide.Device);
            Assert.Equal(before, context.MemoryAllocated); // the values' buffer allocated before the failure was freed
            Assert.Equal(buffersBefore, context.BufferCount);
            Assert.Equal(valuesBefore, wide.Parameters().SelectMany(p => p.Data.ToArray()).ToArray());
            Assert.Equal(outputBefore, wide.Forward(x).ToArray());

            // The device stays usable: the tutorial net moves and trains under the same limit.
            var small = new DeviceTutorialNet();
            var twin = new DeviceTutorialNet();
            twin.LoadStateDict(small.StateDict());
            small.To(Accel);
            var opt = new Adam(small.Parameters(), lr: 0.05f);
            var twinOpt = new Adam(twin.Parameters(), lr: 0.05f);
            var lossFn = new CrossEntropyLoss();
            var xd = x.To(Accel);
            float first = 0, last = 0;
            for (int step = 0; step < 20; step++)
            {
                opt.ZeroGrad();
                var loss = lossFn.Forward(small.Eval().Forward(xd), y);
                loss.Backward();
                opt.Step();
                last = loss.Item();
                if (step == 0)
                {
                    first = last;
                }
                twinOpt.ZeroGrad();
                new CrossEntropyLoss().Forward(twin.Eval().Forward(x), y).Backward();
                twinOpt.Step();
            }
            Assert.True(last < first, $"loss {first} -> {last}");
            var devValues = small.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
            var cpuValues = twin.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
            for (int i = 0; i < devValues.Length; i++)
            {
                Assert.True(Math.Abs(devValues[i] - cpuValues[i]) <= 1e-4f * Math.Max(1f, Math.Abs(cpuValues[i])), $"parameter {i}: {devValues[i]} vs {cpuValues[i]}");
            }
            xd.Dispose();
            small.Cpu();
            lossFn.Forward(small.Forward(x), y); // a host forward frees the loss's device scratch
            Assert.Equal(before, context.MemoryAllocated);
        }
        finally
        {
            context.MemoryLimit = null;
        }
    }

    [Fact]
    public void Adam_ContinuesOnTheCpuAfterCpu_FromTheMomentsTheDeviceLeft_AsATwinTrainedOnTheCpuThroughout()
    {
        var context = fixture.Context;
        using var _ = DeviceContext.UseAsShared(context);
        var dev = new DeviceTutorialNet().Eval();
        var cpu = new DeviceTutorialNet().Eval();
        cpu.LoadStateDict(dev.StateDict());
        var (x, y) = Data(6);
        dev.To(Accel);
        var devOpt = new Adam(dev.Parameters(), lr: 0.05f);
        var cpuOpt = new Adam(cpu.Parameters(), lr: 0.05f);
        var xd = x.To(Accel);
        for (int step = 0; step < 10; step++)
        {
            if (step == 5)
            {
                dev.Cpu(); // Adam's moments come back with the parameters; the next steps run on the host
            }
            devOpt.ZeroGrad();
            new CrossEntropyLoss().Forward(dev.Forward(dev.Device == Accel ? xd : x), y).Backward();
            devOpt.Step();
            cpuOpt.ZeroGrad();
            new CrossEntropyLoss().Forward(cpu.Forward(x), y).Backward();
            cpuOpt.Step();
        }
        xd.Dispose();
        var a = dev.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
        var b = cpu.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
        for (int i = 0; i < a.Length; i++)
        {
            Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5f * Math.Max(1f, Math.Abs(b[i])), $"parameter {i}: {a[i]} vs {b[i]}");
        }
        for (int i = 0; i < dev.Parameters().Count(); i++)
        {
            // Per tensor, as the parity tests: max error / max value (summation orders differ between the paths).
            var m = devOpt.ExpAvgSq(i).ToArray();
            var n = cpuOpt.ExpAvgSq(i).ToArray();
            double error = m.Zip(n, (u, v) => Math.Abs(u - v)).Max() / n.Max(Math.Abs);
            Assert.True(error <= 1e-4, $"exp_avg_sq {i}: relative error {error}");
        }
    }
}
