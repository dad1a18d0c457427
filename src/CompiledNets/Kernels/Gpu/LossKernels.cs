using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace CompiledNets.Kernels.Gpu;

/// <summary>
/// An element-wise loss for <see cref="LossKernels.Elementwise{TLoss}"/>: the loss of one input/target pair and its derivative
/// with respect to the input, before the element weight; <c>posWeight</c> is <see cref="BCEWithLogitsLoss"/>'s positive-class
/// weight of the element's column (1 for the others).
/// </summary>
public interface IGpuElementLoss
{
    /// <summary>ℓ(x, t).</summary>
    float Value(float x, float t, float posWeight);

    /// <summary>∂ℓ/∂x.</summary>
    float Derivative(float x, float t, float posWeight);
}

/// <summary><see cref="MSELoss"/>: <c>(x − t)²</c>, derivative <c>2(x − t)</c>.</summary>
public readonly struct SquaredError : IGpuElementLoss
{
    /// <inheritdoc/>
    public float Value(float x, float t, float posWeight) => (x - t) * (x - t);

    /// <inheritdoc/>
    public float Derivative(float x, float t, float posWeight) => 2f * (x - t);
}

/// <summary><see cref="L1Loss"/>: <c>|x − t|</c>, derivative <c>sign(x − t)</c> (0 at a tie).</summary>
public readonly struct AbsoluteError : IGpuElementLoss
{
    /// <inheritdoc/>
    public float Value(float x, float t, float posWeight) => XMath.Abs(x - t);

    /// <inheritdoc/>
    public float Derivative(float x, float t, float posWeight)
    {
        float d = x - t;
        return d > 0f ? 1f : d < 0f ? -1f : 0f;
    }
}

/// <summary><see cref="HuberLoss"/> with δ = <see cref="Delta"/>: <c>½d²</c> for <c>|d| &lt; δ</c>, else <c>δ(|d| − ½δ)</c>; derivative <c>clamp(d, −δ, δ)</c>.</summary>
/// <param name="Delta">δ &gt; 0.</param>
public readonly record struct HuberError(float Delta) : IGpuElementLoss
{
    /// <inheritdoc/>
    public float Value(float x, float t, float posWeight)
    {
        float z = XMath.Abs(x - t);
        return z < Delta ? 0.5f * z * z : Delta * (z - 0.5f * Delta);
    }

    /// <inheritdoc/>
    public float Derivative(float x, float t, float posWeight) => XMath.Clamp(x - t, -Delta, Delta);
}

/// <summary><see cref="SmoothL1Loss"/> with β = <see cref="Beta"/>: <c>½d²/β</c> for <c>|d| &lt; β</c>, else <c>|d| − ½β</c>; derivative <c>clamp(d/β, −1, 1)</c> (β = 0: ±1, −1 at a tie, as PyTorch 1.13).</summary>
/// <param name="Beta">β ≥ 0.</param>
public readonly record struct SmoothL1Error(float Beta) : IGpuElementLoss
{
    /// <inheritdoc/>
    public float Value(float x, float t, float posWeight)
    {
        float z = XMath.Abs(x - t);
        return z < Beta ? 0.5f * z * z / Beta : z - 0.5f * Beta;
    }

    /// <inheritdoc/>
    public float Derivative(float x, float t, float posWeight)
    {
        float d = x - t;
        return Beta == 0f ? (d > 0f ? 1f : -1f) : d < -Beta ? -1f : d > Beta ? 1f : d / Beta;
    }
}

/// <summary><see cref="BCELoss"/> on probabilities: <c>−(t·max(log x, −100) + (1 − t)·max(log(1 − x), −100))</c>; derivative <c>(x − t) / max((1 − x)·x, 1e-12)</c>.</summary>
public readonly struct BinaryCrossEntropy : IGpuElementLoss
{
    /// <inheritdoc/>
    public float Value(float x, float t, float posWeight)
    {
        float logX = XMath.Max(GpuMath.Log(x), -100f), log1mX = XMath.Max(GpuMath.Log(1f - x), -100f);
        return -(t * logX + (1f - t) * log1mX);
    }

    /// <inheritdoc/>
    public float Derivative(float x, float t, float posWeight) => (x - t) / XMath.Max((1f - x) * x, 1e-12f);
}

