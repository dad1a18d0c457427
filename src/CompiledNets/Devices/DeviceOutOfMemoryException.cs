namespace CompiledNets;

/// <summary>
/// A device could not allocate a buffer (PyTorch: <c>torch.cuda.OutOfMemoryError</c>). Nothing was allocated and
/// the device stays usable: free buffers (<see cref="DeviceBuffer{T}.Dispose"/>) or use smaller batches and retry.
/// </summary>
public sealed class DeviceOutOfMemoryException : OutOfMemoryException
{
    /// <summary>Creates the exception for a failed request of <paramref name="requestedBytes"/> bytes on <paramref name="device"/>.</summary>
    public DeviceOutOfMemoryException(Device device, long requestedBytes, long deviceBytes, Exception? inner = null)
        : base($"Out of memory on {device}: could not allocate {requestedBytes:N0} bytes (the device has {deviceBytes:N0} bytes in all).", inner)
    {
        Device = device;
        RequestedBytes = requestedBytes;
        DeviceBytes = deviceBytes;
    }

    /// <summary>The device that ran out of memory.</summary>
    public Device Device { get; }

    /// <summary>The size of the failed request, in bytes.</summary>
    public long RequestedBytes { get; }

    /// <summary>The device's total memory as ILGPU reports it, in bytes (in tests, the simulated limit that was hit).</summary>
    public long DeviceBytes { get; }
}
