using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CompiledNets;

/// <summary>
/// The base of learning-rate schedulers (PyTorch 1.13: <c>torch.optim.lr_scheduler._LRScheduler</c>): call
/// <see cref="Step"/> once after each <see cref="Optimizer.Step"/> (per epoch or per batch, as the schedule is meant);
/// <see cref="GetLastLr"/> is the rate in force.
/// </summary>
/// <remarks>
/// Learning rates are computed in float64 with PyTorch's own (chainable, recursive) formulas, so over 100 steps they
/// match PyTorch's to ≈1e-15 relative; the optimizer receives each rate rounded to float32. A scheduler reads the
/// optimizer's current rate when it was changed by someone else (another scheduler, the user), as PyTorch's do.
/// Constructing a scheduler takes its first step (epoch 0), as in PyTorch: <see cref="LinearLR"/> sets the start factor then.
/// Its state (<see cref="StateDict"/>) goes into checkpoints (<see cref="Checkpoint.Save"/>'s <c>scheduler</c>).
/// </remarks>
public abstract class LRScheduler
{
    private double _lastLr;

    /// <summary>Attaches to <paramref name="optimizer"/>; records its rate as the initial rate the first time (PyTorch: <c>initial_lr</c>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="optimizer"/> is null.</exception>
    private protected LRScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        optimizer.InitialLr ??= Widen(optimizer.LearningRate);
        BaseLr = optimizer.InitialLr.Value;
        _lastLr = Widen(optimizer.LearningRate);
    }

    /// <summary>The optimizer whose learning rate this scheduler sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The starting rate of the schedule (PyTorch: <c>base_lrs[0]</c>, the optimizer's <c>initial_lr</c>).</summary>
    public double BaseLr { get; private protected set; }

    /// <summary>The number of steps taken; 0 after construction (PyTorch: <c>last_epoch</c>).</summary>
    public int LastEpoch { get; internal set; } = -1;

    /// <summary>How many times <see cref="Step"/> ran, the construction's included (PyTorch: <c>_step_count</c>).</summary>
    internal int StepCount { get; set; }

    /// <summary>The learning rate last set (PyTorch: <c>get_last_lr()[0]</c>), in float64; the optimizer holds it rounded to float32.</summary>
    public double GetLastLr() => _lastLr;

    /// <summary>The rate to compute from: this scheduler's own float64 rate, or the optimizer's if something else changed it since.</summary>
    private protected double CurrentLr => Optimizer.LearningRate == (float)_lastLr ? _lastLr : Widen(Optimizer.LearningRate);

    /// <summary>
    /// A float32 rate as the float64 its shortest decimal form denotes (<c>0.1f</c> → <c>0.1</c>, not 0.10000000149…), so that
    /// <c>lr: 0.1f</c> schedules exactly as PyTorch's <c>lr=0.1</c>.
    /// </summary>
    internal static double Widen(float value) =>
        double.Parse(value.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>Advances the schedule by one step and sets the optimizer's learning rate (PyTorch: <c>scheduler.step()</c>).</summary>
    /// <exception cref="InvalidOperationException">The schedule is over (<see cref="OneCycleLR"/>), or the scheduler needs a metric (<see cref="ReduceLROnPlateau"/>).</exception>
    public virtual void Step()
    {
        StepCount++;
        LastEpoch++;
        SetLr(ComputeLr());
    }

    /// <summary>Jumps to <paramref name="epoch"/> with the closed form where there is one (PyTorch: <c>step(epoch)</c>, which <see cref="SequentialLR"/> uses at a milestone).</summary>
    internal void StepTo(int epoch)
    {
        StepCount++;
        LastEpoch = epoch;
        SetLr(ClosedForm() ?? ComputeLr());
    }

    /// <summary>Sets the rate: the optimizer gets it rounded to float32.</summary>
    private protected void SetLr(double lr)
    {
        _lastLr = lr;
        Optimizer.LearningRate = (float)lr;
    }

    /// <summary>The first step, taken by each constructor once its fields are set (PyTorch: <c>_initial_step()</c>).</summary>
    private protected void InitialStep()
    {
        StepCount = 0;
        Step();
    }

    /// <summary>The rate at <see cref="LastEpoch"/> (PyTorch: <c>get_lr()</c>), usually from <see cref="CurrentLr"/>.</summary>
    private protected abstract double ComputeLr();

    /// <summary>The rate at <see cref="LastEpoch"/> from <see cref="BaseLr"/> alone (PyTorch: <c>_get_closed_form_lr()</c>), or null.</summary>
    private protected virtual double? ClosedForm() => null;

    /// <summary>The fixed hyper-parameters under PyTorch's names; a state must have the same ones to load.</summary>
    private protected abstract void AddHyperParameters(JsonObject state);

    /// <summary>Adds the changing state beyond <c>last_epoch</c>, <c>_step_count</c>, <c>_last_lr</c> and <c>base_lrs</c>.</summary>
    private protected virtual void AddState(JsonObject state)
    {
    }

    /// <summary>Checks and reads the state added by <see cref="AddState"/>; returns an action that applies it, or adds problems.</summary>
    private protected virtual Action? ReadState(JsonObject state, List<string> problems) => null;

    /// <summary>The state as PyTorch's <c>state_dict()</c> keys, a JSON object.</summary>
    internal JsonObject StateJson()
    {
        var state = new JsonObject();
        AddHyperParameters(state);
        state["last_epoch"] = LastEpoch;
        state["_step_count"] = StepCount;
        state["base_lrs"] = new JsonArray(BaseLr);
        state["_last_lr"] = new JsonArray(_lastLr);
        AddState(state);
        return state;
    }

    /// <summary>
    /// A copy of the scheduler's state (PyTorch: <c>scheduler.state_dict()</c>): no tensors; <see cref="CompiledNets.StateDict.Metadata"/>
    /// entries <c>type</c> (e.g. <c>StepLR</c>) and <c>state</c> (PyTorch's keys as JSON: <c>last_epoch</c>, <c>_step_count</c>,
    /// <c>_last_lr</c>, <c>base_lrs</c>, the hyper-parameters such as <c>step_size</c> and <c>gamma</c>; floats round-trip exactly).
    /// </summary>
    public StateDict StateDict()
    {
        var dict = new StateDict();
        dict.Metadata["type"] = GetType().Name;
        dict.Metadata["state"] = StateJson().ToJsonString();
        return dict;
    }

    /// <summary>
    /// Restores a state from <see cref="StateDict()"/> (PyTorch: <c>load_state_dict</c>) and sets the optimizer's rate to the
    /// saved one. Everything is checked first: on an exception nothing changed.
    /// </summary>
    /// <exception cref="ArgumentException">The state is of another scheduler type, malformed, or has other hyper-parameters; the message lists every problem.</exception>
    public void LoadStateDict(StateDict stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var problems = new List<string>();
        var apply = CheckState(stateDict.Metadata.TryGetValue("type", out string? type) ? type : null,
            stateDict.Metadata.TryGetValue("state", out string? json) ? json : null, problems);
        if (problems.Count > 0)
        {
            string from = stateDict.SourcePath is null ? "" : $" from '{stateDict.SourcePath}'";
            throw new ArgumentException($"Error(s) in loading scheduler state{from} for {GetType().Name}:\n  " + string.Join("\n  ", problems), nameof(stateDict));
        }
        apply!();
    }

    /// <summary>Checks a saved state without changing anything; returns the action that applies it (null when there are problems).</summary>
    internal Action? CheckState(string? type, string? json, List<string> problems)
    {
        int before = problems.Count;
        if (type != GetType().Name)
        {
            problems.Add(type is null ? "metadata 'type' is missing" : $"the state was saved by {type}, this scheduler is {GetType().Name}");
        }
        JsonObject? state = null;
        try
        {
            state = json is null ? null : JsonNode.Parse(json) as JsonObject;
        }
        catch (JsonException)
        {
        }
        if (state is null)
        {
            problems.Add(json is null ? "metadata 'state' is missing" : $"metadata 'state' is not a JSON object: {json}");
            return null;
        }
        var ours = new JsonObject();
        AddHyperParameters(ours);
        foreach (var (key, value) in ours)
        {
            if (!JsonNode.DeepEquals(value, state[key]))
            {
                problems.Add($"'{key}' is {state[key]?.ToJsonString() ?? "missing"}, this scheduler has {value?.ToJsonString() ?? "null"}");
            }
        }
        int lastEpoch = ReadInt(state, "last_epoch", problems);
        int stepCount = ReadInt(state, "_step_count", problems);
        double baseLr = ReadFirst(state, "base_lrs", problems);
        double lastLr = ReadFirst(state, "_last_lr", problems);
        var applyOwn = ReadState(state, problems);
        if (problems.Count > before)
        {
            return null;
        }
        return () =>
        {
            LastEpoch = lastEpoch;
            StepCount = stepCount;
            BaseLr = baseLr;
            SetLr(lastLr);
            applyOwn?.Invoke();
        };
    }

    private protected static int ReadInt(JsonObject state, string key, List<string> problems)
    {
        if (state[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out int i))
        {
            return i;
        }
        problems.Add($"'{key}' is {state[key]?.ToJsonString() ?? "missing"}, expected an integer");
        return 0;
    }

    private protected static double ReadDouble(JsonObject state, string key, List<string> problems)
    {
        var node = state[key];
        if (node is JsonValue v)
        {
            if (v.GetValueKind() == JsonValueKind.Number)
            {
                return v.GetValue<double>();
            }
            if (v.GetValueKind() == JsonValueKind.String && double.TryParse(v.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
            {
                return d; // "Infinity", "-Infinity" (JSON has no literal for them)
            }
        }
        problems.Add($"'{key}' is {node?.ToJsonString() ?? "missing"}, expected a number");
        return 0;
    }

    private static double ReadFirst(JsonObject state, string key, List<string> problems)
    {
        if (state[key] is JsonArray { Count: 1 } a && a[0] is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
        {
            double d = v.GetValue<double>();
            if (double.IsFinite(d) && d >= 0)
            {
                return d;
            }
        }
        problems.Add($"'{key}' is {state[key]?.ToJsonString() ?? "missing"}, expected a list of one learning rate ≥ 0");
        return 0;
    }

    /// <summary>A double as JSON; a non-finite value as a string (JSON has no literal for it).</summary>
    private protected static JsonNode Number(double value) =>
        double.IsFinite(value) ? JsonValue.Create(value) : JsonValue.Create(value.ToString(CultureInfo.InvariantCulture));

    private protected static void CheckPositive(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be ≥ 1.");
        }
    }

    private protected static void CheckFinite(double value, string name)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite.");
        }
    }
}

