namespace CompiledNets;

// Cross-entropy and NLL on a device: the labels go up (they are host tensors), the divisor of the mean (Σ w_y over the
// rows not ignored) is summed on the host from them, and everything else stays on the device.
public sealed partial class CrossEntropyLoss
{
    private Loss ForwardOnDevice(Tensor input, ReadOnlySpan<int> labels)
    {
        int batch = input.Size(0), classes = input.Size(1);
        var logits = input.DeviceValues;
        var scratch = BeginDevice(logits.Buffer!.Context);
        var deviceLabels = scratch.LabelSpan(batch);
        deviceLabels.CopyFromHost(labels);
        var rowLoss = scratch.Floats(ref scratch.Elements, batch);
        var grad = scratch.Floats(ref scratch.Grad, (long)batch * classes);
        float totalWeight = _weight is null ? classes : System.Numerics.Tensors.TensorPrimitives.Sum(_weight);
        Kernels.Gpu.LossKernels.CrossEntropy(scratch.Context, logits, deviceLabels, scratch.Constant(ref scratch.Weight, _weight), grad, rowLoss,
            batch, classes, IgnoreIndex, LabelSmoothing, totalWeight);
        _batch = batch;
        _classes = classes;
        return RecordDevice(input, [batch], ClassLosses.Divisor(labels, _weight, IgnoreIndex), rowLoss, grad);
    }
}

public sealed partial class NLLLoss
{
    private Loss ForwardOnDevice(Tensor input, ReadOnlySpan<int> labels)
    {
        int batch = input.Size(0), classes = input.Size(1);
        var logProbs = input.DeviceValues;
        var scratch = BeginDevice(logProbs.Buffer!.Context);
        var deviceLabels = scratch.LabelSpan(batch);
        deviceLabels.CopyFromHost(labels);
        var rowLoss = scratch.Floats(ref scratch.Elements, batch);
        var grad = scratch.Floats(ref scratch.Grad, (long)batch * classes);
        Kernels.Gpu.LossKernels.NllLoss(scratch.Context, logProbs, deviceLabels, scratch.Constant(ref scratch.Weight, _weight), grad, rowLoss,
            batch, classes, IgnoreIndex);
        _batch = batch;
        _classes = classes;
        return RecordDevice(input, [batch], ClassLosses.Divisor(labels, _weight, IgnoreIndex), rowLoss, grad);
    }
}

internal static partial class ClassLosses
{
    /// <summary>The divisor of the mean: <c>Σᵣ w_{yᵣ}</c> over the rows not ignored (their count without weights), as the host path sums it.</summary>
    public static double Divisor(ReadOnlySpan<int> labels, float[]? weight, int ignoreIndex)
    {
        double divisor = 0;
        foreach (int label in labels)
        {
            if (label != ignoreIndex)
            {
                divisor += weight is null ? 1f : weight[label];
            }
        }
        return divisor;
    }
}