/// <summary>
/// <see cref="BCEWithLogitsLoss"/> on logits, with <c>l = (p − 1)·t + 1</c> for the positive weight <c>p</c>:
/// <c>(1 − t)·x + l·(log(1 + e^(−|x|)) + max(−x, 0))</c>; derivative <c>l·σ(x) − p·t</c>.
/// </summary>
public readonly struct BinaryCrossEntropyWithLogits : IGpuElementLoss
{
    /// <inheritdoc/>
    public float Value(float x, float t, float posWeight)
    {
        float l = (posWeight - 1f) * t + 1f;
        return (1f - t) * x + l * (GpuMath.Log1p(GpuMath.Exp(-XMath.Abs(x))) + XMath.Max(-x, 0f));
    }

    /// <inheritdoc/>
    public float Derivative(float x, float t, float posWeight)
    {
        float l = (posWeight - 1f) * t + 1f;
        return l / (1f + GpuMath.Exp(-x)) - posWeight * t;
    }
}

/// <summary>How <see cref="LossKernels.Elementwise{TLoss}"/> reads its optional weights.</summary>
public struct ElementLossLayout
{
    /// <summary>Columns of the input's last dimension (the class of element i is <c>i mod LastDim</c>).</summary>
    public int LastDim;

    /// <summary>0: no weight; 1: one per column (<c>[LastDim]</c>); 2: one per element (the input's shape).</summary>
    public int WeightMode;

    /// <summary>0: no positive weight; 1: one for all; 2: one per column.</summary>
    public int PosWeightMode;
}