/// <summary>
/// Multiplies the learning rate by <c>gamma</c> every <c>stepSize</c> steps: <c>lr = base·γ^⌊epoch/step_size⌋</c>
/// (PyTorch 1.13: <c>StepLR</c>, chainable form <c>lr·γ</c> when <c>epoch % step_size == 0</c>).
/// </summary>
public sealed class StepLR : LRScheduler
{
    /// <summary>Creates the scheduler and takes its first step.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="stepSize">Steps between decays (≥ 1).</param>
    /// <param name="gamma">Decay factor; default 0.1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stepSize"/> &lt; 1 or <paramref name="gamma"/> not finite.</exception>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        CheckPositive(stepSize, nameof(stepSize));
        CheckFinite(gamma, nameof(gamma));
        StepSize = stepSize;
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Steps between decays (PyTorch: <c>step_size</c>).</summary>
    public int StepSize { get; }

    /// <summary>Decay factor (PyTorch: <c>gamma</c>).</summary>
    public double Gamma { get; }

    private protected override double ComputeLr() =>
        LastEpoch == 0 || LastEpoch % StepSize != 0 ? CurrentLr : CurrentLr * Gamma;

    private protected override double? ClosedForm() => BaseLr * Math.Pow(Gamma, LastEpoch / StepSize);

