using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace CompiledNets;

/// <summary>
/// A block of <typeparamref name="T"/> in a device's memory (PyTorch: a tensor's storage on <c>cuda</c>), allocated
/// by <see cref="DeviceContext.Allocate{T}"/>. Copies to and from the host are bit-exact.
/// </summary>
/// <typeparam name="T">The element type (<see cref="float"/> for values, <see cref="int"/> for labels).</typeparam>
public sealed class DeviceBuffer<T> : IDisposable where T : unmanaged
{
    private readonly MemoryBuffer1D<T, Stride1D.Dense> _memory;
    private readonly long _bytes;
    private bool _disposed;

    internal DeviceBuffer(DeviceContext context, MemoryBuffer1D<T, Stride1D.Dense> memory, long bytes)
    {
        Context = context;
        _memory = memory;
        _bytes = bytes;
        Length = memory.Length;
    }

    /// <summary>The context that owns the memory.</summary>
    public DeviceContext Context { get; }

    /// <summary>The device the memory is on.</summary>
    public Device Device => Context.Device;

    /// <summary>The number of elements.</summary>
    public long Length { get; }

    /// <summary>Copies <paramref name="source"/> (exactly <see cref="Length"/> values) into the buffer, after queued work finishes.</summary>
    /// <exception cref="ArgumentException">The source has another length.</exception>
    /// <exception cref="ObjectDisposedException">The buffer or its context was disposed.</exception>
    public void CopyFromHost(ReadOnlySpan<T> source) => AsSpan().CopyFromHost(source);

    /// <summary>Copies the buffer into <paramref name="destination"/> (exactly <see cref="Length"/> values), after queued work finishes.</summary>
    /// <exception cref="ArgumentException">The destination has another length.</exception>
    /// <exception cref="ObjectDisposedException">The buffer or its context was disposed.</exception>
    public void CopyToHost(Span<T> destination) => AsSpan().CopyToHost(destination);

    /// <summary>A host array with a copy of the buffer.</summary>
    public T[] ToArray() => AsSpan().ToArray();

    /// <summary>The whole buffer as a <see cref="DeviceSpan{T}"/>.</summary>
    public DeviceSpan<T> AsSpan() => new(this, 0, Length);

    /// <summary>The <paramref name="length"/> elements from <paramref name="offset"/> (e.g. one parameter in the flat block).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the buffer.</exception>
    public DeviceSpan<T> Slice(long offset, long length) => AsSpan().Slice(offset, length);

    /// <summary>The whole buffer as a span; null gives the empty (absent) span.</summary>
    public static implicit operator DeviceSpan<T>(DeviceBuffer<T>? buffer) => buffer is null ? default : buffer.AsSpan();

    /// <summary>Sets every element to zero (queued on the device's stream).</summary>
    internal void Clear() => AsSpan().Clear();

    internal ArrayView<T> View(long offset, long length)
    {
        ThrowIfDisposed();
        return _memory.View.AsContiguous().SubView(offset, length);
    }

    internal void ThrowIfDisposed()
    {
        if (_disposed || Context.IsDisposed)
        {
            throw new ObjectDisposedException(nameof(DeviceBuffer<T>), $"This buffer on {Device} was disposed{(Context.IsDisposed ? " with its context" : "")}.");
        }
    }

    /// <summary>
    /// Frees the device memory, after queued work that may still use it finishes (and takes it off
    /// <see cref="DeviceContext.MemoryAllocated"/>). Idempotent.
    /// </summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Context.OnFreed(_bytes);
            if (!Context.IsDisposed)
            {
                Context.Synchronize();
                _memory.Dispose();
            }
        }
    }
}

/// <summary>
/// A contiguous range of a <see cref="DeviceBuffer{T}"/>: what GPU kernels take, as CPU kernels take a
/// <see cref="Span{T}"/>. The default value is empty and stands for "absent" (e.g. no bias).
/// </summary>
public readonly struct DeviceSpan<T> where T : unmanaged
{
    internal DeviceSpan(DeviceBuffer<T> buffer, long offset, long length)
    {
        Buffer = buffer;
        Offset = offset;
        Length = length;
    }

    /// <summary>The buffer the range lies in; null for the default (empty) span.</summary>
    public DeviceBuffer<T>? Buffer { get; }

    /// <summary>The first element's index in <see cref="Buffer"/>.</summary>
    public long Offset { get; }

    /// <summary>The number of elements.</summary>
    public long Length { get; }

    /// <summary>Whether the span has no elements.</summary>
    public bool IsEmpty => Length == 0;

    /// <summary>The sub-range of <paramref name="length"/> elements from <paramref name="offset"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside this span.</exception>
    public DeviceSpan<T> Slice(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range [{offset}, {offset}+{length}) is outside a span of {Length} elements.");
        }
        return new(Buffer!, Offset + offset, length);
    }

    /// <summary>
    /// Copies <paramref name="source"/> (exactly <see cref="Length"/> values) into the span, after queued work finishes
    /// (so a kernel still reading the old values never sees the new ones).
    /// </summary>
    /// <exception cref="ArgumentException">The source has another length.</exception>
    public void CopyFromHost(ReadOnlySpan<T> source)
    {
        CheckLength(source.Length);
        if (Length > 0)
        {
            Buffer!.Context.Synchronize();
            Buffer.View(Offset, Length).CopyFromCPU(ref MemoryMarshal.GetReference(source), Length);
        }
    }

    /// <summary>Copies the span into <paramref name="destination"/> (exactly <see cref="Length"/> values), after queued work finishes.</summary>
    /// <exception cref="ArgumentException">The destination has another length.</exception>
    public void CopyToHost(Span<T> destination)
    {
        CheckLength(destination.Length);
        if (Length > 0)
        {
            Buffer!.Context.Synchronize();
            Buffer.View(Offset, Length).CopyToCPU(ref MemoryMarshal.GetReference(destination), Length);
        }
    }

    /// <summary>Sets the span's elements to zero (queued on the device's stream).</summary>
    internal void Clear()
    {
        if (Length > 0)
        {
            // Floats (gradients, optimizer state) by a kernel, not ILGPU's MemSetToZero: on the CPU accelerator that fill
            // was seen landing after work queued later (see DeviceContext.Allocate); kernels run in order on every backend.
            if (typeof(T) == typeof(float))
            {
                Kernels.Gpu.ArithmeticKernels.Fill(Buffer!.Context, Unsafe.As<DeviceSpan<T>, DeviceSpan<float>>(ref Unsafe.AsRef(in this)), 0f);
                return;
            }
            Buffer!.View(Offset, Length).MemSetToZero();
            Buffer.Context.Synchronize();
        }
    }

    /// <summary>A host array with a copy of the span.</summary>
    public T[] ToArray()
    {
        var result = new T[Length];
        CopyToHost(result);
        return result;
    }

    internal ArrayView<T> View(ArrayView<T> whenEmpty) => Length == 0 ? whenEmpty : Buffer!.View(Offset, Length);

    private void CheckLength(int hostLength)
    {
        if (hostLength != Length)
        {
            throw new ArgumentException($"The host span has {hostLength} elements; the device span has {Length}.");
        }
    }
}
