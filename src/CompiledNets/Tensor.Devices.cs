namespace CompiledNets;

public sealed partial class Tensor : IDisposable
{
    // One reference (not the device and a span inline), so that a CPU tensor view stays as small as before.
    private OnDeviceValues? _onDevice;

    // Owned: the buffer this tensor allocated in To (freed by Dispose); null for views of a model's or a loader's buffers.
    // HostSource: the model whose device output this is, while its host copy may lag (copied on the first host read).
    private sealed record OnDeviceValues(Device Device, DeviceSpan<float> Values, DeviceBuffer<float>? Owned = null, Module? HostSource = null);

    /// <summary>
    /// The device the tensor's values are on (PyTorch: <c>tensor.device</c>): <see cref="Device.Cpu"/> unless it came from
    /// <see cref="To"/> or from the <c>Forward</c> of a model on a device.
    /// </summary>
    /// <remarks>
    /// A tensor on a device keeps a host copy of its values, so <see cref="AsSpan"/>, <see cref="ToArray"/>, <see cref="Item"/>
    /// and <see cref="Metrics"/> read it without a transfer; treat that copy as read-only (writes to it do not reach the device).
    /// </remarks>
    public Device Device => _onDevice?.Device ?? Device.Cpu;

    /// <summary>Whether the values are also on a device (<see cref="Device"/> is not the CPU).</summary>
    internal bool IsOnDevice => _onDevice is not null;

    /// <summary>The values on <see cref="Device"/>; empty for a CPU tensor.</summary>
    internal DeviceSpan<float> DeviceValues => _onDevice?.Values ?? default;

    /// <summary>
    /// A copy of the tensor on <paramref name="device"/> (PyTorch: <c>tensor.to(device)</c>); the tensor itself when it is
    /// already there. Values are copied bit for bit.
    /// </summary>
    /// <remarks>
    /// Each call to a device allocates a new device buffer that the copy owns: free it with <see cref="Dispose"/>
    /// (<c>using var xd = x.To(device);</c>) when the step is done; a copy that is never disposed is left to ILGPU's
    /// finalizer and stays counted in <see cref="DeviceContext.MemoryAllocated"/>. In a training loop prefer a loader with <c>loader.Device</c> set, which copies every batch
    /// into one device buffer it reuses.
    /// </remarks>
    /// <param name="device">The target, e.g. <see cref="Device.Cpu"/>, <c>Device.Cuda(0)</c> or <see cref="Device.IlgpuCpu"/>.</param>
    /// <exception cref="InvalidOperationException">The device does not exist on this machine, or the tensor is a stale view.</exception>
    /// <exception cref="DeviceOutOfMemoryException">The device cannot hold the values.</exception>
    public Tensor To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device == Device)
        {
            return this;
        }
        ThrowIfStale();
        var copy = FromArray(AsSpan().ToArray(), _shape);
        if (device.IsIlgpu)
        {
            var context = DeviceContext.For(device);
            var buffer = context.Upload<float>(copy.AsSpan());
            copy._onDevice = new OnDeviceValues(device, buffer, buffer);
        }
        return copy;
    }

    /// <summary>A copy on <c>Device.Cuda(<paramref name="index"/>)</c> (PyTorch: <c>tensor.cuda()</c>).</summary>
    /// <exception cref="InvalidOperationException">There is no such CUDA device.</exception>
    public Tensor Cuda(int index = 0) => To(Device.Cuda(index));

    /// <summary>A copy on the CPU, or this tensor when it is there (PyTorch: <c>tensor.cpu()</c>).</summary>
    public Tensor Cpu() => To(Device.Cpu);

    /// <summary>
    /// Frees the device memory of a copy made by <see cref="To"/> (its values on the device; the host copy stays readable).
    /// Does nothing for a CPU tensor and for a model's output or a loader's batch, whose device memory their owner reuses.
    /// Idempotent. Giving a disposed device copy to a model throws <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose() => _onDevice?.Owned?.Dispose();

    /// <summary>Marks a host view as also held on <paramref name="device"/> at <paramref name="values"/> (a device model's output).</summary>
    internal Tensor OnDevice(Device device, DeviceSpan<float> values, Module? hostSource = null)
    {
        _onDevice = new OnDeviceValues(device, values, HostSource: hostSource);
        return this;
    }

    /// <summary>
    /// For a device model's output: brings the host copy up to date before a host read (<see cref="AsSpan"/>,
    /// <c>ToArray</c>, <c>ToString</c>, metrics), so a training step whose loss runs on the device copies nothing back.
    /// </summary>
    private void PullFromDevice() => _onDevice?.HostSource?.PullOutputToHost();
}
