using Xunit;

namespace CompiledNets.Tests.Devices;

/// <summary><see cref="Device"/> values and the <see cref="Cuda"/> queries, which must be sensible on a machine without a GPU.</summary>
public sealed class DeviceTests
{
    [Theory]
    [InlineData("cpu", DeviceType.Cpu, 0, "cpu")]
    [InlineData("CUDA", DeviceType.Cuda, 0, "cuda:0")]
    [InlineData("cuda:0", DeviceType.Cuda, 0, "cuda:0")]
    [InlineData(" cuda:3 ", DeviceType.Cuda, 3, "cuda:3")]
    [InlineData("opencl:1", DeviceType.OpenCL, 1, "opencl:1")]
    [InlineData("opencl", DeviceType.OpenCL, 0, "opencl:0")]
    [InlineData("ilgpu-cpu", DeviceType.IlgpuCpu, 0, "ilgpu-cpu")]
    public void Parse_reads_PyTorchs_spelling_and_ToString_writes_it_back(string text, DeviceType type, int index, string canonical)
    {
        var device = Device.Parse(text);
        Assert.Equal(type, device.Type);
        Assert.Equal(index, device.Index);
        Assert.Equal(canonical, device.ToString());
        Assert.Equal(device, Device.Parse(device.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:x")]
    [InlineData("cpu:0")]
    [InlineData("cuda:0:1")]
    public void Parse_rejects_other_text_saying_what_it_expected(string text)
    {
        var e = Assert.Throws<FormatException>(() => Device.Parse(text));
        Assert.Contains("expected cpu, cuda, cuda:N", e.Message);
        Assert.False(Device.TryParse(text, out _));
    }

    [Fact]
    public void Devices_are_equal_by_type_and_index()
    {
        Assert.Equal(Device.Cuda(1), Device.Cuda(1));
        Assert.True(Device.Cuda(1) == Device.Parse("cuda:1"));
        Assert.True(Device.Cuda(0) != Device.Cuda(1));
        Assert.NotEqual(Device.Cuda(0), Device.OpenCL(0));
        Assert.NotEqual(Device.Cpu, Device.IlgpuCpu);
        Assert.Equal(Device.Cuda(2).GetHashCode(), Device.Parse("cuda:2").GetHashCode());
        Assert.False(Device.Cpu.IsIlgpu);
        Assert.True(Device.IlgpuCpu.IsIlgpu);
        Assert.Throws<ArgumentOutOfRangeException>(() => Device.Cuda(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Device.OpenCL(-1));
    }

    [Fact]
    public void Cuda_queries_answer_without_a_GPU_and_name_what_is_missing()
    {
        if (Cuda.IsAvailable())
        {
            // A machine with a GPU: the queries describe it.
            Assert.True(Cuda.DeviceCount > 0);
            Assert.Null(Cuda.UnavailableReason);
            Assert.False(string.IsNullOrWhiteSpace(Cuda.GetDeviceName(0)));
            Assert.True(Cuda.GetDeviceCapability(0).Major >= 3);
            Cuda.SetDevice(Cuda.DeviceCount - 1);
            Assert.Equal(Cuda.DeviceCount - 1, Cuda.CurrentDevice);
            Cuda.SetDevice(0);
            Assert.Throws<ArgumentOutOfRangeException>(() => Cuda.GetDeviceName(Cuda.DeviceCount));
            return;
        }
        Assert.Equal(0, Cuda.DeviceCount);
        Assert.False(string.IsNullOrWhiteSpace(Cuda.UnavailableReason));
        var name = Assert.Throws<InvalidOperationException>(() => Cuda.GetDeviceName(0));
        Assert.StartsWith("CUDA is not available: ", name.Message);
        Assert.Contains(Cuda.UnavailableReason!, name.Message);
        Assert.Throws<InvalidOperationException>(() => Cuda.GetDeviceCapability(0));
        Assert.Throws<InvalidOperationException>(() => Cuda.CurrentDevice);
        Assert.Throws<InvalidOperationException>(() => Cuda.SetDevice(0));
        var create = Assert.Throws<InvalidOperationException>(() => DeviceContext.Create(Device.Cuda(0)));
        Assert.Contains("cuda:0", create.Message);
        Assert.Contains(Cuda.UnavailableReason!, create.Message);
    }

    [Fact]
    public void The_CPU_device_has_no_ILGPU_context()
    {
        var e = Assert.Throws<ArgumentException>(() => DeviceContext.Create(Device.Cpu));
        Assert.Contains("Device.IlgpuCpu", e.Message);
        Assert.Throws<ArgumentException>(() => DeviceContext.For(Device.Cpu));
    }

    [Fact]
    public void An_OpenCL_device_that_is_not_there_is_a_clear_error()
    {
        // This machine has no OpenCL driver; 99 is past the devices of any machine this suite runs on.
        var e = Assert.Throws<InvalidOperationException>(() => DeviceContext.Create(Device.OpenCL(99)));
        Assert.Contains("Cannot use opencl:99", e.Message);
        Assert.Contains("OpenCL device(s)", e.Message);
    }

    [Fact]
    public void The_shared_context_of_a_device_is_created_once()
    {
        var shared = DeviceContext.For(Device.IlgpuCpu);
        Assert.Same(shared, DeviceContext.For(Device.Parse("ilgpu-cpu")));
        Assert.Equal(Device.IlgpuCpu, shared.Device);
        Assert.Contains("ilgpu-cpu", shared.ToString());
    }
}
