using CompiledNets.Kernels.Gpu;

namespace CompiledNets;

// Element-wise losses on a device: one kernel per loss (LossKernels.Elementwise over its IGpuElementLoss struct) gives
// every element's loss and gradient; the target goes up unless it is already on the input's device.
public abstract partial class ElementwiseLoss
{
    private Loss ForwardOnDevice(Tensor input, Tensor target)
    {
        string name = GetType().Name;
        var x = input.DeviceValues;
        var scratch = BeginDevice(x.Buffer!.Context);
        int n = (int)x.Length;
        int lastDim = input.Size(-1);
        DeviceSpan<float> t;
        if (target.Device == input.Device)
        {
            t = target.DeviceValues;
        }
        else if (target.Device == Device.Cpu)
        {
            CheckFinite(name, "target", target.AsSpan(), target.Shape);
            t = scratch.Floats(ref scratch.Target, n);
            t.CopyFromHost(target.AsSpan());
        }
        else
        {
            throw new ArgumentException($"{name}: the input is on {input.Device} but the target is on {target.Device}; move the target with target.To(input.Device).", nameof(target));
        }
        float[]? weight = null, posWeight = null;
        bool fullWeight = false;
        switch (this)
        {
            case BCELoss bce:
                (weight, fullWeight) = bce.DeviceWeight(input, lastDim);
                break;
            case BCEWithLogitsLoss logits:
                (weight, fullWeight, posWeight) = logits.DeviceWeights(input, lastDim);
                break;
            default:
                CheckShape(input, lastDim);
                break;
        }
        var layout = new ElementLossLayout
        {
            LastDim = lastDim,
            WeightMode = weight is null ? 0 : fullWeight ? 2 : 1,
            PosWeightMode = posWeight is null ? 0 : posWeight.Length == 1 ? 1 : 2,
        };
        var w = scratch.Constant(ref scratch.Weight, weight);
        var p = scratch.Constant(ref scratch.PosWeight, posWeight);
        var losses = scratch.Floats(ref scratch.Elements, n);
        var grad = scratch.Floats(ref scratch.Grad, n);
        var context = scratch.Context;
        switch (this)
        {
            case MSELoss:
                LossKernels.Elementwise(context, new SquaredError(), x, t, w, p, losses, grad, layout);
                break;
            case L1Loss:
                LossKernels.Elementwise(context, new AbsoluteError(), x, t, w, p, losses, grad, layout);
                break;
            case HuberLoss huber:
                LossKernels.Elementwise(context, new HuberError(huber.Delta), x, t, w, p, losses, grad, layout);
                break;
            case SmoothL1Loss smooth:
                LossKernels.Elementwise(context, new SmoothL1Error(smooth.Beta), x, t, w, p, losses, grad, layout);
                break;
            case BCELoss:
                LossKernels.Elementwise(context, new BinaryCrossEntropy(), x, t, w, p, losses, grad, layout);
                break;
            case BCEWithLogitsLoss:
                LossKernels.Elementwise(context, new BinaryCrossEntropyWithLogits(), x, t, w, p, losses, grad, layout);
                break;
            default:
                throw new NotSupportedException($"{name} has no device kernel; compute it on a host copy (input.Cpu()).");
        }
        return RecordDevice(input, input.Shape, n, losses, grad);
    }
}

public sealed partial class BCELoss
{
    /// <summary>The weight's values and whether it has the input's shape (else one per column), after the shape check.</summary>
    internal (float[]? Values, bool Full) DeviceWeight(Tensor input, int lastDim)
    {
        _weight.Check(input, lastDim); // the shape only: the [0, 1] check of the input needs its values on the host
        return (_weight.Values, _weight.Full);
    }
}

public sealed partial class BCEWithLogitsLoss
{
    /// <summary>The weight's values, whether it has the input's shape, and the positive weights, after the shape checks.</summary>
    internal (float[]? Values, bool Full, float[]? PosWeight) DeviceWeights(Tensor input, int lastDim)
    {
        CheckShape(input, lastDim);
        return (_weight.Values, _weight.Full, _posWeight);
    }
}

internal sealed partial class BroadcastWeight
{
    /// <summary>The weight's values, or null without one.</summary>
    public float[]? Values => _values;

    /// <summary>Whether the last <see cref="Check"/> found the input's shape (one weight per element) rather than its last dimension.</summary>
    public bool Full => _full;
}
