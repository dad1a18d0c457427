using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

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

    /// <summary>
    /// The learning rate when the first scheduler was attached (PyTorch: <c>param_groups[0]['initial_lr']</c>); null before.
    /// <see cref="OneCycleLR"/> sets it to <c>max_lr / div_factor</c>.
    /// </summary>
    internal double? InitialLr { get; set; }

    /// <summary>
    /// The momentum a scheduler may cycle (<see cref="OneCycleLR"/>): Adam's β₁, SGD's momentum; null when the optimizer has none.
    /// </summary>
    internal virtual float? CycledMomentum
    {
        get => null;
        set => throw new InvalidOperationException($"{TypeName} has no momentum to cycle.");
    }

    /// <summary>Whether a scheduler cycles <see cref="CycledMomentum"/> (set by <see cref="OneCycleLR"/>): then a state load reads it rather than comparing it.</summary>
    internal bool MomentumScheduled { get; set; }

    /// <summary>Called at the end of a state load (after the buffers and step count are restored).</summary>
    private protected virtual void OnStateLoaded(StateDict stateDict)
    {
    }

    /// <summary>The <c>param_groups</c> key of <see cref="CycledMomentum"/> and its index in that entry (-1: a plain number).</summary>
    private protected virtual (string Key, int Index)? CycledMomentumKey => null;

    /// <summary>
    /// Updates every parameter from its gradient (PyTorch: <c>optimizer.step()</c>), skipping frozen parameters
    /// (<see cref="Parameter.RequiresGrad"/> false: their values, and their state, stay bit for bit as they were).
    /// </summary>
    public void Step()
    {
        StepCount++;
        bool allTrained = true;
        foreach (var p in _parameters)
        {
            allTrained &= p.RequiresGrad;
            p.MarkChanged(); // packed inference weights (PackedWeightCache) must see the update
        }
        if (TryContiguous(out var data, out var grad, out int start))
        {
            if (_parameters[0].Storage is { } storage)
            {
                StepOnDevice(storage, start, allTrained);
                return;
            }
            SyncStateToHost(); // state left on a device by earlier steps (normally freed when the model left it)
            if (allTrained)
            {
                Update(data.AsSpan(start, TotalLength), grad.AsSpan(start, TotalLength), 0, TotalLength);
                return;
            }
            // One update per run of consecutive trained parameters.
            for (int i = 0; i < _parameters.Length;)
            {
                if (!_parameters[i].RequiresGrad)
                {
                    i++;
                    continue;
                }
                int j = i;
                while (j < _parameters.Length && _parameters[j].RequiresGrad)
                {
                    j++;
                }
                int length = _offsets[j] - _offsets[i];
                Update(data.AsSpan(start + _offsets[i], length), grad.AsSpan(start + _offsets[i], length), _offsets[i], length);
                i = j;
            }
            return;
        }
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (_parameters[i].RequiresGrad)
            {
                Update(_parameters[i].Data, _parameters[i].Grad, _offsets[i], _parameters[i].Numel);
            }
        }
    }

    /// <summary>The step of a block that lives on a device: one kernel per run of consecutive trained parameters.</summary>
    private void StepOnDevice(ParameterStorage storage, int start, bool allTrained)
    {
        if (!ReferenceEquals(_followedStorage, storage))
        {
            // When the model leaves the device (net.Cpu(), net.To(other)), bring the state back and free it then.
            _followedStorage = storage;
            storage.Releasing += () =>
            {
                SyncStateToHost();
                _followedStorage = null;
            };
        }
        for (int i = 0; i < _parameters.Length;)
        {
            if (!_parameters[i].RequiresGrad)
            {
                i++;
                continue;
            }
            int j = i;
            while (j < _parameters.Length && (allTrained || _parameters[j].RequiresGrad))
            {
                j++;
            }
            int length = _offsets[j] - _offsets[i];
            UpdateOnDevice(storage.Context, storage.DeviceData(start + _offsets[i], length), storage.DeviceGrad(start + _offsets[i], length), _offsets[i], length);
            i = j;
        }
    }

    /// <summary>
    /// Applies the update rule on the device the parameters live on (values, gradients and the state slices from
    /// <see cref="DeviceState"/> all there); the optimizers of CompiledNets override it with one kernel.
    /// </summary>
    /// <exception cref="NotSupportedException">This optimizer has no device kernel.</exception>
    private protected virtual void UpdateOnDevice(DeviceContext context, DeviceSpan<float> data, DeviceSpan<float> grad, int stateOffset, int length) =>
        throw new NotSupportedException($"{TypeName} has no kernel for {context.Device} yet; its parameters live there. Use Adam, AdamW or SGD, or keep the model on the CPU.");

    private readonly Dictionary<float[], DeviceBuffer<float>> _deviceState = new(ReferenceEqualityComparer.Instance);
    private ParameterStorage? _followedStorage;

    /// <summary>
    /// A slice of a state array (e.g. Adam's <c>exp_avg</c>) on <paramref name="context"/>: uploaded on first use, then kept
    /// there as the current copy until <see cref="SyncStateToHost"/> brings it back.
    /// </summary>
    private protected DeviceSpan<float> DeviceState(DeviceContext context, float[] host, int offset, int length)
    {
        if (_deviceState.TryGetValue(host, out var buffer) && !ReferenceEquals(buffer.Context, context))
        {
            SyncStateToHost();
            buffer = null;
        }
        if (buffer is null)
        {
            buffer = context.Allocate<float>(Math.Max(host.Length, 1));
            if (host.Length > 0)
            {
                buffer.Slice(0, host.Length).CopyFromHost(host);
            }
            _deviceState[host] = buffer;
        }
        return buffer.Slice(offset, length);
    }

    /// <summary>Brings the state kept on a device back into the host arrays and frees it (before reading or replacing the state on the host).</summary>
    private protected void SyncStateToHost()
    {
        if (_deviceState.Count == 0)
        {
            return;
        }
        foreach (var (host, buffer) in _deviceState)
        {
            if (host.Length > 0)
            {
                buffer.Slice(0, host.Length).CopyToHost(host);
            }
            buffer.Dispose();
        }
        _deviceState.Clear();
    }

    /// <summary>Applies the update rule to one block of values whose state starts at <paramref name="stateOffset"/>.</summary>
    protected abstract void Update(Span<float> data, ReadOnlySpan<float> grad, int stateOffset, int length);

    /// <summary>Sets every gradient to zero (PyTorch: <c>optimizer.zero_grad()</c>).</summary>
    public void ZeroGrad()
    {
        if (TryContiguous(out _, out var grad, out int start))
        {
            if (_parameters[0].Storage is { } storage)
            {
                storage.DeviceGrad(start, TotalLength).Clear();
                return;
            }
            Kernels.Cpu.OptimizerKernels.Zero(grad.AsSpan(start, TotalLength)); // on several threads for a large block
            return;
        }
        foreach (var p in _parameters)
        {
            p.Grad.Clear();
        }
    }

    // ---- State dict (PyTorch: optimizer.state_dict() / load_state_dict()) ----

    /// <summary>The optimizer's name in state dicts (<c>Adam</c>, <c>AdamW</c>, <c>SGD</c>).</summary>
    protected virtual string TypeName => GetType().Name;

    /// <summary>
    /// The per-parameter state arrays with PyTorch's names (e.g. <c>("exp_avg", array)</c>), each laid out
    /// like the parameters one after another (see <see cref="OffsetOf"/>).
    /// </summary>
    protected virtual IEnumerable<(string Name, float[] Buffer)> StateBuffers() => [];

    /// <summary>Whether PyTorch keeps a per-parameter <c>step</c> tensor in the state (Adam does, SGD does not).</summary>
    protected virtual bool HasStepTensor => false;

    /// <summary>Adds the hyper-parameters other than <c>lr</c> to a parameter group, under PyTorch's names (<c>betas</c>, <c>eps</c>, …).</summary>
    protected virtual void AddHyperParameters(JsonObject group)
    {
    }

    /// <summary>
    /// A copy of the optimizer's state in PyTorch's layout (PyTorch: <c>optimizer.state_dict()</c>): tensors
    /// <c>state.{i}.{name}</c> for parameter <c>i</c> (e.g. <c>state.0.exp_avg</c>, <c>state.0.exp_avg_sq</c>,
    /// <c>state.0.step</c> for Adam; <c>state.0.momentum_buffer</c> for SGD with momentum), present once a step
    /// has been taken as in PyTorch; and <see cref="CompiledNets.StateDict.Metadata"/> entries <c>type</c>
    /// (<c>Adam</c>), <c>step</c> (the exact <see cref="StepCount"/>) and <c>param_groups</c> (PyTorch's list
    /// of groups as JSON, e.g. <c>[{"lr":0.01,"betas":[0.9,0.999],…,"params":[0,1,2,3]}]</c>).
    /// </summary>
    public StateDict StateDict()
    {
        SyncStateToHost();
        var dict = new StateDict();
        dict.Metadata["type"] = TypeName;
        dict.Metadata["step"] = StepCount.ToString(CultureInfo.InvariantCulture);
        dict.Metadata["param_groups"] = ParamGroupsJson();
        if (StepCount == 0)
        {
            return dict;
        }
        var buffers = StateBuffers().ToList();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (HasStepTensor)
            {
                var step = new Tensor();
                step.AsSpan()[0] = StepCount;
                dict.Add($"state.{i}.step", step);
            }
            foreach (var (name, buffer) in buffers)
            {
                dict.Add($"state.{i}.{name}", Tensor.From(buffer.AsSpan(_offsets[i], p.Numel), p.ShapeArray));
            }
        }
        return dict;
    }

    /// <summary>
    /// Restores a state from <see cref="StateDict()"/> (PyTorch: <c>optimizer.load_state_dict(state_dict)</c>): step count,
    /// per-parameter state and learning rate. Everything is checked before anything is changed.
    /// </summary>
    /// <param name="stateDict">A state of an optimizer of the same type over parameters of the same shapes, in the same order.</param>
    /// <exception cref="ArgumentException">
    /// The state is of another optimizer type, for another number or shape of parameters, has missing or
    /// unexpected keys, or other fixed hyper-parameters (betas, eps, weight decay, momentum, …, which PyTorch
    /// would silently overwrite); the message lists every problem.
    /// </exception>
    public void LoadStateDict(StateDict stateDict)
    {
        var problems = CheckStateDict(stateDict, out var loaded);
        if (problems.Count > 0)
        {
            string from = stateDict.SourcePath is null ? "" : $" from '{stateDict.SourcePath}'";
            throw new ArgumentException(
                $"Error(s) in loading optimizer state{from} for {TypeName}:\n  " + string.Join("\n  ", problems), nameof(stateDict));
        }
        CopyStateDict(stateDict, loaded);
    }

    /// <summary>The step count and learning rate read by <see cref="CheckStateDict"/>.</summary>
    internal readonly record struct LoadedScalars(long Step, float LearningRate, float? Momentum = null);

    /// <summary>Checks a state dict without changing anything; returns every problem found.</summary>
    internal List<string> CheckStateDict(StateDict stateDict, out LoadedScalars loaded)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var problems = new List<string>();
        loaded = new LoadedScalars(0, LearningRate);
        if (stateDict.Metadata.TryGetValue("type", out string? type) && type != TypeName)
        {
            problems.Add($"the state was saved by {type}, this optimizer is {TypeName}");
        }
        long step = 0;
        if (stateDict.Metadata.TryGetValue("step", out string? stepText))
        {
            if (!long.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out step))
            {
                problems.Add($"metadata 'step' is '{stepText}', expected a non-negative integer");
            }
        }
        else if (HasStepTensor && stateDict.TryGetValue("state.0.step", out var stepTensor) && stepTensor.Numel == 1)
        {
            step = (long)stepTensor.AsSpan()[0];
        }
        float lr = CheckParamGroups(stateDict, problems, out float? momentum);
        loaded = new LoadedScalars(step, lr, momentum);

        var expected = new HashSet<string>(StringComparer.Ordinal);
        var buffers = StateBuffers().Select(b => b.Name).ToList();
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (HasStepTensor)
            {
                string key = $"state.{i}.step";
                expected.Add(key);
                if (stateDict.TryGetValue(key, out var t))
                {
                    if (t.Numel != 1)
                    {
                        problems.Add($"size mismatch for {key}: expected a scalar, found shape {Tensor.ShapeString(t.Shape)}");
                    }
                    else if (t.AsSpan()[0] != (float)step)
                    {
                        problems.Add($"{key} is {t.AsSpan()[0].ToString(CultureInfo.InvariantCulture)} but the step count is {step}");
                    }
                }
                else if (step > 0)
                {
                    problems.Add($"missing key: {key}");
                }
            }
            foreach (string name in buffers)
            {
                string key = $"state.{i}.{name}";
                expected.Add(key);
                if (stateDict.TryGetValue(key, out var t))
                {
                    if (!t.Shape.SequenceEqual(_parameters[i].Shape))
                    {
                        problems.Add($"size mismatch for {key}: expected shape {Tensor.ShapeString(_parameters[i].Shape)}, found {Tensor.ShapeString(t.Shape)}");
                    }
                }
                else if (step > 0)
                {
                    problems.Add($"missing key: {key}");
                }
            }
        }
        problems.AddRange(stateDict.Keys.Where(k => !expected.Contains(k)).Select(k => $"unexpected key: {k}"));
        return problems;
    }

    /// <summary>Applies a state dict that <see cref="CheckStateDict"/> accepted.</summary>
    internal void CopyStateDict(StateDict stateDict, LoadedScalars loaded)
    {
        SyncStateToHost();
        StepCount = loaded.Step;
        LearningRate = loaded.LearningRate;
        if (loaded.Momentum is float momentum)
        {
            CycledMomentum = momentum;
        }
        OnStateLoaded(stateDict);
        foreach (var (name, buffer) in StateBuffers())
        {
            for (int i = 0; i < _parameters.Length; i++)
            {
                var target = buffer.AsSpan(_offsets[i], _parameters[i].Numel);
                if (stateDict.TryGetValue($"state.{i}.{name}", out var t))
                {
                    t.AsSpan().CopyTo(target);
                }
                else
                {
                    target.Clear();
                }
            }
        }
    }

    private string ParamGroupsJson()
    {
        var group = new JsonObject { ["lr"] = LearningRate };
        AddHyperParameters(group);
        group["params"] = new JsonArray(Enumerable.Range(0, _parameters.Length).Select(i => (JsonNode)i).ToArray());
        return new JsonArray(group).ToJsonString();
    }

    /// <summary>Checks <c>param_groups</c> against this optimizer; returns the learning rate found (or the current one).</summary>
    private float CheckParamGroups(StateDict stateDict, List<string> problems, out float? momentum)
    {
        momentum = null;
        if (!stateDict.Metadata.TryGetValue("param_groups", out string? json))
        {
            problems.Add("metadata 'param_groups' is missing");
            return LearningRate;
        }
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            problems.Add($"metadata 'param_groups' is not valid JSON ({e.Message})");
            return LearningRate;
        }
        if (node is not JsonArray { Count: 1 } groups || groups[0] is not JsonObject group)
        {
            problems.Add($"metadata 'param_groups' should be a list of one group, found {json}");
            return LearningRate;
        }
        var ours = JsonNode.Parse(ParamGroupsJson())!.AsArray()[0]!.AsObject();
        float lr = LearningRate;
        // The momentum a scheduler cycles (OneCycleLR) is state, like lr: read from the file, not compared.
        if (MomentumScheduled && CycledMomentumKey is var (mKey, mIndex))
        {
            JsonNode? saved = mIndex < 0 ? group[mKey] : group[mKey] is JsonArray arr && arr.Count > mIndex ? arr[mIndex] : null;
            if (saved is JsonValue mv && mv.GetValueKind() == JsonValueKind.Number && mv.GetValue<double>() is double m && m >= 0 && m < 1)
            {
                momentum = (float)m;
                if (mIndex < 0)
                {
                    ours[mKey] = m;
                }
                else
                {
                    ours[mKey]!.AsArray()[mIndex] = m;
                }
            }
        }
        if (group["lr"] is JsonValue lrValue && lrValue.TryGetValue(out double lrDouble) && lrDouble >= 0 && double.IsFinite(lrDouble))
        {
            lr = (float)lrDouble;
        }
        else
        {
            problems.Add($"param group 'lr' is {group["lr"]?.ToJsonString() ?? "missing"}, expected a finite number ≥ 0");
        }
        foreach (var (key, value) in ours)
        {
            if (key == "lr")
            {
                continue;
            }
            var found = group[key];
            if (!SameValue(value, found))
            {
                problems.Add(key == "params"
                    ? $"the state is for parameters {found?.ToJsonString() ?? "(none)"}, this optimizer has {_parameters.Length} ({value!.ToJsonString()})"
                    : $"param group '{key}' is {found?.ToJsonString() ?? "missing"}, this optimizer has {value!.ToJsonString()}");
            }
        }
        return lr;
    }

    /// <summary>JSON equality with numbers compared as float32 (so PyTorch's <c>0.9</c> equals <c>0.9f</c>).</summary>
    private static bool SameValue(JsonNode? a, JsonNode? b) => (a, b) switch
    {
        (null, null) => true,
        (JsonArray x, JsonArray y) => x.Count == y.Count && x.Zip(y).All(pair => SameValue(pair.First, pair.Second)),
        (JsonValue x, JsonValue y) when x.GetValueKind() == JsonValueKind.Number && y.GetValueKind() == JsonValueKind.Number
            => (float)x.GetValue<double>() == (float)y.GetValue<double>(),
        (JsonValue x, JsonValue y) => x.ToJsonString() == y.ToJsonString(),
        _ => false,
    };

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