    private protected override void AddHyperParameters(JsonObject state)
    {
        state["step_size"] = StepSize;
        state["gamma"] = Gamma;
    }
}

/// <summary>
/// Multiplies the learning rate by <c>gamma</c> at each milestone: <c>lr = base·γ^(milestones passed)</c>
/// (PyTorch 1.13: <c>MultiStepLR</c>; a milestone listed twice decays twice).
/// </summary>
public sealed class MultiStepLR : LRScheduler
{
    private readonly int[] _milestones;

    /// <summary>Creates the scheduler and takes its first step.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="milestones">Step numbers at which to decay, e.g. <c>[30, 80]</c>.</param>
    /// <param name="gamma">Decay factor; default 0.1.</param>
    /// <exception cref="ArgumentException">No milestones, or a negative one.</exception>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = milestones.Order().ToArray();
        if (_milestones.Length == 0 || _milestones[0] < 0)
        {
            throw new ArgumentException("MultiStepLR needs at least one milestone, each ≥ 0.", nameof(milestones));
        }
        CheckFinite(gamma, nameof(gamma));
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>The milestones, sorted (PyTorch: <c>milestones</c>).</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>Decay factor (PyTorch: <c>gamma</c>).</summary>
    public double Gamma { get; }

    private protected override double ComputeLr()
    {
        int count = _milestones.Count(m => m == LastEpoch);
        return count == 0 ? CurrentLr : CurrentLr * Math.Pow(Gamma, count);
    }

    private protected override double? ClosedForm() => BaseLr * Math.Pow(Gamma, _milestones.Count(m => m <= LastEpoch));

    private protected override void AddHyperParameters(JsonObject state)
    {
        state["milestones"] = new JsonArray(_milestones.Select(m => (JsonNode)m).ToArray());
        state["gamma"] = Gamma;
    }
}

