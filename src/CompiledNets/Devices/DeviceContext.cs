using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace CompiledNets;

/// <summary>
/// The runtime of one ILGPU device: it owns the ILGPU <c>Context</c> and <c>Accelerator</c>, compiles and caches
/// each kernel once (<see cref="CompiledKernelCount"/> counts the compilations), allocates device buffers
/// (<see cref="Allocate{T}"/>, <see cref="Upload{T}"/>) and orders work on one stream (<see cref="Synchronize"/>).
/// </summary>
/// <remarks>
/// <para>This is the backend seam's device half (docs/architecture.md, "Devices"): GPU kernels
/// (<c>CompiledNets.Kernels.Gpu</c>) take a context, buffers and sizes, and never a generator object; the CPU
/// device (<see cref="Device.Cpu"/>) has no context because it runs <c>CompiledNets.Kernels.Cpu</c> on host spans.</para>
/// <para>Kernel launches are queued on the accelerator's default stream and run in order; copies to the host wait
/// for them. One context is not meant to be driven from several threads at once.</para>
/// </remarks>
public sealed class DeviceContext : IDisposable
{
    private static readonly ConcurrentDictionary<Device, Lazy<DeviceContext>> s_shared = new();
    // Tests: a private context that For(device) returns instead of the shared one, on this async flow only.
    private static readonly AsyncLocal<DeviceContext?> s_override = new();

    private readonly Context _context;
    private readonly Dictionary<string, Delegate> _kernels = new();
    private readonly object _gate = new();
    private MemoryBuffer1D<float, Stride1D.Dense>? _dummyFloat;
    private MemoryBuffer1D<int, Stride1D.Dense>? _dummyInt;
    private bool _disposed;
    private long _memoryAllocated;
    private int _bufferCount;

    private DeviceContext(Device device, Context context, Accelerator accelerator)
    {
        Device = device;
        _context = context;
        Accelerator = accelerator;
    }

    /// <summary>
    /// Creates a context for <paramref name="device"/>, owned by the caller (dispose it to free the device's memory).
    /// Takes ~0.1 s (ILGPU's context); kernels are compiled later, on first use.
    /// </summary>
    /// <param name="device">An ILGPU device: <see cref="Device.IlgpuCpu"/>, <see cref="Device.Cuda(int)"/> or <see cref="Device.OpenCL(int)"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="device"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="device"/> is <see cref="Device.Cpu"/>, which runs CompiledNets' SIMD kernels, not ILGPU.</exception>
    /// <exception cref="InvalidOperationException">The device does not exist on this machine; the message says what is missing.</exception>
    public static DeviceContext Create(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        switch (device.Type)
        {
            case DeviceType.Cpu:
                throw new ArgumentException("Device.Cpu runs CompiledNets' SIMD kernels (Kernels.Cpu) and has no ILGPU context; use Device.IlgpuCpu for ILGPU's CPU accelerator.", nameof(device));
            case DeviceType.IlgpuCpu:
            {
                var context = Context.Create(b => b.CPU().EnableAlgorithms());
                return new DeviceContext(device, context, context.CreateCPUAccelerator(0));
            }
            case DeviceType.Cuda:
            {
                if (!Cuda.IsAvailable())
                {
                    throw new InvalidOperationException($"Cannot use {device}: CUDA is not available: {Cuda.UnavailableReason}");
                }
                if (device.Index >= Cuda.DeviceCount)
                {
                    throw new InvalidOperationException($"Cannot use {device}: this machine has {Cuda.DeviceCount} CUDA device(s).");
                }
                var context = Context.Create(b => b.Cuda().EnableAlgorithms());
                return Build(device, context, c => c.CreateCudaAccelerator(device.Index));
            }
            default:
            {
                var context = Context.Create(b => b.OpenCL().EnableAlgorithms());
                int count = context.GetCLDevices().Count;
                if (device.Index >= count)
                {
                    context.Dispose();
                    throw new InvalidOperationException($"Cannot use {device}: ILGPU found {count} OpenCL device(s) (an OpenCL ICD loader and driver are needed).");
                }
                return Build(device, context, c => c.CreateCLAccelerator(device.Index));
            }
        }
    }

