using System.Numerics.Tensors;

namespace CompiledNets;

/// <summary>
/// Cross-entropy from logits (PyTorch 1.13: <c>nn.CrossEntropyLoss</c>, i.e. <c>log_softmax</c> + <c>nll_loss</c>, with
/// PyTorch's <c>weight</c>, <c>ignore_index</c> and <c>label_smoothing</c>). For row <c>r</c> with label <c>y</c>,
/// <c>log pⱼ = xⱼ − logsumexp(x)</c> and class weights <c>w</c> (all 1 by default):
/// <c>ℓᵣ = (1 − ε)·w_y·(−log p_y) + (ε / C)·Σⱼ wⱼ·(−log pⱼ)</c>; <see cref="Reduction.Mean"/> divides the sum by
/// <c>Σᵣ w_{yᵣ}</c> over the rows not ignored (the batch size without weights), as PyTorch's
/// <c>cross_entropy_loss_label_smoothing</c> and <c>nll_loss</c> do. Rows whose label is <see cref="IgnoreIndex"/> add 0 and get a zero gradient.
/// </summary>
/// <remarks>
/// Stable for large logits (the row maximum is subtracted before <c>exp</c>). Softmax and cross-entropy are fused: the
/// forward computes the row losses and each row's gradient <c>(1 − ε)·w_y·(pⱼ − δⱼy) + (ε / C)·(W·pⱼ − wⱼ)</c> (with
/// <c>W = Σ w</c>) in one pass over the batch (<see cref="Kernels.Cpu.SoftmaxKernels.CrossEntropy"/>: one <c>exp</c> over the
/// batch), and the backward multiplies it by <c>u</c>, the upstream gradient (<c>1 / divisor</c> for the mean). If every row is ignored, the mean is 0/0 = NaN, as in PyTorch.
/// Class-probability targets (PyTorch's float <c>target</c> of shape <c>[batch, C]</c>) are not supported.
/// On logits on a device (a device model's output) with <see cref="Reduction.Mean"/> or <see cref="Reduction.Sum"/>, the
/// loss runs there (<c>CrossEntropyLoss.Device.cs</c>): row losses and gradient in one kernel, their sum kept there until
/// <see cref="Loss.Item"/>, and the backward starts on the device; the logits are not checked for NaN there (a NaN gives a NaN loss).
/// </remarks>
public sealed partial class CrossEntropyLoss : LossFunction
{
    private readonly float[]? _weight;
    // The gradient of each row's loss with respect to its logits (SoftmaxKernels.CrossEntropy), scaled by the upstream
    // gradient at backward; the labels; the kernel's scratch.
    private float[] _rowGrad = [];
    private int[] _labels = [];
    private float[] _scratch = [];
    private bool _anyIgnored;
    private int _batch;
    private int _classes;