/// <summary>Multiplies the learning rate by <c>gamma</c> every step: <c>lr = base·γ^epoch</c> (PyTorch 1.13: <c>ExponentialLR</c>).</summary>
public sealed class ExponentialLR : LRScheduler
{
    /// <summary>Creates the scheduler and takes its first step.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="gamma">Decay factor per step.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gamma"/> is not finite.</exception>
    public ExponentialLR(Optimizer optimizer, double gamma) : base(optimizer)
    {
        CheckFinite(gamma, nameof(gamma));
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Decay factor (PyTorch: <c>gamma</c>).</summary>
    public double Gamma { get; }

    private protected override double ComputeLr() => LastEpoch == 0 ? CurrentLr : CurrentLr * Gamma;

    private protected override double? ClosedForm() => BaseLr * Math.Pow(Gamma, LastEpoch);

    private protected override void AddHyperParameters(JsonObject state) => state["gamma"] = Gamma;
}

/// <summary>
/// Cosine annealing (Loshchilov and Hutter, "SGDR", 2017; PyTorch 1.13: <c>CosineAnnealingLR</c>):
/// <c>lr = η_min + (base − η_min)·(1 + cos(π·epoch/T_max))/2</c>, computed by PyTorch's recursive form, which past
/// <c>T_max</c> rises again (a period of <c>2·T_max</c>) rather than restarting.
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Creates the scheduler and takes its first step.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="tMax">Steps of the half period (≥ 1; PyTorch: <c>T_max</c>).</param>
    /// <param name="etaMin">The lowest rate; default 0 (PyTorch: <c>eta_min</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tMax"/> &lt; 1 or <paramref name="etaMin"/> not finite.</exception>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        CheckPositive(tMax, nameof(tMax));
        CheckFinite(etaMin, nameof(etaMin));
        TMax = tMax;
        EtaMin = etaMin;
        InitialStep();
    }

    /// <summary>The half period (PyTorch: <c>T_max</c>).</summary>
    public int TMax { get; }

    /// <summary>The lowest rate (PyTorch: <c>eta_min</c>).</summary>
    public double EtaMin { get; }

    private protected override double ComputeLr()
    {
        int e = LastEpoch;
        if (e == 0)
        {
            return CurrentLr;
        }
        if ((e - 1 - TMax) % (2 * TMax) == 0)
        {
            return CurrentLr + (BaseLr - EtaMin) * (1 - Math.Cos(Math.PI / TMax)) / 2;
        }
        return (1 + Math.Cos(Math.PI * e / TMax)) / (1 + Math.Cos(Math.PI * (e - 1) / TMax)) * (CurrentLr - EtaMin) + EtaMin;
    }

    private protected override double? ClosedForm() => EtaMin + (BaseLr - EtaMin) * (1 + Math.Cos(Math.PI * LastEpoch / TMax)) / 2;

    private protected override void AddHyperParameters(JsonObject state)
    {
        state["T_max"] = TMax;
        state["eta_min"] = EtaMin;
    }
}

/// <summary>
/// Linear warm-up (or decay) of the rate's factor from <c>startFactor</c> to <c>endFactor</c> over <c>totalIters</c> steps, then
/// constant: <c>lr = base·(start + (end − start)·min(epoch, total_iters)/total_iters)</c> (PyTorch 1.13: <c>LinearLR</c>, recursive form).
/// </summary>
public sealed class LinearLR : LRScheduler
{
    /// <summary>Creates the scheduler and takes its first step (which multiplies the rate by <paramref name="startFactor"/>).</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="startFactor">Factor at step 0, in (0, 1]; default 1/3.</param>
    /// <param name="endFactor">Factor from step <paramref name="totalIters"/> on, in [0, 1]; default 1.</param>
    /// <param name="totalIters">Steps of the ramp (≥ 1); default 5.</param>
    /// <exception cref="ArgumentOutOfRangeException">A factor is out of range or <paramref name="totalIters"/> &lt; 1.</exception>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5) : base(optimizer)
    {
        if (!(startFactor > 0 && startFactor <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "Starting multiplicative factor expected to be in (0, 1].");
        }
        if (!(endFactor >= 0 && endFactor <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(endFactor), endFactor, "Ending multiplicative factor expected to be between 0 and 1.");
        }
        CheckPositive(totalIters, nameof(totalIters));
        StartFactor = startFactor;
        EndFactor = endFactor;
        TotalIters = totalIters;
        InitialStep();
    }

    /// <summary>PyTorch: <c>start_factor</c>.</summary>
    public double StartFactor { get; }

    /// <summary>PyTorch: <c>end_factor</c>.</summary>
    public double EndFactor { get; }

    /// <summary>PyTorch: <c>total_iters</c>.</summary>
    public int TotalIters { get; }

    private protected override double ComputeLr()
    {
        if (LastEpoch == 0)
        {
            return CurrentLr * StartFactor;
        }
        if (LastEpoch > TotalIters)
        {
            return CurrentLr;
        }
        return CurrentLr * (1.0 + (EndFactor - StartFactor) / (TotalIters * StartFactor + (LastEpoch - 1) * (EndFactor - StartFactor)));
    }

    private protected override double? ClosedForm() =>
        BaseLr * (StartFactor + (EndFactor - StartFactor) * Math.Min(TotalIters, LastEpoch) / TotalIters);

    private protected override void AddHyperParameters(JsonObject state)
    {
        state["start_factor"] = StartFactor;
        state["end_factor"] = EndFactor;
        state["total_iters"] = TotalIters;
    }
}

/// <summary>How <see cref="OneCycleLR"/> moves between its rates (PyTorch: <c>anneal_strategy</c>).</summary>
public enum AnnealStrategy
{
    /// <summary><c>end + (start − end)/2·(1 + cos(π·pct))</c> (<c>'cos'</c>, the default).</summary>
    Cos,

    /// <summary><c>start + (end − start)·pct</c> (<c>'linear'</c>).</summary>
    Linear,
}