    /// <summary>
    /// An ILGPU CPU accelerator that simulates groups of <paramref name="threadsPerWarp"/> × <paramref name="warpsPerGroup"/>
    /// threads (the default simulates 16), so tests can run the kernels' GPU-sized configurations (e.g. 256-thread
    /// groups and 16×16 GEMM tiles) without a GPU.
    /// </summary>
    internal static DeviceContext CreateIlgpuCpu(int threadsPerWarp, int warpsPerGroup)
    {
        var context = Context.Create(b => b.CPU(new CPUDevice(threadsPerWarp, warpsPerGroup, 1)).EnableAlgorithms());
        return Build(Device.IlgpuCpu, context, c => c.CreateCPUAccelerator(0));
    }

    private static DeviceContext Build(Device device, Context context, Func<Context, Accelerator> create)
    {
        try
        {
            return new DeviceContext(device, context, create(context));
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The process-wide shared context of <paramref name="device"/>, created on first use and kept until the process
    /// ends (what models and optimizers moved to a device will share, so that its kernels compile once).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="device"/> is <see cref="Device.Cpu"/>.</exception>
    /// <exception cref="InvalidOperationException">The device does not exist on this machine.</exception>
    public static DeviceContext For(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (s_override.Value is { } own && own.Device == device && !own.IsDisposed)
        {
            return own;
        }
        var lazy = s_shared.GetOrAdd(device, d => new Lazy<DeviceContext>(() => Create(d)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            s_shared.TryRemove(new KeyValuePair<Device, Lazy<DeviceContext>>(device, lazy));
            throw;
        }
    }

    /// <summary>
    /// Makes <see cref="For"/> return <paramref name="context"/> for its device on the calling async flow until the result
    /// is disposed, so a test can count the memory of one model, optimizer, loss and loader without other tests' work
    /// on the shared context in between.
    /// </summary>
    internal static IDisposable UseAsShared(DeviceContext context)
    {
        var previous = s_override.Value;
        s_override.Value = context;
        return new Restore(previous);
    }

    private sealed class Restore(DeviceContext? previous) : IDisposable
    {
        public void Dispose() => s_override.Value = previous;
    }

    /// <summary>The device this context runs on.</summary>
    public Device Device { get; }

    /// <summary>
    /// The bytes of device memory held by live <see cref="DeviceBuffer{T}"/>s of this context: allocated minus freed by
    /// <see cref="DeviceBuffer{T}.Dispose"/> (PyTorch: <c>torch.cuda.memory_allocated()</c>). It counts what CompiledNets
    /// allocated through <see cref="Allocate{T}"/> and <see cref="Upload{T}"/> (parameters, gradients, activations, optimizer
    /// state, loss scratch, loader batches, tensors from <see cref="Tensor.To"/>), not ILGPU's own kernels and two
    /// one-element placeholders. A training loop should leave it flat after its first step.
    /// </summary>
    public long MemoryAllocated => Interlocked.Read(ref _memoryAllocated);

    /// <summary>The number of live <see cref="DeviceBuffer{T}"/>s of this context (allocated minus disposed); see <see cref="MemoryAllocated"/>.</summary>
    public int BufferCount => Volatile.Read(ref _bufferCount);

    /// <summary>
    /// Tests: a simulated memory size in bytes; an allocation that would take <see cref="MemoryAllocated"/> past it throws
    /// <see cref="DeviceOutOfMemoryException"/> as a full device would (ILGPU's CPU accelerator has no configurable memory).
    /// Null: only the device's real memory limits.
    /// </summary>
    internal long? MemoryLimit { get; set; }

    internal void OnFreed(long bytes)
    {
        Interlocked.Add(ref _memoryAllocated, -bytes);
        Interlocked.Decrement(ref _bufferCount);
    }

    /// <summary>The accelerator's name as ILGPU reports it (for CUDA, the driver's device name).</summary>
    public string Name => Accelerator.Name;

    /// <summary>The device's memory in bytes, as ILGPU reports it.</summary>
    public long MemorySize => Accelerator.MemorySize;

    /// <summary>The largest number of threads in one group (thread block) on this accelerator.</summary>
    public int MaxThreadsPerGroup => Accelerator.MaxNumThreadsPerGroup;

    /// <summary>How many kernels this context has compiled and loaded; each kernel (and each specialisation) is compiled once.</summary>
    public int CompiledKernelCount { get; private set; }

    internal Accelerator Accelerator { get; }

    /// <summary>
    /// The kernel cached under <paramref name="key"/>, compiled by <paramref name="load"/> on first use only.
    /// </summary>
    internal TKernel Kernel<TKernel>(string key, Func<Accelerator, TKernel> load) where TKernel : Delegate
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!_kernels.TryGetValue(key, out var kernel))
            {
                kernel = load(Accelerator);
                _kernels.Add(key, kernel);
                CompiledKernelCount++;
            }
            return (TKernel)kernel;
        }
    }