    /// <summary>Creates the loss.</summary>
    /// <param name="weight">Optional rescaling weight of each class, <c>[classes]</c> (PyTorch: <c>weight</c>); default none (all 1). Copied.</param>
    /// <param name="ignoreIndex">A label value whose rows are skipped (PyTorch: <c>ignore_index</c>); default −100.</param>
    /// <param name="reduction"><see cref="Reduction.Mean"/> (default), <see cref="Reduction.Sum"/> or <see cref="Reduction.None"/> (one loss per row, <c>[batch]</c>).</param>
    /// <param name="labelSmoothing">ε in [0, 1] (PyTorch: <c>label_smoothing</c>); default 0.</param>
    /// <exception cref="ArgumentException"><paramref name="weight"/> is not a non-empty vector or holds a NaN or infinity.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is outside [0, 1].</exception>
    public CrossEntropyLoss(Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean, float labelSmoothing = 0f)
        : base(reduction)
    {
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "label_smoothing must be between 0.0 and 1.0.");
        }
        _weight = CopyWeight(weight, nameof(weight));
        IgnoreIndex = ignoreIndex;
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>Creates the loss with the given reduction and no weights, ignore index −100, no label smoothing.</summary>
    public CrossEntropyLoss(Reduction reduction) : this(null, -100, reduction)
    {
    }

    /// <summary>The label value whose rows are ignored (PyTorch: <c>ignore_index</c>).</summary>
    public int IgnoreIndex { get; }

    /// <summary>ε (PyTorch: <c>label_smoothing</c>).</summary>
    public float LabelSmoothing { get; }

    /// <summary>A copy of the class weights (PyTorch: <c>weight</c>), or null.</summary>
    public Tensor? Weight => _weight is null ? null : Tensor.From(_weight, _weight.Length);

    /// <summary>The loss of <paramref name="input"/> logits against <paramref name="target"/> class indices.</summary>
    /// <param name="input">Logits, <c>[batch, classes]</c> (no softmax applied).</param>
    /// <param name="target">Class indices in [0, classes) or <see cref="IgnoreIndex"/>, <c>[batch]</c>.</param>
    /// <exception cref="ArgumentException">The shapes do not match, the weight has another length than <c>classes</c>, a logit is NaN or infinite.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, classes) and is not <see cref="IgnoreIndex"/>.</exception>
    public Loss Forward(Tensor input, IntTensor target)
    {
        ClassLosses.CheckInput("CrossEntropyLoss", input, target, _weight, IgnoreIndex);
        if (input.Device.IsIlgpu && Reduction != Reduction.None)
        {
            return ForwardOnDevice(input, target.AsSpan());
        }
        int batch = input.Size(0), classes = input.Size(1);
        ReadOnlySpan<float> x = input.AsSpan();
        ReadOnlySpan<int> y = target.AsSpan();
        if (!TensorPrimitives.IsFiniteAll(x))
        {
            int i = FirstNonFinite(x);
            throw new ArgumentException($"CrossEntropyLoss input has a non-finite logit {x[i]} at [{i / classes}, {i % classes}].", nameof(input));
        }
        if (_rowGrad.Length < x.Length)
        {
            _rowGrad = new float[x.Length];
        }
        if (_labels.Length < batch)
        {
            _labels = new int[batch];
        }
        if (_scratch.Length < 2 * batch)
        {
            _scratch = new float[2 * batch];
        }
        y.CopyTo(_labels);
        _batch = batch;
        _classes = classes;
        Span<float> elements = ElementBuffer(batch);
        float eps = LabelSmoothing;
        _anyIgnored = y.Contains(IgnoreIndex);
        double divisor = Kernels.Cpu.SoftmaxKernels.CrossEntropy(x, y, batch, classes, _weight, IgnoreIndex, eps, elements,
            _rowGrad, _scratch);
        return Record(input, [batch], divisor);
    }

    private protected override void ComputeGrad(Span<float> grad)
    {
        int classes = _classes;
        ReadOnlySpan<float> rowGrad = _rowGrad.AsSpan(0, grad.Length);
        if (Reduction != Reduction.None && !_anyIgnored)
        {
            TensorPrimitives.Multiply(rowGrad, Upstream(0), grad);
            return;
        }
        for (int r = 0; r < _batch; r++)
        {
            Span<float> g = grad.Slice(r * classes, classes);
            if (_labels[r] == IgnoreIndex)
            {
                g.Clear(); // 0 even when the upstream gradient is not finite (the mean over no rows)
                continue;
            }
            TensorPrimitives.Multiply(rowGrad.Slice(r * classes, classes), Upstream(r), g);
        }
    }

    private static int FirstNonFinite(ReadOnlySpan<float> x)
    {
        for (int i = 0; i < x.Length; i++)
        {
            if (!float.IsFinite(x[i]))
            {
                return i;
            }
        }
        return 0;
    }
}

/// <summary>
/// Negative log-likelihood over log-probabilities (PyTorch 1.13: <c>nn.NLLLoss</c>): <c>ℓᵣ = −w_{yᵣ}·x[r, yᵣ]</c>, with
/// class weights <c>w</c> (all 1 by default); <see cref="Reduction.Mean"/> divides the sum by <c>Σᵣ w_{yᵣ}</c> over the rows
/// not ignored (PyTorch's <c>nll_loss</c>). Put a <see cref="LogSoftmax"/> layer last in the model: <c>LogSoftmax</c> +
/// <c>NLLLoss</c> equals <see cref="CrossEntropyLoss"/> on the logits.
/// </summary>
/// <remarks>Gradient: <c>−w_y·u</c> at <c>[r, yᵣ]</c>, 0 elsewhere (<c>u</c>: the upstream gradient). All rows ignored: the mean is NaN, as in PyTorch.</remarks>
public sealed partial class NLLLoss : LossFunction
{
    private readonly float[]? _weight;
    private int[] _labels = [];
    private int _batch;
    private int _classes;