/// <summary>
/// The 1cycle policy (Smith and Topin, "Super-Convergence", 2018; PyTorch 1.13: <c>OneCycleLR</c>): the rate rises from
/// <c>max_lr/div_factor</c> to <c>max_lr</c> over the first <c>pct_start</c> of <c>total_steps</c>, then falls to
/// <c>initial_lr/final_div_factor</c>; the momentum (Adam's β₁, SGD's momentum) moves the opposite way between
/// <c>max_momentum</c> and <c>base_momentum</c>, as PyTorch does by default. Step it once per batch.
/// </summary>
public sealed class OneCycleLR : LRScheduler
{
    private readonly (double EndStep, int StartLr, int EndLr, bool StartMomentumIsMax, bool EndMomentumIsMax)[] _phases;
    private readonly double[] _lrs; // initial, max, min

    /// <summary>Creates the scheduler, sets the optimizer's rate to <c>max_lr/div_factor</c> (and its momentum to <c>max_momentum</c>), and takes its first step.</summary>
    /// <param name="optimizer">The optimizer: <see cref="Adam"/>/<see cref="AdamW"/> (β₁ cycles) or <see cref="SGD"/> (momentum cycles; switched on if SGD was created without, as in PyTorch).</param>
    /// <param name="maxLr">The peak rate (PyTorch: <c>max_lr</c>).</param>
    /// <param name="totalSteps">The number of steps of the cycle (PyTorch: <c>total_steps</c>, or <c>epochs·steps_per_epoch</c>).</param>
    /// <param name="pctStart">The fraction of steps spent rising; default 0.3.</param>
    /// <param name="annealStrategy">Cosine (default) or linear.</param>
    /// <param name="cycleMomentum">Whether to cycle the momentum; default true.</param>
    /// <param name="baseMomentum">The momentum at the peak rate; default 0.85.</param>
    /// <param name="maxMomentum">The momentum at the lowest rates; default 0.95.</param>
    /// <param name="divFactor"><c>initial_lr = max_lr/div_factor</c>; default 25.</param>
    /// <param name="finalDivFactor"><c>min_lr = initial_lr/final_div_factor</c>; default 1e4.</param>
    /// <param name="threePhase">Rise, fall back to <c>initial_lr</c>, then anneal to <c>min_lr</c> (fast.ai's variant); default false.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range (<paramref name="totalSteps"/> &lt; 1, <paramref name="pctStart"/> outside [0, 1], …).</exception>
    /// <exception cref="InvalidOperationException"><paramref name="cycleMomentum"/> with an optimizer that has no momentum.</exception>
    public OneCycleLR(Optimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos,
        bool cycleMomentum = true, double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25.0, double finalDivFactor = 1e4,
        bool threePhase = false) : base(optimizer)
    {
        CheckPositive(totalSteps, nameof(totalSteps));
        if (!(pctStart >= 0 && pctStart <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, "Expected pct_start between 0 and 1.");
        }
        if (!(maxLr > 0) || !double.IsFinite(maxLr) || !(divFactor > 0) || !(finalDivFactor > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(maxLr), maxLr, "max_lr, div_factor and final_div_factor must be finite values > 0.");
        }
        if (!Enum.IsDefined(annealStrategy))
        {
            throw new ArgumentOutOfRangeException(nameof(annealStrategy), annealStrategy, "Expected AnnealStrategy.Cos or Linear.");
        }
        if (cycleMomentum && optimizer.CycledMomentum is null)
        {
            throw new InvalidOperationException(
                $"OneCycleLR cycles the momentum, but this {optimizer.GetType().Name} has none (PyTorch: \"optimizer must support momentum with `cycle_momentum` option enabled\"); pass cycleMomentum: false.");
        }
        MaxLr = maxLr;
        TotalSteps = totalSteps;
        PctStart = pctStart;
        Strategy = annealStrategy;
        CycleMomentum = cycleMomentum;
        BaseMomentum = baseMomentum;
        MaxMomentum = maxMomentum;
        DivFactor = divFactor;
        FinalDivFactor = finalDivFactor;
        ThreePhase = threePhase;
        _phases = threePhase
            ?
            [
                (pctStart * totalSteps - 1, 0, 1, true, false),
                (2 * pctStart * totalSteps - 2, 1, 0, false, true),
                (totalSteps - 1, 0, 2, true, true),
            ]
            :
            [
                (pctStart * totalSteps - 1, 0, 1, true, false),
                (totalSteps - 1, 1, 2, false, true),
            ];
        double initial = maxLr / divFactor;
        _lrs = [initial, maxLr, initial / finalDivFactor];
        optimizer.InitialLr = initial;
        BaseLr = initial;
        if (cycleMomentum)
        {
            optimizer.CycledMomentum = (float)maxMomentum;
            optimizer.MomentumScheduled = true;
            Momentum = maxMomentum;
        }
        InitialStep();
    }

    /// <summary>PyTorch: <c>max_lr</c>.</summary>
    public double MaxLr { get; }

    /// <summary>PyTorch: <c>total_steps</c>.</summary>
    public int TotalSteps { get; }

