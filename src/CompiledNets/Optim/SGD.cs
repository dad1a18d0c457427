using System.Text.Json.Nodes;
using CompiledNets.Kernels.Cpu;

namespace CompiledNets;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight
/// decay (PyTorch: <c>torch.optim.SGD</c>); see <see cref="OptimizerKernels.Sgd"/>.
/// </summary>
public sealed class SGD : Optimizer
{
    private float[] _momentumBuffer;
    // The step whose update initialises the momentum buffer (buf ← d): the first, or the first after a scheduler
    // switched momentum on (PyTorch: momentum_buffer is None until a step with momentum ≠ 0).
    private long _bufferStartStep = 1;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="parameters">The parameters to optimise.</param>
    /// <param name="lr">Learning rate (required, as in PyTorch).</param>
    /// <param name="momentum">Momentum factor; default 0.</param>
    /// <param name="dampening">Dampening of the momentum; default 0.</param>
    /// <param name="weightDecay">L2 penalty; default 0.</param>
    /// <param name="nesterov">Nesterov momentum (needs momentum &gt; 0 and dampening 0); default false.</param>
    /// <exception cref="ArgumentException">Empty parameter list, or Nesterov without momentum or with dampening.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A negative momentum or weight decay.</exception>
    public SGD(IEnumerable<Parameter> parameters, float lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(parameters, lr)
    {
        if (!(momentum >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Invalid momentum value: expected ≥ 0.");
        }
        if (!(weightDecay >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Invalid weight_decay value: expected ≥ 0.");
        }
        if (nesterov && (momentum <= 0f || dampening != 0f))
        {
            throw new ArgumentException("Nesterov momentum requires a momentum > 0 and zero dampening.", nameof(nesterov));
        }
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _momentumBuffer = momentum != 0f ? new float[TotalLength] : [];
    }

    /// <summary>Momentum factor; <see cref="OneCycleLR"/> cycles it (switching it on, as in PyTorch, when SGD was created with 0).</summary>
    public float Momentum { get; private set; }

    /// <inheritdoc/>
    internal override float? CycledMomentum
    {
        get => Momentum;
        set
        {
            float m = value!.Value;
            if (!(m >= 0f) || (Nesterov && m <= 0f))
            {
                throw new ArgumentOutOfRangeException(nameof(value), m, "SGD momentum must be ≥ 0 (> 0 with Nesterov).");
            }
            if (m != 0f && _momentumBuffer.Length == 0)
            {
                _momentumBuffer = new float[TotalLength];
                _bufferStartStep = StepCount + 1;
            }
            Momentum = m;
        }
    }

    /// <inheritdoc/>
    private protected override (string Key, int Index)? CycledMomentumKey => ("momentum", -1);

    /// <inheritdoc/>
    private protected override void OnStateLoaded(StateDict stateDict) =>
        _bufferStartStep = stateDict.TryGetValue("state.0.momentum_buffer", out _) ? 0 : StepCount + 1;

    /// <summary>Dampening.</summary>
    public float Dampening { get; }

    /// <summary>Weight decay.</summary>
    public float WeightDecay { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <summary>The momentum buffer of parameter <paramref name="index"/> (PyTorch: <c>state[p]['momentum_buffer']</c>); empty without momentum.</summary>
    public Span<float> MomentumBuffer(int index)
    {
        SyncStateToHost();
        return _momentumBuffer.Length == 0 ? default : _momentumBuffer.AsSpan(OffsetOf(index), Parameters[index].Numel);
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, float[] Buffer)> StateBuffers() =>
        _momentumBuffer.Length != 0 ? [("momentum_buffer", _momentumBuffer)] : [];

    /// <inheritdoc/>
    protected override void AddHyperParameters(JsonObject group)
    {
        group["momentum"] = Momentum;
        group["dampening"] = Dampening;
        group["weight_decay"] = WeightDecay;
        group["nesterov"] = Nesterov;
        group["maximize"] = false;
    }

    /// <inheritdoc/>
    protected override void Update(Span<float> data, ReadOnlySpan<float> grad, int stateOffset, int length) =>
        OptimizerKernels.Sgd(data, grad, Momentum != 0f ? _momentumBuffer.AsSpan(stateOffset, length) : default,
            LearningRate, Momentum, Dampening, WeightDecay, Nesterov, StepCount == _bufferStartStep);

    /// <inheritdoc/>
    private protected override void UpdateOnDevice(DeviceContext context, DeviceSpan<float> data, DeviceSpan<float> grad, int stateOffset, int length) =>
        Kernels.Gpu.OptimizerKernels.Sgd(context, data, grad, Momentum != 0f ? DeviceState(context, _momentumBuffer, stateOffset, length) : default,
            LearningRate, Momentum, Dampening, WeightDecay, Nesterov, StepCount == _bufferStartStep);
}
