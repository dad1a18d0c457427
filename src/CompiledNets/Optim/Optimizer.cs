namespace CompiledNets;

/// <summary>
/// The base of optimizers (PyTorch: <c>torch.optim.Optimizer</c>): holds the parameters and updates
/// them from their accumulated gradients in <see cref="Step"/>.
/// </summary>
/// <remarks>
/// Per-parameter state (e.g. Adam's <c>exp_avg</c>) is kept in flat arrays laid out like the
/// parameters one after another. When the parameters are one contiguous block (as a model's are),
/// a step is a single SIMD loop over all of them.
/// </remarks>
public abstract class Optimizer
{
    private readonly Parameter[] _parameters;
    private readonly int[] _offsets;

    /// <summary>Takes the parameters to optimise, e.g. <c>net.Parameters()</c>.</summary>
    /// <exception cref="ArgumentException">The sequence is empty or holds a parameter twice.</exception>
    protected Optimizer(IEnumerable<Parameter> parameters, float lr)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.ToArray();
        if (_parameters.Length == 0)
        {
            throw new ArgumentException("The optimizer got an empty parameter list.", nameof(parameters));
        }
        if (_parameters.Distinct(ReferenceEqualityComparer.Instance).Count() != _parameters.Length)
        {
            throw new ArgumentException("The optimizer got the same parameter more than once.", nameof(parameters));
        }
        if (!(lr >= 0f) || !float.IsFinite(lr))
        {
            throw new ArgumentOutOfRangeException(nameof(lr), lr, "Invalid learning rate: expected a finite value ≥ 0.");
        }
        LearningRate = lr;
        _offsets = new int[_parameters.Length + 1];
        for (int i = 0; i < _parameters.Length; i++)
        {
            _offsets[i + 1] = _offsets[i] + _parameters[i].Numel;
        }
    }

    /// <summary>The parameters, in the order given.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The learning rate (PyTorch: <c>param_groups[0]['lr']</c>); may be changed between steps.</summary>
    public float LearningRate { get; set; }

    /// <summary>The number of <see cref="Step"/> calls so far.</summary>
    public long StepCount { get; protected set; }

    /// <summary>The total number of parameter values; the length of each flat state array.</summary>
    protected int TotalLength => _offsets[^1];

    /// <summary>Where parameter <paramref name="index"/> starts in the flat state arrays.</summary>
    protected int OffsetOf(int index) => _offsets[index];

    /// <summary>Updates every parameter from its gradient (PyTorch: <c>optimizer.step()</c>).</summary>
    public void Step()
    {
        StepCount++;
        if (TryContiguous(out var data, out var grad, out int start))
        {
            Update(data.AsSpan(start, TotalLength), grad.AsSpan(start, TotalLength), 0, TotalLength);
            return;
        }
        for (int i = 0; i < _parameters.Length; i++)
        {
            Update(_parameters[i].Data, _parameters[i].Grad, _offsets[i], _parameters[i].Numel);
        }
    }

    /// <summary>Applies the update rule to one block of values whose state starts at <paramref name="stateOffset"/>.</summary>
    protected abstract void Update(Span<float> data, ReadOnlySpan<float> grad, int stateOffset, int length);

    /// <summary>Sets every gradient to zero (PyTorch: <c>optimizer.zero_grad()</c>).</summary>
    public void ZeroGrad()
    {
        if (TryContiguous(out _, out var grad, out int start))
        {
            grad.AsSpan(start, TotalLength).Clear();
            return;
        }
        foreach (var p in _parameters)
        {
            p.Grad.Clear();
        }
    }

    private bool TryContiguous(out float[] data, out float[] grad, out int start)
    {
        var first = _parameters[0];
        data = first.DataArray;
        grad = first.GradArray;
        start = first.Offset;
        for (int i = 1; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (!ReferenceEquals(p.DataArray, data) || p.Offset != start + _offsets[i])
            {
                return false;
            }
        }
        return true;
    }
}