    /// <summary>PyTorch: <c>pct_start</c>.</summary>
    public double PctStart { get; }

    /// <summary>PyTorch: <c>anneal_strategy</c>.</summary>
    public AnnealStrategy Strategy { get; }

    /// <summary>PyTorch: <c>cycle_momentum</c>.</summary>
    public bool CycleMomentum { get; }

    /// <summary>PyTorch: <c>base_momentum</c>.</summary>
    public double BaseMomentum { get; }

    /// <summary>PyTorch: <c>max_momentum</c>.</summary>
    public double MaxMomentum { get; }

    /// <summary>PyTorch: <c>div_factor</c>.</summary>
    public double DivFactor { get; }

    /// <summary>PyTorch: <c>final_div_factor</c>.</summary>
    public double FinalDivFactor { get; }

    /// <summary>PyTorch: <c>three_phase</c>.</summary>
    public bool ThreePhase { get; }

    /// <summary>The momentum last set (float64; the optimizer holds it as float32); NaN when not cycling.</summary>
    public double Momentum { get; private set; } = double.NaN;

    private double Anneal(double start, double end, double pct) => Strategy == AnnealStrategy.Cos
        ? end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1)
        : (end - start) * pct + start;

    private protected override double ComputeLr()
    {
        int stepNum = LastEpoch;
        if (stepNum > TotalSteps)
        {
            throw new InvalidOperationException($"OneCycleLR: tried to step {stepNum + 1} times; the specified number of total steps is {TotalSteps}.");
        }
        double startStep = 0, lr = 0, momentum = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            var phase = _phases[i];
            if (stepNum <= phase.EndStep || i == _phases.Length - 1)
            {
                double pct = (stepNum - startStep) / (phase.EndStep - startStep);
                lr = Anneal(_lrs[phase.StartLr], _lrs[phase.EndLr], pct);
                momentum = Anneal(phase.StartMomentumIsMax ? MaxMomentum : BaseMomentum, phase.EndMomentumIsMax ? MaxMomentum : BaseMomentum, pct);
                break;
            }
            startStep = phase.EndStep;
        }
        if (CycleMomentum)
        {
            Momentum = momentum;
            Optimizer.CycledMomentum = (float)momentum;
        }
        return lr;
    }

    /// <inheritdoc/>
    public override void Step()
    {
        if (LastEpoch + 1 > TotalSteps)
        {
            throw new InvalidOperationException($"OneCycleLR: tried to step {LastEpoch + 2} times; the specified number of total steps is {TotalSteps}.");
        }
        base.Step();
    }

    private protected override void AddHyperParameters(JsonObject state)
    {
        state["max_lr"] = MaxLr;
        state["total_steps"] = TotalSteps;
        state["pct_start"] = PctStart;
        state["anneal_strategy"] = Strategy == AnnealStrategy.Cos ? "cos" : "linear";
        state["cycle_momentum"] = CycleMomentum;
        state["base_momentum"] = BaseMomentum;
        state["max_momentum"] = MaxMomentum;
        state["div_factor"] = DivFactor;
        state["final_div_factor"] = FinalDivFactor;
        state["three_phase"] = ThreePhase;
    }

    private protected override void AddState(JsonObject state) => state["momentum"] = Number(Momentum);

    private protected override Action? ReadState(JsonObject state, List<string> problems)
    {
        double momentum = ReadDouble(state, "momentum", problems);
        return () =>
        {
            Momentum = momentum;
            if (CycleMomentum)
            {
                Optimizer.CycledMomentum = (float)momentum;
            }
        };
    }
}

/// <summary>Whether <see cref="ReduceLROnPlateau"/> watches a metric that should fall or rise (PyTorch: <c>mode</c>).</summary>
public enum PlateauMode
{
    /// <summary>A loss: lower is better (<c>'min'</c>, the default).</summary>
    Min,

    /// <summary>An accuracy: higher is better (<c>'max'</c>).</summary>
    Max,
}

/// <summary>How <see cref="ReduceLROnPlateau"/> compares with the best value so far (PyTorch: <c>threshold_mode</c>).</summary>
public enum ThresholdMode
{
    /// <summary>Better means beyond <c>best·(1 ∓ threshold)</c> (<c>'rel'</c>, the default).</summary>
    Rel,

    /// <summary>Better means beyond <c>best ∓ threshold</c> (<c>'abs'</c>).</summary>
    Abs,
}

/// <summary>
/// Multiplies the rate by <c>factor</c> when a metric has not improved for more than <c>patience</c> steps (PyTorch 1.13:
/// <c>ReduceLROnPlateau</c>, with its <c>threshold</c>, <c>cooldown</c>, <c>min_lr</c> and <c>eps</c>). Call <see cref="Step(double)"/>
/// with the metric, e.g. the validation loss after each epoch.
/// </summary>
public sealed class ReduceLROnPlateau : LRScheduler
{
    private double _best;
    private int _numBadEpochs;
    private int _cooldownCounter;