    /// <summary>Creates the loss.</summary>
    /// <param name="weight">Optional rescaling weight of each class, <c>[classes]</c> (PyTorch: <c>weight</c>); default none. Copied.</param>
    /// <param name="ignoreIndex">A label value whose rows are skipped (PyTorch: <c>ignore_index</c>); default −100.</param>
    /// <param name="reduction"><see cref="Reduction.Mean"/> (default), <see cref="Reduction.Sum"/> or <see cref="Reduction.None"/> (<c>[batch]</c>).</param>
    /// <exception cref="ArgumentException"><paramref name="weight"/> is not a non-empty vector or holds a NaN or infinity.</exception>
    public NLLLoss(Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean) : base(reduction)
    {
        _weight = CopyWeight(weight, nameof(weight));
        IgnoreIndex = ignoreIndex;
    }

    /// <summary>The label value whose rows are ignored (PyTorch: <c>ignore_index</c>).</summary>
    public int IgnoreIndex { get; }

    /// <summary>The loss of <paramref name="input"/> log-probabilities against <paramref name="target"/> class indices.</summary>
    /// <param name="input">Log-probabilities, <c>[batch, classes]</c>, e.g. the output of a <see cref="LogSoftmax"/> layer.</param>
    /// <param name="target">Class indices in [0, classes) or <see cref="IgnoreIndex"/>, <c>[batch]</c>.</param>
    /// <exception cref="ArgumentException">The shapes do not match, the weight has another length than <c>classes</c>, or a value picked by a label is NaN or infinite.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, classes) and is not <see cref="IgnoreIndex"/>.</exception>
    public Loss Forward(Tensor input, IntTensor target)
    {
        ClassLosses.CheckInput("NLLLoss", input, target, _weight, IgnoreIndex);
        if (input.Device.IsIlgpu && Reduction != Reduction.None)
        {
            return ForwardOnDevice(input, target.AsSpan());
        }
        int batch = input.Size(0), classes = input.Size(1);
        ReadOnlySpan<float> x = input.AsSpan();
        ReadOnlySpan<int> y = target.AsSpan();
        Span<float> elements = ElementBuffer(batch);
        double divisor = 0;
        for (int r = 0; r < batch; r++)
        {
            int label = y[r];
            if (label == IgnoreIndex)
            {
                elements[r] = 0f;
                continue;
            }
            float v = x[r * classes + label];
            if (!float.IsFinite(v))
            {
                throw new ArgumentException($"NLLLoss input has a non-finite log-probability {v} at [{r}, {label}], the target class of row {r}.", nameof(input));
            }
            float wy = _weight is null ? 1f : _weight[label];
            divisor += wy;
            elements[r] = -wy * v;
        }
        if (_labels.Length < batch)
        {
            _labels = new int[batch];
        }
        y.CopyTo(_labels);
        _batch = batch;
        _classes = classes;
        return Record(input, [batch], divisor);
    }

    private protected override void ComputeGrad(Span<float> grad)
    {
        grad.Clear();
        for (int r = 0; r < _batch; r++)
        {
            int label = _labels[r];
            if (label != IgnoreIndex)
            {
                grad[r * _classes + label] = -(_weight is null ? 1f : _weight[label]) * Upstream(r);
            }
        }
    }
}

/// <summary>Input checks shared by <see cref="CrossEntropyLoss"/> and <see cref="NLLLoss"/>.</summary>
internal static partial class ClassLosses
{
    public static void CheckInput(string loss, Tensor input, IntTensor target, float[]? weight, int ignoreIndex)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (input.Rank != 2 || target.Rank != 1 || target.Size(0) != input.Size(0) || input.Size(0) == 0 || input.Size(1) == 0)
        {
            throw new ArgumentException(
                $"{loss} expects input [batch, classes] and target [batch] with batch ≥ 1 and classes ≥ 1; got {Tensor.ShapeString(input.Shape)} and {Tensor.ShapeString(target.Shape)}.");
        }
        int batch = input.Size(0), classes = input.Size(1);
        if (weight is not null && weight.Length != classes)
        {
            throw new ArgumentException($"{loss} has a weight for {weight.Length} classes but the input has {classes} (PyTorch: \"weight tensor should be defined either for all {classes} classes or no classes\").");
        }
        ReadOnlySpan<int> y = target.AsSpan();
        for (int r = 0; r < batch; r++)
        {
            if ((uint)y[r] >= (uint)classes && y[r] != ignoreIndex)
            {
                throw new ArgumentOutOfRangeException(nameof(target), y[r], $"Label {y[r]} at row {r} is outside [0, {classes}) and is not the ignore index {ignoreIndex}.");
            }
        }
    }
}
