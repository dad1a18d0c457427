using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace CompiledNets;

/// <summary>
/// Queries about CUDA devices (PyTorch: <c>torch.cuda</c>), answered through ILGPU's CUDA driver bindings. On a
/// machine without an NVIDIA driver or GPU they are sensible: <see cref="IsAvailable"/> is false,
/// <see cref="DeviceCount"/> is 0, and the members that need a device throw an <see cref="InvalidOperationException"/>
/// that says what is missing (<see cref="UnavailableReason"/>).
/// </summary>
/// <remarks>
/// The devices are enumerated once per process, on first use (like PyTorch's lazy CUDA initialisation); a GPU
/// plugged in later is not seen. <see cref="CurrentDevice"/> is process-wide here (PyTorch keeps it per thread).
/// </remarks>
public static class Cuda
{
    private sealed record Info(string Name, int Major, int Minor);

    private static readonly Lazy<(Info[] Devices, string? Reason)> s_probe = new(Probe, LazyThreadSafetyMode.ExecutionAndPublication);
    private static volatile int s_current;

    /// <summary>Whether at least one CUDA device can be used (PyTorch: <c>torch.cuda.is_available()</c>).</summary>
    public static bool IsAvailable() => DeviceCount > 0;

    /// <summary>The number of CUDA devices (PyTorch: <c>torch.cuda.device_count()</c>); 0 without a driver or GPU.</summary>
    public static int DeviceCount => s_probe.Value.Devices.Length;

    /// <summary>
    /// Why no CUDA device is available (the driver library could not be loaded, or it reports no device, or ILGPU
    /// failed to initialise it), or null when <see cref="IsAvailable"/> is true.
    /// </summary>
    public static string? UnavailableReason => s_probe.Value.Reason;

    /// <summary>The ordinal of the selected CUDA device (PyTorch: <c>torch.cuda.current_device()</c>); 0 until <see cref="SetDevice"/>.</summary>
    /// <exception cref="InvalidOperationException">No CUDA device is available; the message says why.</exception>
    public static int CurrentDevice
    {
        get
        {
            RequireAvailable();
            return s_current;
        }
    }

    /// <summary>Selects the CUDA device that <see cref="CurrentDevice"/> names (PyTorch: <c>torch.cuda.set_device(i)</c>).</summary>
    /// <param name="index">A device ordinal in [0, <see cref="DeviceCount"/>).</param>
    /// <exception cref="InvalidOperationException">No CUDA device is available; the message says why.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, <see cref="DeviceCount"/>).</exception>
    public static void SetDevice(int index)
    {
        Get(index);
        s_current = index;
    }

    /// <summary>The device's name as the driver reports it, e.g. <c>NVIDIA H200</c> (PyTorch: <c>torch.cuda.get_device_name(i)</c>).</summary>
    /// <param name="index">A device ordinal in [0, <see cref="DeviceCount"/>).</param>
    /// <exception cref="InvalidOperationException">No CUDA device is available; the message says why.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, <see cref="DeviceCount"/>).</exception>
    public static string GetDeviceName(int index) => Get(index).Name;

    /// <summary>
    /// The device's compute capability (major, minor), e.g. (9, 0) for Hopper (PyTorch:
    /// <c>torch.cuda.get_device_capability(i)</c>); (0, 0) when ILGPU does not know the architecture.
    /// </summary>
    /// <param name="index">A device ordinal in [0, <see cref="DeviceCount"/>).</param>
    /// <exception cref="InvalidOperationException">No CUDA device is available; the message says why.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, <see cref="DeviceCount"/>).</exception>
    public static (int Major, int Minor) GetDeviceCapability(int index)
    {
        var info = Get(index);
        return (info.Major, info.Minor);
    }

    private static Info Get(int index)
    {
        RequireAvailable();
        var devices = s_probe.Value.Devices;
        if ((uint)index >= (uint)devices.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index,
                $"CUDA device {index} does not exist; this machine has {devices.Length} (valid ordinals 0..{devices.Length - 1}).");
        }
        return devices[index];
    }

    private static void RequireAvailable()
    {
        if (DeviceCount == 0)
        {
            throw new InvalidOperationException("CUDA is not available: " + UnavailableReason);
        }
    }

    /// <summary>The name of the CUDA driver library on this platform.</summary>
    internal static string DriverLibrary => OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";

    private static (Info[], string?) Probe()
    {
        // Look for the driver ourselves first: ILGPU reports a missing driver as "no devices", and the user
        // should learn which of the two it is.
        if (!NativeLibrary.TryLoad(DriverLibrary, out IntPtr handle))
        {
            return ([], $"the NVIDIA driver library {DriverLibrary} could not be loaded (no NVIDIA driver is installed, or it is not on the library path).");
        }
        NativeLibrary.Free(handle);
        try
        {
            using var context = Context.Create(b => b.Cuda());
            var list = new List<Info>();
            foreach (CudaDevice d in context.GetCudaDevices())
            {
                list.Add(d.Architecture is { } a ? new Info(d.Name, a.Major, a.Minor) : new Info(d.Name, 0, 0));
            }
            var devices = list.ToArray();
            return devices.Length == 0
                ? (devices, $"the NVIDIA driver ({DriverLibrary}) loaded but reports no CUDA device.")
                : (devices, null);
        }
        catch (Exception e)
        {
            // A probe: whatever the driver or ILGPU throws (an old driver, a broken install) means "not available",
            // said once in UnavailableReason, rather than an exception from every query.
            return ([], $"ILGPU could not initialise the CUDA driver ({e.GetType().Name}: {e.Message}).");
        }
    }
}
