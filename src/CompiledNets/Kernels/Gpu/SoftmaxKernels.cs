using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace CompiledNets.Kernels.Gpu;

/// <summary>
/// Softmax and cross-entropy fused (PyTorch: <c>nn.CrossEntropyLoss</c> = <c>log_softmax</c> + <c>nll_loss</c>): one
/// kernel gives each row's loss and the gradient of the logits; the GPU twin of what <see cref="CrossEntropyLoss"/>
/// computes on the CPU (<c>Forward</c> then <c>Backward</c>).
/// </summary>
public static partial class SoftmaxKernels
{
    /// <summary>
    /// For each row r: <c>ℓᵣ = logsumexp(xᵣ) − xᵣ[yᵣ]</c> into <paramref name="rowLoss"/>, and
    /// <c>grad[r, c] = softmax(xᵣ)[c]·scale − (c = yᵣ ? scale : 0)</c> (stable: the row maximum is subtracted first).
    /// </summary>
    /// <param name="context">The device the spans live on.</param>
    /// <param name="logits">Logits, <c>[batch, classes]</c>.</param>
    /// <param name="labels">Class indices, <c>[batch]</c>. A label outside [0, classes) cannot throw on a device: its row's
    /// loss is NaN (so the reduced loss is NaN) and its gradient row lacks the one-hot term; check labels on the host.</param>
    /// <param name="grad">Receives the gradient of the logits, <c>[batch, classes]</c>.</param>
    /// <param name="rowLoss">Receives each row's loss, <c>[batch]</c>; the mean (or sum) is the host's one reduction.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="classes">Classes per row, ≥ 1.</param>
    /// <param name="scale">The gradient's scale: <c>1/batch</c> for the mean reduction (PyTorch's default), 1 for the sum.</param>
    /// <exception cref="ArgumentException">A span has the wrong length or lives on another context.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="classes"/> &lt; 1 or <paramref name="batch"/> &lt; 0.</exception>
    /// <remarks>One thread per row, looping over the classes (fine for the tens of classes of classifiers; a row-per-group
    /// reduction is the next step for vocabularies).</remarks>
    public static void CrossEntropyForwardBackward(DeviceContext context, DeviceSpan<float> logits, DeviceSpan<int> labels,
        DeviceSpan<float> grad, DeviceSpan<float> rowLoss, int batch, int classes, float scale)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        context.Check(logits, nameof(logits));
        context.Check(labels, nameof(labels));
        context.Check(grad, nameof(grad));
        context.Check(rowLoss, nameof(rowLoss));
        LinearKernels.CheckLength(logits.Length, (long)batch * classes, nameof(logits));
        LinearKernels.CheckLength(grad.Length, (long)batch * classes, nameof(grad));
        LinearKernels.CheckLength(labels.Length, batch, nameof(labels));
        LinearKernels.CheckLength(rowLoss.Length, batch, nameof(rowLoss));
        if (batch == 0)
        {
            return;
        }
        var kernel = context.Kernel("Softmax.CrossEntropy", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, float>(CrossEntropyKernel));
        kernel(batch, logits.View(context.NoFloats), labels.View(context.NoInts), grad.View(context.NoFloats), rowLoss.View(context.NoFloats), classes, scale);
    }

    internal static void CrossEntropyKernel(Index1D r, ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> grad,
        ArrayView<float> rowLoss, int classes, float scale)
    {
        long row = (long)r.X * classes;
        float max = logits[row];
        for (int c = 1; c < classes; c++)
        {
            max = XMath.Max(max, logits[row + c]);
        }
        float sum = 0f;
        for (int c = 0; c < classes; c++)
        {
            float e = GpuMath.Exp(logits[row + c] - max);
            grad[row + c] = e;
            sum += e;
        }
        int label = labels[r];
        bool valid = label >= 0 && label < classes;
        rowLoss[r] = valid ? max + XMath.Log(sum) - logits[row + label] : float.NaN;
        for (int c = 0; c < classes; c++)
        {
            float g = grad[row + c] / sum * scale;
            grad[row + c] = c == label ? g - scale : g;
        }
    }
}