    /// <summary>Creates the scheduler (it takes no step: the rate is unchanged until a plateau).</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="mode"><see cref="PlateauMode.Min"/> (default) or <see cref="PlateauMode.Max"/>.</param>
    /// <param name="factor">The factor, in [0, 1); default 0.1.</param>
    /// <param name="patience">Steps without improvement tolerated; default 10.</param>
    /// <param name="threshold">The least improvement that counts; default 1e-4.</param>
    /// <param name="thresholdMode">Relative (default) or absolute.</param>
    /// <param name="cooldown">Steps after a reduction during which bad steps are not counted; default 0.</param>
    /// <param name="minLr">The lowest rate; default 0.</param>
    /// <param name="eps">A reduction smaller than this is not applied; default 1e-8.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10, double threshold = 1e-4,
        ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double minLr = 0, double eps = 1e-8) : base(optimizer)
    {
        if (!(factor >= 0 && factor < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "Factor should be < 1.0 (and ≥ 0).");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        ArgumentOutOfRangeException.ThrowIfNegative(cooldown);
        if (!Enum.IsDefined(mode) || !Enum.IsDefined(thresholdMode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), "Unknown mode or threshold mode.");
        }
        CheckFinite(threshold, nameof(threshold));
        CheckFinite(minLr, nameof(minLr));
        CheckFinite(eps, nameof(eps));
        Mode = mode;
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        ThresholdMode = thresholdMode;
        Cooldown = cooldown;
        MinLr = minLr;
        Eps = eps;
        LastEpoch = 0;
        _best = mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
        SetLr(Widen(optimizer.LearningRate));
    }

    /// <summary>PyTorch: <c>mode</c>.</summary>
    public PlateauMode Mode { get; }

    /// <summary>PyTorch: <c>factor</c>.</summary>
    public double Factor { get; }

    /// <summary>PyTorch: <c>patience</c>.</summary>
    public int Patience { get; }

    /// <summary>PyTorch: <c>threshold</c>.</summary>
    public double Threshold { get; }

    /// <summary>PyTorch: <c>threshold_mode</c>.</summary>
    public ThresholdMode ThresholdMode { get; }

    /// <summary>PyTorch: <c>cooldown</c>.</summary>
    public int Cooldown { get; }

    /// <summary>PyTorch: <c>min_lrs[0]</c>.</summary>
    public double MinLr { get; }

    /// <summary>PyTorch: <c>eps</c>.</summary>
    public double Eps { get; }

    /// <summary>The best metric so far (PyTorch: <c>best</c>); ±∞ before the first step.</summary>
    public double Best => _best;

    /// <summary>Not available: this scheduler needs the metric.</summary>
    /// <exception cref="InvalidOperationException">Always: call <see cref="Step(double)"/>.</exception>
    public override void Step() =>
        throw new InvalidOperationException("ReduceLROnPlateau needs the metric it watches: call Step(metric), e.g. Step(validationLoss).");

    /// <summary>Records <paramref name="metric"/> and reduces the rate after a plateau (PyTorch: <c>scheduler.step(metrics)</c>).</summary>
    /// <exception cref="ArgumentException"><paramref name="metric"/> is NaN.</exception>
    public void Step(double metric)
    {
        if (double.IsNaN(metric))
        {
            throw new ArgumentException("ReduceLROnPlateau got a NaN metric.", nameof(metric));
        }
        LastEpoch++;
        if (IsBetter(metric))
        {
            _best = metric;
            _numBadEpochs = 0;
        }
        else
        {
            _numBadEpochs++;
        }
        if (_cooldownCounter > 0)
        {
            _cooldownCounter--;
            _numBadEpochs = 0;
        }
        if (_numBadEpochs > Patience)
        {
            double old = CurrentLr;
            double reduced = Math.Max(old * Factor, MinLr);
            if (old - reduced > Eps)
            {
                SetLr(reduced);
            }
            _cooldownCounter = Cooldown;
            _numBadEpochs = 0;
        }
        SetLr(CurrentLr);
    }

    private bool IsBetter(double a) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => a < _best * (1.0 - Threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => a < _best - Threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => a > _best * (Threshold + 1.0),
        _ => a > _best + Threshold,
    };

    private protected override double ComputeLr() => CurrentLr;

    private protected override void AddHyperParameters(JsonObject state)
    {
        state["mode"] = Mode == PlateauMode.Min ? "min" : "max";
        state["factor"] = Factor;
        state["patience"] = Patience;
        state["threshold"] = Threshold;
        state["threshold_mode"] = ThresholdMode == ThresholdMode.Rel ? "rel" : "abs";
        state["cooldown"] = Cooldown;
        state["min_lrs"] = new JsonArray(MinLr);
        state["eps"] = Eps;
    }

    private protected override void AddState(JsonObject state)
    {
        state["best"] = Number(_best);
        state["num_bad_epochs"] = _numBadEpochs;
        state["cooldown_counter"] = _cooldownCounter;
    }

    private protected override Action? ReadState(JsonObject state, List<string> problems)
    {
        double best = ReadDouble(state, "best", problems);
        int bad = ReadInt(state, "num_bad_epochs", problems);
        int cooldown = ReadInt(state, "cooldown_counter", problems);
        return () =>
        {
            _best = best;
            _numBadEpochs = bad;
            _cooldownCounter = cooldown;
        };
    }
}

