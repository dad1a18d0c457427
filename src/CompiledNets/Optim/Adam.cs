using System.Text.Json.Nodes;
using CompiledNets.Kernels.Cpu;

namespace CompiledNets;

/// <summary>
/// Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization", 2015), with PyTorch's defaults,
/// update rule and bias correction (PyTorch 1.13: <c>torch.optim.Adam</c>); see <see cref="OptimizerKernels.Adam"/>.
/// </summary>
public class Adam : Optimizer
{
    private readonly float[] _expAvg;
    private readonly float[] _expAvgSq;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="parameters">The parameters to optimise, e.g. <c>net.Parameters()</c>.</param>
    /// <param name="lr">Learning rate; default 1e-3.</param>
    /// <param name="beta1">Decay of the first moment; default 0.9.</param>
    /// <param name="beta2">Decay of the second moment; default 0.999.</param>
    /// <param name="eps">Added to the denominator; default 1e-8.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient; default 0.</param>
    /// <exception cref="ArgumentException">Empty parameter list.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range (betas in [0, 1), eps and weight decay ≥ 0).</exception>
    public Adam(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f)
        : base(parameters, lr)
    {
        CheckRange(beta1, 0f, 1f, nameof(beta1));
        CheckRange(beta2, 0f, 1f, nameof(beta2));
        if (!(eps >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "Invalid epsilon value: expected ≥ 0.");
        }
        if (!(weightDecay >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Invalid weight_decay value: expected ≥ 0.");
        }
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        _expAvg = new float[TotalLength];
        _expAvgSq = new float[TotalLength];
    }

    private static void CheckRange(float value, float lo, float hiExclusive, string name)
    {
        if (!(value >= lo && value < hiExclusive))
        {
            throw new ArgumentOutOfRangeException(name, value, $"Invalid {name}: expected a value in [{lo}, {hiExclusive}).");
        }
    }

    /// <summary>β₁ (PyTorch: <c>betas[0]</c>); <see cref="OneCycleLR"/> cycles it.</summary>
    public float Beta1 { get; private set; }

    /// <inheritdoc/>
    internal override float? CycledMomentum
    {
        get => Beta1;
        set
        {
            CheckRange(value!.Value, 0f, 1f, "beta1");
            Beta1 = value.Value;
        }
    }

    /// <inheritdoc/>
    private protected override (string Key, int Index)? CycledMomentumKey => ("betas", 0);

    /// <summary>β₂ (PyTorch: <c>betas[1]</c>).</summary>
    public float Beta2 { get; }

    /// <summary>ε.</summary>
    public float Eps { get; }

    /// <summary>Weight decay.</summary>
    public float WeightDecay { get; }

    /// <summary>Whether weight decay is decoupled (AdamW).</summary>
    protected virtual bool Decoupled => false;

    /// <summary>The first moment of parameter <paramref name="index"/> (PyTorch: <c>state[p]['exp_avg']</c>).</summary>
    public Span<float> ExpAvg(int index)
    {
        SyncStateToHost();
        return _expAvg.AsSpan(OffsetOf(index), Parameters[index].Numel);
    }

    /// <summary>The second moment of parameter <paramref name="index"/> (PyTorch: <c>state[p]['exp_avg_sq']</c>).</summary>
    public Span<float> ExpAvgSq(int index)
    {
        SyncStateToHost();
        return _expAvgSq.AsSpan(OffsetOf(index), Parameters[index].Numel);
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, float[] Buffer)> StateBuffers() => [("exp_avg", _expAvg), ("exp_avg_sq", _expAvgSq)];

    /// <inheritdoc/>
    protected override bool HasStepTensor => true;

    /// <inheritdoc/>
    protected override void AddHyperParameters(JsonObject group)
    {
        group["betas"] = new JsonArray(Beta1, Beta2);
        group["eps"] = Eps;
        group["weight_decay"] = WeightDecay;
        group["amsgrad"] = false;
        group["maximize"] = false;
    }

    /// <inheritdoc/>
    protected override void Update(Span<float> data, ReadOnlySpan<float> grad, int stateOffset, int length) =>
        OptimizerKernels.AdamCorrected(data, grad, _expAvg.AsSpan(stateOffset, length), _expAvgSq.AsSpan(stateOffset, length),
            LearningRate, Beta1, Beta2, Eps, WeightDecay, 1 - OptimizerKernels.BiasPower(Beta1, StepCount, ref _power1),
            1 - OptimizerKernels.BiasPower(Beta2, StepCount, ref _power2), Decoupled);

    // The last β₁ᵗ and β₂ᵗ (OptimizerKernels.BiasPower).
    private (float, long, double) _power1;
    private (float, long, double) _power2;

    /// <inheritdoc/>
    private protected override void UpdateOnDevice(DeviceContext context, DeviceSpan<float> data, DeviceSpan<float> grad, int stateOffset, int length) =>
        Kernels.Gpu.OptimizerKernels.Adam(context, data, grad, DeviceState(context, _expAvg, stateOffset, length), DeviceState(context, _expAvgSq, stateOffset, length),
            LearningRate, Beta1, Beta2, Eps, WeightDecay, StepCount, Decoupled);
}

/// <summary>
/// AdamW: Adam with decoupled weight decay (Loshchilov and Hutter, "Decoupled Weight Decay
/// Regularization", 2019; PyTorch: <c>torch.optim.AdamW</c>, whose default weight decay is 0.01).
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer; the arguments are as for <see cref="Adam"/> but weight decay defaults to 0.01.</summary>
    public AdamW(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f)
        : base(parameters, lr, beta1, beta2, eps, weightDecay)
    {
    }

    /// <inheritdoc/>
    protected override bool Decoupled => true;
}