/// <summary>
/// Losses on a device: each element's (or row's) loss and its gradient at upstream 1 in one kernel, then the sum of the
/// losses into one float that stays there until the loss value is read (<see cref="Loss.Item"/>). The GPU twins of the
/// host losses in <c>Losses/</c>, same formulas.
/// </summary>
public static class LossKernels
{
    /// <summary>
    /// For every element: <c>loss[i] = w·TLoss.Value(x[i], t[i], p)</c> and <c>grad[i] = w·TLoss.Derivative(x[i], t[i], p)</c>
    /// with the weight <c>w</c> and positive weight <c>p</c> as <paramref name="layout"/> says (1 without).
    /// </summary>
    /// <exception cref="ArgumentException">A span has the wrong length or lives on another context.</exception>
    public static void Elementwise<TLoss>(DeviceContext context, TLoss loss, DeviceSpan<float> x, DeviceSpan<float> t, DeviceSpan<float> weight,
        DeviceSpan<float> posWeight, DeviceSpan<float> elementLoss, DeviceSpan<float> grad, ElementLossLayout layout) where TLoss : struct, IGpuElementLoss
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(x, nameof(x));
        context.Check(t, nameof(t));
        context.Check(weight, nameof(weight));
        context.Check(posWeight, nameof(posWeight));
        context.Check(elementLoss, nameof(elementLoss));
        context.Check(grad, nameof(grad));
        LinearKernels.CheckLength(t.Length, x.Length, nameof(t));
        LinearKernels.CheckLength(elementLoss.Length, x.Length, nameof(elementLoss));
        LinearKernels.CheckLength(grad.Length, x.Length, nameof(grad));
        if (layout.LastDim < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(layout), layout.LastDim, "LastDim must be ≥ 1.");
        }
        LinearKernels.CheckLength(weight.Length, layout.WeightMode switch { 0 => 0, 1 => layout.LastDim, _ => x.Length }, nameof(weight));
        LinearKernels.CheckLength(posWeight.Length, layout.PosWeightMode switch { 0 => 0, 1 => 1, _ => layout.LastDim }, nameof(posWeight));
        if (x.IsEmpty)
        {
            return;
        }
        var kernel = context.Kernel("Loss.Elementwise." + typeof(TLoss).FullName, static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ElementLossLayout, TLoss>(ElementwiseKernel<TLoss>));
        kernel(checked((int)x.Length), x.View(context.NoFloats), t.View(context.NoFloats), weight.View(context.NoFloats), posWeight.View(context.NoFloats),
            elementLoss.View(context.NoFloats), grad.View(context.NoFloats), layout, loss);
    }

    /// <summary>
    /// Cross-entropy from logits with PyTorch's options (<see cref="CrossEntropyLoss"/>): for row r with label y (not
    /// <paramref name="ignoreIndex"/>), <c>ℓᵣ = (1 − ε)·w_y·(lse − x_y) + (ε/C)·Σⱼ wⱼ·(lse − xⱼ)</c> and
    /// <c>grad[r, j] = (1 − ε)·w_y·(pⱼ − δⱼy) + (ε/C)·(W·pⱼ − wⱼ)</c>, <c>W = Σ w</c>; an ignored row has loss and gradient 0.
    /// </summary>
    /// <param name="context">The device.</param>
    /// <param name="logits"><c>[batch, classes]</c>.</param>
    /// <param name="labels"><c>[batch]</c>, checked on the host (in [0, classes) or the ignore index).</param>
    /// <param name="weight">Class weights <c>[classes]</c>, or empty for all 1.</param>
    /// <param name="grad">Receives the logits' gradient at upstream 1, <c>[batch, classes]</c>.</param>
    /// <param name="rowLoss">Receives each row's loss, <c>[batch]</c>.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="classes">Classes, ≥ 1.</param>
    /// <param name="ignoreIndex">The label of rows to skip.</param>
    /// <param name="labelSmoothing">ε in [0, 1].</param>
    /// <param name="totalWeight">W: the sum of the class weights (<paramref name="classes"/> without).</param>
    /// <exception cref="ArgumentException">A span has the wrong length or lives on another context.</exception>
    public static void CrossEntropy(DeviceContext context, DeviceSpan<float> logits, DeviceSpan<int> labels, DeviceSpan<float> weight,
        DeviceSpan<float> grad, DeviceSpan<float> rowLoss, int batch, int classes, int ignoreIndex, float labelSmoothing, float totalWeight)
    {
        CheckRows(context, logits, labels, weight, grad, rowLoss, batch, classes);
        if (batch == 0)
        {
            return;
        }
        var kernel = context.Kernel("Loss.CrossEntropy", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ClassLossArgs>(CrossEntropyKernel));
        kernel(batch, logits.View(context.NoFloats), labels.View(context.NoInts), weight.View(context.NoFloats), grad.View(context.NoFloats),
            rowLoss.View(context.NoFloats), new ClassLossArgs(classes, weight.IsEmpty ? 0 : 1, ignoreIndex, labelSmoothing, totalWeight));
    }

    /// <summary>
    /// Negative log-likelihood of log-probabilities (<see cref="NLLLoss"/>): <c>ℓᵣ = −w_y·x[r, y]</c>, <c>grad[r, j] = −w_y·δⱼy</c>;
    /// an ignored row has loss and gradient 0.
    /// </summary>
    /// <exception cref="ArgumentException">A span has the wrong length or lives on another context.</exception>
    public static void NllLoss(DeviceContext context, DeviceSpan<float> logProbs, DeviceSpan<int> labels, DeviceSpan<float> weight,
        DeviceSpan<float> grad, DeviceSpan<float> rowLoss, int batch, int classes, int ignoreIndex)
    {
        CheckRows(context, logProbs, labels, weight, grad, rowLoss, batch, classes);
        if (batch == 0)
        {
            return;
        }
        var kernel = context.Kernel("Loss.Nll", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ClassLossArgs>(NllKernel));
        kernel(batch, logProbs.View(context.NoFloats), labels.View(context.NoInts), weight.View(context.NoFloats), grad.View(context.NoFloats),
            rowLoss.View(context.NoFloats), new ClassLossArgs(classes, weight.IsEmpty ? 0 : 1, ignoreIndex, 0f, classes));
    }

    /// <summary>
    /// <c>result[0] = Σ values</c> (compensated summation, one thread: the reduction of a batch's losses, a few thousand
    /// values at most in practice).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="result"/> is not one element, or a span lives on another context.</exception>
    public static void Sum(DeviceContext context, DeviceSpan<float> values, DeviceSpan<float> result)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Check(values, nameof(values));
        context.Check(result, nameof(result));
        LinearKernels.CheckLength(result.Length, 1, nameof(result));
        var kernel = context.Kernel("Loss.Sum", static acc =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(SumKernel));
        kernel(1, values.View(context.NoFloats), result.View(context.NoFloats), checked((int)values.Length));
    }

    private static void CheckRows(DeviceContext context, DeviceSpan<float> x, DeviceSpan<int> labels, DeviceSpan<float> weight,
        DeviceSpan<float> grad, DeviceSpan<float> rowLoss, int batch, int classes)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        context.Check(x, nameof(x));
        context.Check(labels, nameof(labels));
        context.Check(weight, nameof(weight));
        context.Check(grad, nameof(grad));
        context.Check(rowLoss, nameof(rowLoss));
        LinearKernels.CheckLength(x.Length, (long)batch * classes, nameof(x));
        LinearKernels.CheckLength(grad.Length, (long)batch * classes, nameof(grad));
        LinearKernels.CheckLength(labels.Length, batch, nameof(labels));
        LinearKernels.CheckLength(rowLoss.Length, batch, nameof(rowLoss));
        if (!weight.IsEmpty)
        {
            LinearKernels.CheckLength(weight.Length, classes, nameof(weight));
        }
    }

    /// <summary>The sizes and options of the class losses' kernels, as one argument.</summary>
    internal readonly record struct ClassLossArgs(int Classes, int HasWeight, int IgnoreIndex, float Smoothing, float TotalWeight);

    internal static void ElementwiseKernel<TLoss>(Index1D i, ArrayView<float> x, ArrayView<float> t, ArrayView<float> weight, ArrayView<float> posWeight,
        ArrayView<float> loss, ArrayView<float> grad, ElementLossLayout layout, TLoss op) where TLoss : struct, IGpuElementLoss
    {
        int column = i % layout.LastDim;
        float w = layout.WeightMode == 0 ? 1f : layout.WeightMode == 1 ? weight[column] : weight[i];
        float p = layout.PosWeightMode == 0 ? 1f : layout.PosWeightMode == 1 ? posWeight[0] : posWeight[column];
        float xi = x[i], ti = t[i];
        loss[i] = w * op.Value(xi, ti, p);
        grad[i] = w * op.Derivative(xi, ti, p);
    }

    internal static void CrossEntropyKernel(Index1D r, ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> weight, ArrayView<float> grad,
        ArrayView<float> rowLoss, ClassLossArgs a)
    {
        int classes = a.Classes;
        long row = (long)r.X * classes;
        int label = labels[r];
        if (label == a.IgnoreIndex)
        {
            rowLoss[r] = 0f;
            for (int c = 0; c < classes; c++)
            {
                grad[row + c] = 0f;
            }
            return;
        }
        float max = GpuMath.RowMax(logits, row, classes);
        float sum = 0f;
        for (int c = 0; c < classes; c++)
        {
            float e = GpuMath.Exp(logits[row + c] - max);
            grad[row + c] = e;
            sum += e;
        }
        float lse = max + GpuMath.Log(sum);
        float eps = a.Smoothing;
        float wy = a.HasWeight != 0 ? weight[label] : 1f;
        float value = wy * (lse - logits[row + label]);
        float smooth = 0f;
        float u = (1f - eps) * wy, b = eps / classes;
        for (int c = 0; c < classes; c++)
        {
            float wc = a.HasWeight != 0 ? weight[c] : 1f;
            float p = grad[row + c] / sum;
            float g = u * p - (c == label ? u : 0f);
            if (eps != 0f)
            {
                smooth += wc * (lse - logits[row + c]);
                g += b * (a.TotalWeight * p - wc);
            }
            grad[row + c] = g;
        }
        rowLoss[r] = eps != 0f ? (1f - eps) * value + b * smooth : value;
    }

    internal static void NllKernel(Index1D r, ArrayView<float> x, ArrayView<int> labels, ArrayView<float> weight, ArrayView<float> grad,
        ArrayView<float> rowLoss, ClassLossArgs a)
    {
        long row = (long)r.X * a.Classes;
        int label = labels[r];
        bool ignored = label == a.IgnoreIndex;
        float wy = ignored ? 0f : a.HasWeight != 0 ? weight[label] : 1f;
        for (int c = 0; c < a.Classes; c++)
        {
            grad[row + c] = c == label ? -wy : 0f;
        }
        rowLoss[r] = ignored ? 0f : -wy * x[row + label];
    }

    internal static void SumKernel(Index1D i, ArrayView<float> values, ArrayView<float> result, int n)
    {
        // Kahan–Babuška (Neumaier) summation: within a few ulp of the exact sum, whatever the order.
        float sum = 0f, compensation = 0f;
        for (int k = 0; k < n; k++)
        {
            float v = values[k];
            float t = sum + v;
            compensation += XMath.Abs(sum) >= XMath.Abs(v) ? (sum - t) + v : (v - t) + sum;
            sum = t;
        }
        result[0] = sum + compensation;
    }
}
