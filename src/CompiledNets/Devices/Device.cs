using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace CompiledNets;

/// <summary>
/// Where tensors live and kernels run (PyTorch: <c>torch.device</c>): <see cref="Cpu"/>, <see cref="Cuda(int)"/>,
/// <see cref="OpenCL(int)"/> or <see cref="IlgpuCpu"/>. A device is a plain value: creating one checks nothing
/// about the machine; <see cref="DeviceContext.Create(Device)"/> is where a missing device is reported.
/// </summary>
/// <remarks>
/// Two devices are equal when their <see cref="Type"/> and <see cref="Index"/> are. <see cref="ToString"/> writes
/// PyTorch's form (<c>cpu</c>, <c>cuda:0</c>) and <see cref="Parse"/> reads it back.
/// </remarks>
public sealed class Device : IEquatable<Device>
{
    private Device(DeviceType type, int index)
    {
        Type = type;
        Index = index;
    }

    /// <summary>The host CPU with CompiledNets' SIMD kernels (PyTorch: <c>torch.device("cpu")</c>).</summary>
    public static Device Cpu { get; } = new(DeviceType.Cpu, 0);

    /// <summary>ILGPU's CPU accelerator, which runs the GPU kernels on the host (for tests and CI; slow).</summary>
    public static Device IlgpuCpu { get; } = new(DeviceType.IlgpuCpu, 0);

    /// <summary>The CUDA device with ordinal <paramref name="index"/> (PyTorch: <c>torch.device("cuda", index)</c>).</summary>
    /// <param name="index">The device ordinal, ≥ 0; default 0. Whether it exists is checked when a context is created.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative.</exception>
    public static Device Cuda(int index = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return new(DeviceType.Cuda, index);
    }

    /// <summary>The OpenCL device with ordinal <paramref name="index"/> among those ILGPU finds.</summary>
    /// <param name="index">The device ordinal, ≥ 0; default 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative.</exception>
    public static Device OpenCL(int index = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return new(DeviceType.OpenCL, index);
    }

    /// <summary>The kind of device (PyTorch: <c>device.type</c>).</summary>
    public DeviceType Type { get; }

    /// <summary>The ordinal among devices of the same type (PyTorch: <c>device.index</c>); 0 for <see cref="Cpu"/> and <see cref="IlgpuCpu"/>.</summary>
    public int Index { get; }

    /// <summary>Whether kernels for this device are ILGPU kernels (<c>Kernels.Gpu</c>), i.e. every type but <see cref="DeviceType.Cpu"/>.</summary>
    public bool IsIlgpu => Type != DeviceType.Cpu;

    /// <summary>PyTorch's spelling: <c>cpu</c>, <c>cuda:0</c>, <c>opencl:1</c>; ILGPU's CPU accelerator is <c>ilgpu-cpu</c>.</summary>
    public override string ToString() => Type switch
    {
        DeviceType.Cpu => "cpu",
        DeviceType.IlgpuCpu => "ilgpu-cpu",
        DeviceType.Cuda => "cuda:" + Index.ToString(CultureInfo.InvariantCulture),
        _ => "opencl:" + Index.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Reads a device from PyTorch's spelling: <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>, <c>opencl</c>, <c>opencl:N</c>,
    /// <c>ilgpu-cpu</c> (case-insensitive, surrounding white space ignored).
    /// </summary>
    /// <remarks>
    /// <c>cuda</c> without an index means <c>cuda:0</c> here; PyTorch reads it as "the current CUDA device"
    /// (use <c>Device.Cuda(CompiledNets.Cuda.CurrentDevice)</c> for that).
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException">The text is not one of the forms above.</exception>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var device)
            ? device
            : throw new FormatException($"'{text}' is not a device; expected cpu, cuda, cuda:N, opencl, opencl:N or ilgpu-cpu (N ≥ 0).");
    }

    /// <summary>Like <see cref="Parse"/>, returning false instead of throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out Device? device)
    {
        device = null;
        if (text is null)
        {
            return false;
        }
        string s = text.Trim().ToLowerInvariant();
        switch (s)
        {
            case "cpu":
                device = Cpu;
                return true;
            case "ilgpu-cpu":
                device = IlgpuCpu;
                return true;
        }
        int colon = s.IndexOf(':');
        string type = colon < 0 ? s : s[..colon];
        int index = 0;
        if (colon >= 0 && !(int.TryParse(s.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out index)))
        {
            return false;
        }
        device = type switch
        {
            "cuda" => new Device(DeviceType.Cuda, index),
            "opencl" => new Device(DeviceType.OpenCL, index),
            _ => null,
        };
        return device is not null;
    }

    /// <inheritdoc/>
    public bool Equals(Device? other) => other is not null && other.Type == Type && other.Index == Index;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Device);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Type, Index);

    /// <summary>Whether two devices have the same type and index.</summary>
    public static bool operator ==(Device? left, Device? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Whether two devices differ in type or index.</summary>
    public static bool operator !=(Device? left, Device? right) => !(left == right);
}
