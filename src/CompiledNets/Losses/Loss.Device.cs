namespace CompiledNets;

// The device half of LossFunction: a loss of a device tensor computes each element's loss and its gradient there, sums
// the losses into one float there, and leaves both on the device; Loss.Item() brings the one float back, and
// Loss.Backward() hands the gradient to the model's device backward. Only Mean and Sum run there (None gives one value
// per element, which is a host tensor).
public abstract partial class LossFunction
{
    private DeviceLossScratch? _scratch;
    private DeviceSpan<float> _deviceGrad; // d loss_i / d x at upstream 1, when the last forward ran on a device

    /// <summary>Whether the last forward ran on a device (for tests).</summary>
    internal bool LastForwardOnDevice => !_deviceGrad.IsEmpty;

    /// <summary>
    /// The device scratch of a forward on <paramref name="context"/>: first brings back the value of the previous device
    /// loss if nobody read it yet (its sum lives in the buffer this forward overwrites, and a <see cref="Loss"/> kept in a
    /// list must stay readable), then reuses or (for another context) replaces the buffers.
    /// </summary>
    private protected DeviceLossScratch BeginDevice(DeviceContext context)
    {
        _scratch?.ResolvePending();
        if (_scratch is not null && !ReferenceEquals(_scratch.Context, context))
        {
            ReleaseDeviceScratch();
        }
        return _scratch ??= new DeviceLossScratch(context);
    }

    /// <summary>
    /// The device counterpart of <c>Record</c>: sums <paramref name="elementLosses"/> on the device into the scratch's
    /// scalar and returns a <see cref="Loss"/> that reads it on first use; <paramref name="grad"/> (at upstream 1) stays
    /// for the backward.
    /// </summary>
    private protected Loss RecordDevice(Tensor input, ReadOnlySpan<int> elementShape, double divisor, DeviceSpan<float> elementLosses, DeviceSpan<float> grad)
    {
        var scratch = _scratch!;
        Kernels.Gpu.LossKernels.Sum(scratch.Context, elementLosses, scratch.Sum);
        if (!_elementShape.AsSpan().SequenceEqual(elementShape))
        {
            _elementShape = elementShape.ToArray();
        }
        _input = input;
        _divisor = divisor;
        _deviceGrad = grad;
        return new Loss(scratch.Pending = new DeviceLossValue(scratch.Sum, divisor, Reduction), this, ++_version);
    }

    /// <summary>The loss gradient times <paramref name="upstream"/> on the device, in a buffer the model's backward may overwrite; empty after a host forward.</summary>
    private DeviceSpan<float> DeviceGradOut(float upstream)
    {
        if (_deviceGrad.IsEmpty)
        {
            return default;
        }
        var context = _scratch!.Context;
        var result = _scratch.Floats(ref _scratch.GradOut, _deviceGrad.Length);
        Kernels.Gpu.ArithmeticKernels.Deliver(context, _deviceGrad, upstream, result, accumulate: false);
        return result;
    }

    /// <summary>After a device forward: copies its gradient times <paramref name="upstream"/> into <paramref name="grad"/> (for <c>InputGrad</c>).</summary>
    private bool TryDeviceGradToHost(Span<float> grad, float upstream)
    {
        if (_deviceGrad.IsEmpty)
        {
            return false;
        }
        _deviceGrad.CopyToHost(grad);
        System.Numerics.Tensors.TensorPrimitives.Multiply(grad, upstream, grad);
        return true;
    }

    /// <summary>Frees the device scratch (after bringing back an unread loss value): a forward on the host keeps no device memory.</summary>
    private void ReleaseDeviceScratch()
    {
        _deviceGrad = default;
        if (_scratch is null)
        {
            return;
        }
        _scratch.ResolvePending();
        _scratch.Dispose();
        _scratch = null;
    }
}

/// <summary>The value of a loss computed on a device: the sum of its element losses, read back (one float) on first use.</summary>
internal sealed class DeviceLossValue(DeviceSpan<float> sum, double divisor, Reduction reduction)
{
    private DeviceSpan<float> _sum = sum;
    private float _value;

    /// <summary>The reduced loss: the sum, or the sum / divisor (in float64, as the host losses) for the mean.</summary>
    public float Resolve()
    {
        if (!_sum.IsEmpty)
        {
            Span<float> one = stackalloc float[1];
            _sum.CopyToHost(one);
            _value = reduction == Reduction.Mean ? (float)(one[0] / divisor) : one[0];
            _sum = default;
        }
        return _value;
    }
}

/// <summary>The device buffers of a loss function: grown, reused across forwards, freed together.</summary>
internal sealed class DeviceLossScratch(DeviceContext context) : IDisposable
{
    public DeviceContext Context { get; } = context;

    public DeviceBuffer<float>? Elements, Grad, GradOut, Target, Weight, PosWeight;

    public DeviceBuffer<int>? Labels;

    public DeviceLossValue? Pending;

    private DeviceBuffer<float>? _sum;

    /// <summary>The one-float sum of the element losses.</summary>
    public DeviceSpan<float> Sum => _sum ??= Context.Allocate<float>(1);

    /// <summary>Reads the last loss's value back if nobody has (before its sum is overwritten or freed).</summary>
    public void ResolvePending()
    {
        Pending?.Resolve();
        Pending = null;
    }

    /// <summary><paramref name="length"/> floats of <paramref name="buffer"/>, grown (never shrunk) as needed.</summary>
    public DeviceSpan<float> Floats(ref DeviceBuffer<float>? buffer, long length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer?.Dispose();
            buffer = Context.Allocate<float>(Math.Max(length, 1));
        }
        return buffer.Slice(0, length);
    }

    /// <summary><paramref name="length"/> ints of <see cref="Labels"/>, grown as needed.</summary>
    public DeviceSpan<int> LabelSpan(long length)
    {
        if (Labels is null || Labels.Length < length)
        {
            Labels?.Dispose();
            Labels = Context.Allocate<int>(Math.Max(length, 1));
        }
        return Labels.Slice(0, length);
    }

    /// <summary>Uploads constant host values (class weights) once: <paramref name="buffer"/> is filled on first use only.</summary>
    public DeviceSpan<float> Constant(ref DeviceBuffer<float>? buffer, float[]? values)
    {
        if (values is null)
        {
            return default;
        }
        buffer ??= Context.Upload<float>(values);
        return buffer;
    }

    public void Dispose()
    {
        foreach (var b in new[] { Elements, Grad, GradOut, Target, Weight, PosWeight, _sum })
        {
            b?.Dispose();
        }
        Labels?.Dispose();
    }
}