    /// <summary>
    /// Allocates <paramref name="length"/> elements on the device, zeroed.
    /// </summary>
    /// <param name="length">Number of elements, ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    /// <exception cref="DeviceOutOfMemoryException">The device cannot hold the buffer; nothing was allocated and the context stays usable.</exception>
    public DeviceBuffer<T> Allocate<T>(long length) where T : unmanaged => AllocateCore<T>(length, zero: true);

    private unsafe DeviceBuffer<T> AllocateCore<T>(long length, bool zero) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ThrowIfDisposed();
        long bytes = length > long.MaxValue / sizeof(T) ? long.MaxValue : length * sizeof(T);
        if (bytes > Accelerator.MemorySize)
        {
            throw new DeviceOutOfMemoryException(Device, bytes, Accelerator.MemorySize);
        }
        if (MemoryLimit is { } limit && bytes > limit - MemoryAllocated)
        {
            throw new DeviceOutOfMemoryException(Device, bytes, limit);
        }
        MemoryBuffer1D<T, Stride1D.Dense> memory;
        try
        {
            memory = Accelerator.Allocate1D<T>(length);
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            throw new DeviceOutOfMemoryException(Device, bytes, Accelerator.MemorySize, e);
        }
        if (zero && length > 0)
        {
            memory.MemSetToZero();
            // Wait for it: ILGPU's CPU accelerator does not order the fill with host copies that follow
            // (a test saw the zeros land after an upload and a kernel). Allocation is rare; correctness first.
            Accelerator.Synchronize();
        }
        Interlocked.Add(ref _memoryAllocated, bytes);
        Interlocked.Increment(ref _bufferCount);
        return new DeviceBuffer<T>(this, memory, bytes);
    }

    /// <summary>Allocates a buffer holding a copy of <paramref name="values"/>.</summary>
    /// <exception cref="DeviceOutOfMemoryException">The device cannot hold the buffer.</exception>
    public DeviceBuffer<T> Upload<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        var buffer = AllocateCore<T>(values.Length, zero: false);
        buffer.CopyFromHost(values);
        return buffer;
    }

    /// <summary>Waits until every queued kernel and copy has finished (PyTorch: <c>torch.cuda.synchronize()</c>).</summary>
    public void Synchronize()
    {
        ThrowIfDisposed();
        Accelerator.Synchronize();
    }

    private static bool IsOutOfMemory(Exception e) => e switch
    {
        OutOfMemoryException => true,
        CudaException c => c.Error.Contains("OUT_OF_MEMORY", StringComparison.Ordinal),
        AcceleratorException => e.Message.Contains("memory", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };

    /// <summary>A one-element view used where a kernel's optional float operand is absent.</summary>
    internal ArrayView<float> NoFloats => (_dummyFloat ??= Accelerator.Allocate1D<float>(1)).View.AsContiguous();

    /// <summary>A one-element view used where a kernel's optional int operand is absent.</summary>
    internal ArrayView<int> NoInts => (_dummyInt ??= Accelerator.Allocate1D<int>(1)).View.AsContiguous();

    /// <summary>Checks that <paramref name="span"/> lives on this context; an empty default span passes.</summary>
    internal void Check<T>(DeviceSpan<T> span, string name) where T : unmanaged
    {
        if (span.Buffer is { } b && !ReferenceEquals(b.Context, this))
        {
            throw new ArgumentException($"{name} lives on {b.Context.Device} (another context); the kernel runs on {Device}. Copy it first.", name);
        }
        span.Buffer?.ThrowIfDisposed();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Frees the accelerator, its kernels and every buffer allocated from it that is still alive.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _kernels.Clear();
            _dummyFloat?.Dispose();
            _dummyInt?.Dispose();
            Accelerator.Dispose();
            _context.Dispose();
        }
    }

    internal bool IsDisposed => _disposed;

    /// <inheritdoc/>
    public override string ToString() => $"{Device} ({Name})";
}