/// <summary>
/// Runs schedulers one after another, switching at the milestones (PyTorch 1.13: <c>SequentialLR</c>), e.g. a
/// <see cref="LinearLR"/> warm-up for 5 steps, then <see cref="CosineAnnealingLR"/>: at a milestone the next scheduler
/// starts from its closed form at epoch 0 (its base rate).
/// </summary>
/// <remarks>
/// As in PyTorch, construction resets the optimizer's rate to its initial rate and re-takes the first scheduler's first step;
/// create the inner schedulers on the same optimizer just before. Not for <see cref="ReduceLROnPlateau"/>.
/// </remarks>
public sealed class SequentialLR : LRScheduler
{
    private readonly LRScheduler[] _schedulers;
    private readonly int[] _milestones;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="optimizer">The optimizer all <paramref name="schedulers"/> belong to.</param>
    /// <param name="schedulers">The schedulers, in order.</param>
    /// <param name="milestones">The steps at which to switch to the next scheduler, ascending; one fewer than the schedulers.</param>
    /// <exception cref="ArgumentException">A scheduler of another optimizer, a <see cref="ReduceLROnPlateau"/>, or the wrong number of milestones.</exception>
    public SequentialLR(Optimizer optimizer, IReadOnlyList<LRScheduler> schedulers, IReadOnlyList<int> milestones) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        _schedulers = schedulers.ToArray();
        _milestones = milestones.ToArray();
        if (_schedulers.Length == 0 || _schedulers.Any(s => !ReferenceEquals(s.Optimizer, optimizer)))
        {
            throw new ArgumentException("SequentialLR expects at least one scheduler, all of the same optimizer as the one passed in.", nameof(schedulers));
        }
        if (_schedulers.Any(s => s is ReduceLROnPlateau or SequentialLR))
        {
            throw new ArgumentException("SequentialLR cannot run a ReduceLROnPlateau or another SequentialLR.", nameof(schedulers));
        }
        if (_milestones.Length != _schedulers.Length - 1 || _milestones.Zip(_milestones.Skip(1)).Any(p => p.First > p.Second))
        {
            throw new ArgumentException(
                $"SequentialLR expects one milestone fewer than schedulers, ascending; got {_schedulers.Length} schedulers and {_milestones.Length} milestones.", nameof(milestones));
        }
        LastEpoch = 0;
        SetLr(optimizer.InitialLr!.Value);
        foreach (var s in _schedulers)
        {
            s.LastEpoch--;
        }
        _schedulers[0].StepCount = 0;
        _schedulers[0].Step();
        SetLr(_schedulers[0].GetLastLr());
    }

    /// <summary>The schedulers.</summary>
    public IReadOnlyList<LRScheduler> Schedulers => _schedulers;

    /// <summary>The milestones (PyTorch: <c>_milestones</c>).</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <inheritdoc/>
    public override void Step()
    {
        LastEpoch++;
        int idx = UpperBound(_milestones, LastEpoch);
        var scheduler = _schedulers[idx];
        if (idx > 0 && _milestones[idx - 1] == LastEpoch)
        {
            scheduler.StepTo(0);
        }
        else
        {
            scheduler.Step();
        }
        SetLr(scheduler.GetLastLr());
    }

    private static int UpperBound(int[] sorted, int value)
    {
        int i = 0;
        while (i < sorted.Length && sorted[i] <= value)
        {
            i++;
        }
        return i;
    }

    private protected override double ComputeLr() => CurrentLr;

    private protected override void AddHyperParameters(JsonObject state)
    {
        state["_milestones"] = new JsonArray(_milestones.Select(m => (JsonNode)m).ToArray());
        state["_scheduler_types"] = new JsonArray(_schedulers.Select(s => (JsonNode)s.GetType().Name).ToArray());
    }

    private protected override void AddState(JsonObject state) =>
        state["_schedulers"] = new JsonArray(_schedulers.Select(s => (JsonNode)s.StateJson()).ToArray());

    private protected override Action? ReadState(JsonObject state, List<string> problems)
    {
        if (state["_schedulers"] is not JsonArray inner || inner.Count != _schedulers.Length)
        {
            problems.Add($"'_schedulers' should be a list of {_schedulers.Length} states");
            return null;
        }
        var actions = new List<Action>();
        for (int i = 0; i < _schedulers.Length; i++)
        {
            var sub = new List<string>();
            var action = _schedulers[i].CheckState(_schedulers[i].GetType().Name, inner[i]?.ToJsonString(), sub);
            problems.AddRange(sub.Select(p => $"scheduler {i}: {p}"));
            if (action is not null)
            {
                actions.Add(action);
            }
        }
        return () =>
        {
            foreach (var a in actions)
            {
                a();
            }
        };
    }
}
