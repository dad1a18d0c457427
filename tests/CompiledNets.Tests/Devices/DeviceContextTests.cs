using Xunit;
using Gpu = CompiledNets.Kernels.Gpu;

namespace CompiledNets.Tests.Devices;

/// <summary><see cref="DeviceContext"/> and <see cref="DeviceBuffer{T}"/> on ILGPU's CPU accelerator.</summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class DeviceContextTests(IlgpuCpuFixture fixture)
{
    private readonly DeviceContext _ctx = fixture.Context;

    [Fact]
    public void Buffers_move_host_to_device_and_back_bit_for_bit()
    {
        float[] values =
        [
            0f, -0f, 1f, -1.5f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, float.PositiveInfinity,
            float.NegativeInfinity, BitConverter.Int32BitsToSingle(0x7FC12345), BitConverter.Int32BitsToSingle(unchecked((int)0xFFA00001)),
            1e-40f, MathF.PI,
        ];
        using var buffer = _ctx.Upload<float>(values);
        Assert.Equal(values.Length, buffer.Length);
        Assert.Equal(Device.IlgpuCpu, buffer.Device);
        float[] back = buffer.ToArray();
        Assert.Equal(values.Select(BitConverter.SingleToInt32Bits), back.Select(BitConverter.SingleToInt32Bits));

        // A slice writes only its range.
        buffer.Slice(2, 3).CopyFromHost([7f, 8f, 9f]);
        float[] sliced = buffer.ToArray();
        Assert.Equal([7f, 8f, 9f], sliced[2..5]);
        Assert.Equal(BitConverter.SingleToInt32Bits(values[1]), BitConverter.SingleToInt32Bits(sliced[1]));
        Assert.Equal(values[5], sliced[5]);
        Assert.Equal([8f, 9f], buffer.Slice(2, 3).Slice(1, 2).ToArray());
    }

    [Fact]
    public void New_buffers_are_zero_and_bad_copies_throw_without_changing_anything()
    {
        using var buffer = _ctx.Allocate<float>(5);
        Assert.Equal(new float[5], buffer.ToArray());
        buffer.CopyFromHost([1f, 2f, 3f, 4f, 5f]);
        var e = Assert.Throws<ArgumentException>(() => buffer.CopyFromHost([1f, 2f]));
        Assert.Contains("2 elements", e.Message);
        Assert.Throws<ArgumentException>(() => buffer.CopyToHost(new float[6]));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Slice(3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Slice(-1, 1));
        Assert.Equal([1f, 2f, 3f, 4f, 5f], buffer.ToArray());

        using var ints = _ctx.Upload<int>([3, -1, int.MaxValue]);
        Assert.Equal([3, -1, int.MaxValue], ints.ToArray());
        using var empty = _ctx.Allocate<float>(0);
        Assert.Empty(empty.ToArray());
    }

    [Fact]
    public void A_disposed_buffer_throws_instead_of_reading_freed_memory()
    {
        var buffer = _ctx.Upload<float>([1f, 2f]);
        buffer.Dispose();
        buffer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => buffer.ToArray());
        Assert.Throws<ObjectDisposedException>(() => Gpu.ActivationKernels.Relu(_ctx, buffer));
    }

    [Fact]
    public void Out_of_memory_is_a_typed_exception_and_the_device_stays_usable()
    {
        long huge = 1L << 42; // 16 TiB of floats
        var e = Assert.Throws<DeviceOutOfMemoryException>(() => _ctx.Allocate<float>(huge));
        Assert.Equal(Device.IlgpuCpu, e.Device);
        Assert.Equal(huge * 4, e.RequestedBytes);
        Assert.Contains("Out of memory on ilgpu-cpu", e.Message);
        using var small = _ctx.Upload<float>([-1f, 2f]);
        Gpu.ActivationKernels.Relu(_ctx, small);
        Assert.Equal([0f, 2f], small.ToArray());
    }

    [Fact]
    public void A_buffer_from_another_context_is_refused_naming_the_devices()
    {
        using var other = DeviceContext.Create(Device.IlgpuCpu);
        using var foreign = other.Upload<float>([1f, -1f]);
        var e = Assert.Throws<ArgumentException>(() => Gpu.ActivationKernels.Relu(_ctx, foreign));
        Assert.Contains("another context", e.Message);
        Assert.Contains("ilgpu-cpu", e.Message);
        Assert.Equal([1f, -1f], foreign.ToArray());
        other.Dispose();
        Assert.Throws<ObjectDisposedException>(() => foreign.ToArray());
    }

    [Fact]
    public void Each_kernel_compiles_once_however_often_it_runs()
    {
        using var ctx = DeviceContext.Create(Device.IlgpuCpu);
        Assert.Equal(0, ctx.CompiledKernelCount);
        using var x = ctx.Upload<float>([1f, -2f, 3f, -4f, 5f, -6f]);
        using var w = ctx.Upload<float>([1f, 0f, 0f, 1f, 1f, 1f]);
        using var y = ctx.Allocate<float>(4);
        using var g = ctx.Allocate<float>(6);
        Gpu.LinearKernels.Forward(ctx, x, w, default, y, 2, 3, 2, relu: true);
        Gpu.ActivationKernels.Relu(ctx, x);
        Gpu.ActivationKernels.Tanh(ctx, x);
        Assert.Equal(3, ctx.CompiledKernelCount);
        for (int i = 0; i < 5; i++)
        {
            Gpu.LinearKernels.Forward(ctx, x, w, default, y, 2, 3, 2, relu: i % 2 == 0);
            Gpu.LinearKernels.BackwardInput(ctx, y, w, g, 2, 3, 2);
            Gpu.ActivationKernels.Relu(ctx, x);
            Gpu.ActivationKernels.Tanh(ctx, x);
        }
        // Forward and BackwardInput share the GEMM kernel: still three compilations.
        Assert.Equal(3, ctx.CompiledKernelCount);
        Gpu.ActivationKernels.Sigmoid(ctx, x);
        Assert.Equal(4, ctx.CompiledKernelCount);
    }
}
