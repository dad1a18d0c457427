using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;

namespace CompiledNets;

/// <summary>
/// The base of every layer and model (PyTorch: <c>nn.Module</c>): parameters, sub-modules,
/// train/eval mode, state dicts and the <c>print(net)</c> layout.
/// </summary>
/// <remarks>
/// A <c>[Model]</c> partial class gets this base, its children and its specialised forward and
/// backward passes from the CompiledNets source generator; the logic shared by all models lives here.
/// </remarks>
public abstract partial class Module
{
    private (string Name, Module Module)[]? _children;
    private (string Name, Parameter Parameter)[]? _ownParameters;
    private bool _flat;
    // Whether a weight is large enough for the packed GEMM path (PackedWeightCache), set with _flat; and whether the
    // running forward entered the cache (only eval-mode forwards of such models do: the others skip its thread-statics).
    private bool _mayPackWeights;
    private bool _enteredPackedCache;
    private readonly BufferVersion _outputVersion = BufferVersion.ForModelOutput();
    private int _lastBatch;
    private bool _lastInputWasVector;
    private int[] _outputShape = [];
    private int _lastInFeatures;
    // The last forward's input when it was another model's output (the models were chained by hand),
    // and the buffer the input gradient for that model is written into (grown once, then reused).
    private Tensor? _upstream;
    private float[] _gradInput = [];
    // The last output view, and whether a loss has backpropagated through it (then the next forward re-stamps it
    // instead of allocating a new view: a training step allocates nothing).
    private Tensor? _outputView;
    private bool _outputBackpropagated;

    /// <summary>Large weights packed for inference (see <see cref="Kernels.Cpu.PackedWeightCache"/>); created on first use.</summary>
    internal Kernels.Cpu.PackedWeightCache.Store? PackedWeights { get; set; }

    /// <summary>Whether the module is in training mode (PyTorch: <c>module.training</c>); <see langword="true"/> after construction.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>
    /// When <see langword="true"/>, every <c>Forward</c> returns the same output tensor object, re-stamped, instead of
    /// a new view (as long as the batch size stays), so an inference loop allocates nothing. The price: an output kept
    /// across a later <c>Forward</c> then shows the newer values instead of throwing. Default <see langword="false"/>:
    /// a new view per forward, except after a loss has backpropagated through the last one (a training step
    /// allocates nothing either way).
    /// </summary>
    public bool ReuseOutputView { get; set; }

    /// <summary>The module's type name as <c>print(net)</c> shows it.</summary>
    protected virtual string TypeName => GetType().Name;

    /// <summary>The direct sub-modules with their field names, in forward order; generated for a <c>[Model]</c>.</summary>
    protected virtual IEnumerable<(string Name, Module Module)> DeclareChildren() => [];

    /// <summary>The parameters this module owns directly, e.g. <c>("weight", Weight)</c>.</summary>
    protected virtual IEnumerable<(string Name, Parameter Parameter)> DeclareParameters() => [];

    /// <summary>The text inside the parentheses of a leaf module's line in <c>print(net)</c> (PyTorch: <c>extra_repr()</c>).</summary>
    protected virtual string ExtraRepr() => "";

    private (string Name, Module Module)[] ChildArray => _children ??= DeclareChildren().ToArray();

    private (string Name, Parameter Parameter)[] OwnParameterArray => _ownParameters ??= DeclareParameters().ToArray();

    /// <summary>Sets training mode on this module and every sub-module (PyTorch: <c>train(mode)</c>).</summary>
    /// <returns>This module.</returns>
    public Module Train(bool mode = true)
    {
        IsTraining = mode;
        foreach (var (_, child) in ChildArray)
        {
            child.Train(mode);
        }
        return this;
    }

    /// <summary>Sets evaluation mode: dropout becomes the identity (PyTorch: <c>eval()</c>).</summary>
    /// <returns>This module.</returns>
    public Module Eval() => Train(false);

    /// <summary>The direct sub-modules (PyTorch: <c>children()</c>).</summary>
    public IEnumerable<Module> Children() => ChildArray.Select(c => c.Module);

    /// <summary>The direct sub-modules with their names (PyTorch: <c>named_children()</c>).</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => ChildArray;

    /// <summary>This module and all sub-modules, depth first, each once (PyTorch: <c>modules()</c>).</summary>
    public IEnumerable<Module> Modules() => NamedModules().Select(m => m.Module);

    /// <summary>
    /// This module (named <c>""</c>) and all sub-modules with dotted names such as <c>block.hidden</c>,
    /// depth first, each once (PyTorch: <c>named_modules()</c>).
    /// </summary>
    public IEnumerable<(string Name, Module Module)> NamedModules()
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        var result = new List<(string, Module)>();
        CollectModules("", seen, result);
        return result;
    }

    private void CollectModules(string prefix, HashSet<Module> seen, List<(string, Module)> result)
    {
        if (!seen.Add(this))
        {
            return;
        }
        result.Add((prefix, this));
        foreach (var (name, child) in ChildArray)
        {
            child.CollectModules(prefix.Length == 0 ? name : prefix + "." + name, seen, result);
        }
    }

    /// <summary>All parameters, in the order of <see cref="NamedParameters"/> (PyTorch: <c>parameters()</c>).</summary>
    public IEnumerable<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>
    /// All parameters with PyTorch's keys (<c>hidden.weight</c>, <c>hidden.bias</c>, <c>out.weight</c>, …),
    /// each once (PyTorch: <c>named_parameters()</c>).
    /// </summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        EnsureContiguousParameters();
        return CollectParameters();
    }

    private List<(string Name, Parameter Parameter)> CollectParameters()
    {
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        var result = new List<(string, Parameter)>();
        foreach (var (prefix, module) in NamedModules())
        {
            foreach (var (name, p) in module.OwnParameterArray)
            {
                if (seen.Add(p))
                {
                    result.Add((prefix.Length == 0 ? name : prefix + "." + name, p));
                }
            }
        }
        return result;
    }

    /// <summary>The total number of trainable values (PyTorch: <c>sum(p.numel() for p in parameters())</c>); 83 for the tutorial's net.</summary>
    public int ParameterCount => CollectParameters().Sum(p => p.Parameter.Numel);

    /// <summary>Calls <paramref name="fn"/> on every sub-module, then on this one (PyTorch: <c>apply(fn)</c>), e.g. for per-type initialisation.</summary>
    /// <returns>This module.</returns>
    public Module Apply(Action<Module> fn)
    {
        ArgumentNullException.ThrowIfNull(fn);
        foreach (var (_, child) in ChildArray)
        {
            child.Apply(fn);
        }
        fn(this);
        return this;
    }

    /// <summary>
    /// Sets <see cref="Parameter.RequiresGrad"/> on every parameter of this module and its sub-modules (PyTorch:
    /// <c>requires_grad_(requires_grad)</c>), e.g. <c>net.body.RequiresGrad(false)</c> to fine-tune only the head.
    /// </summary>
    /// <param name="requiresGrad"><see langword="false"/> freezes the parameters; <see langword="true"/> (the default) unfreezes them.</param>
    /// <returns>This module.</returns>
    public Module RequiresGrad(bool requiresGrad = true)
    {
        foreach (var p in Parameters())
        {
            p.RequiresGrad = requiresGrad;
        }
        return this;
    }

    /// <summary>
    /// Whether any parameter of this module or its sub-modules has <see cref="Parameter.RequiresGrad"/> (allocates nothing).
    /// Generated backward passes call it to stop once no layer before needs a gradient.
    /// </summary>
    public bool AnyRequiresGrad()
    {
        foreach (var (_, p) in OwnParameterArray)
        {
            if (p.RequiresGrad)
            {
                return true;
            }
        }
        foreach (var (_, child) in ChildArray)
        {
            if (child.AnyRequiresGrad())
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Sets every parameter's gradient to zero (PyTorch: <c>zero_grad()</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters())
        {
            p.Grad.Clear();
        }
    }

    /// <summary>
    /// Moves all parameters into one contiguous buffer for values and one for gradients (once), so
    /// that optimizers update them in a single SIMD loop.
    /// </summary>
    private void EnsureContiguousParameters()
    {
        if (_flat)
        {
            return;
        }
        var parameters = CollectParameters();
        bool contiguous = true;
        for (int i = 1; i < parameters.Count && contiguous; i++)
        {
            Parameter prev = parameters[i - 1].Parameter, cur = parameters[i].Parameter;
            contiguous = ReferenceEquals(prev.DataArray, cur.DataArray) && prev.Offset + prev.Numel == cur.Offset;
        }
        if (!contiguous)
        {
            int total = parameters.Sum(p => p.Parameter.Numel);
            float[] data = new float[total], grad = new float[total];
            int offset = 0;
            foreach (var (_, p) in parameters)
            {
                p.Rebind(data, grad, offset);
                offset += p.Numel;
            }
        }
        _mayPackWeights = parameters.Any(p => p.Parameter.Numel >= Kernels.Cpu.PackedWeightCache.MinWeightNumel);
        _flat = true;
    }

    /// <summary>A copy of every parameter under PyTorch's keys (PyTorch: <c>state_dict()</c>).</summary>
    public StateDict StateDict()
    {
        var dict = new StateDict();
        foreach (var (name, p) in NamedParameters())
        {
            dict.Add(name, p.ToTensor());
        }
        return dict;
    }

    /// <summary>
    /// Copies the values of <paramref name="stateDict"/> into the parameters with the same keys
    /// (PyTorch: <c>load_state_dict(state_dict, strict)</c>). Everything is checked before anything is
    /// copied: on an exception the model is unchanged.
    /// </summary>
    /// <param name="stateDict">Tensors keyed as <see cref="NamedParameters"/> names them, e.g. from <see cref="CompiledNets.StateDict.Load"/>.</param>
    /// <param name="strict">
    /// When <see langword="true"/> (the default), any missing or unexpected key is an error. When <see langword="false"/>,
    /// missing keys keep their values and unexpected keys are ignored — but a dict that matches none of the model's keys
    /// is still an error (PyTorch returns quietly then, having loaded nothing; that is almost always a wrong file or a key
    /// prefix, so CompiledNets says so).
    /// </param>
    /// <returns>The keys that were missing (left unchanged) or unexpected (ignored); both empty when <paramref name="strict"/>.</returns>
    /// <exception cref="ArgumentException">
    /// A shape differs (always); when <paramref name="strict"/>, a key is missing or unexpected; when not, no key of the
    /// model is in the dict. The message lists every problem at once (key, expected shape, found shape), the file the
    /// dict came from, and a hint when the dict's keys are this model's under a prefix.
    /// </exception>
    public LoadStateDictResult LoadStateDict(StateDict stateDict, bool strict = true)
    {
        var result = CheckStateDict(stateDict, strict, out var problems);
        int ownKeys = NamedParameters().Count();
        if (!strict && ownKeys > 0 && result.MissingKeys.Count == ownKeys)
        {
            string theirs = stateDict.Count == 0 ? "the state dict is empty"
                : $"its {stateDict.Count} key(s) are {string.Join(", ", stateDict.Keys.Take(5))}{(stateDict.Count > 5 ? ", …" : "")}";
            problems.Add(
                $"strict: false, but none of the model's {ownKeys} key(s) ({string.Join(", ", result.MissingKeys.Take(5))}{(ownKeys > 5 ? ", …" : "")}) " +
                $"is in the state dict, so nothing would be loaded; {theirs}");
        }
        if (problems.Count > 0)
        {
            string from = stateDict.SourcePath is null ? "" : $" from '{stateDict.SourcePath}'";
            string hint = PrefixOfOwnKeys(result) is { } prefix
                ? $"\nhint: the unexpected keys under '{prefix}' are exactly this model's keys, so the file looks like a " +
                  $"{(stateDict.Metadata.TryGetValue("format", out string? format) && format == Checkpoint.FormatName ? "training checkpoint (Checkpoint.Save)" : "checkpoint or a wrapped model's state")}: " +
                  $"resume a checkpoint with Checkpoint.TryResume, or strip the prefix '{prefix}' from the keys before LoadStateDict."
                : "";
            throw new ArgumentException(
                $"Error(s) in loading state dict{from} for {TypeName}:\n  " + string.Join("\n  ", problems) + hint, nameof(stateDict));
        }
        CopyStateDict(stateDict);
        return result;
    }

    /// <summary>
    /// The prefix (e.g. <c>model.</c>) under which the unexpected keys hold exactly this module's keys, as in a
    /// checkpoint's file; <see langword="null"/> when there is none.
    /// </summary>
    private string? PrefixOfOwnKeys(LoadStateDictResult result)
    {
        if (result.UnexpectedKeys.Count == 0 || result.MissingKeys.Count == 0)
        {
            return null;
        }
        var own = NamedParameters().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        string first = result.MissingKeys[0];
        foreach (string key in result.UnexpectedKeys)
        {
            if (key.Length <= first.Length || !key.EndsWith("." + first, StringComparison.Ordinal))
            {
                continue;
            }
            string prefix = key[..(key.Length - first.Length)];
            var stripped = result.UnexpectedKeys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Select(k => k[prefix.Length..]).ToList();
            if (stripped.Count == own.Count && own.SetEquals(stripped))
            {
                return prefix;
            }
        }
        return null;
    }

    /// <summary>Checks <paramref name="stateDict"/> against this module's parameters without changing anything.</summary>
    /// <param name="stateDict">The tensors to check.</param>
    /// <param name="strict">Whether missing and unexpected keys are problems.</param>
    /// <param name="problems">Every shape mismatch and, when <paramref name="strict"/>, every missing and unexpected key.</param>
    internal LoadStateDictResult CheckStateDict(StateDict stateDict, bool strict, out List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var named = NamedParameters().ToList();
        var own = named.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var missing = named.Where(p => !stateDict.ContainsKey(p.Name)).Select(p => p.Name).ToList();
        var unexpected = stateDict.Keys.Where(k => !own.Contains(k)).ToList();
        problems = [];
        foreach (var (name, p) in named)
        {
            if (stateDict.TryGetValue(name, out var t) && !t.Shape.SequenceEqual(p.Shape))
            {
                problems.Add($"size mismatch for {name}: expected shape {Tensor.ShapeString(p.Shape)}, found {Tensor.ShapeString(t.Shape)}");
            }
        }
        if (strict)
        {
            problems.AddRange(missing.Select(k => $"missing key: {k}"));
            problems.AddRange(unexpected.Select(k => $"unexpected key: {k}"));
        }
        return new LoadStateDictResult(missing, unexpected);
    }

    /// <summary>Copies the matching entries of a dict that <see cref="CheckStateDict"/> accepted.</summary>
    internal void CopyStateDict(StateDict stateDict)
    {
        foreach (var (name, p) in NamedParameters())
        {
            if (stateDict.TryGetValue(name, out var t))
            {
                t.AsSpan().CopyTo(p.Data);
            }
        }
    }

    /// <summary>The type name used in messages and checkpoints.</summary>
    internal string ModuleTypeName => TypeName;

    /// <summary>PyTorch's <c>print(net)</c> layout: one line per sub-module, <c>(name): Type(extra)</c>, nested by indentation.</summary>
    public override string ToString()
    {
        var children = ChildArray;
        if (children.Length == 0)
        {
            return $"{TypeName}({ExtraRepr()})";
        }
        var sb = new StringBuilder(TypeName).Append('(');
        string extra = ExtraRepr();
        if (extra.Length > 0)
        {
            sb.Append("\n  ").Append(extra);
        }
        foreach (var (name, child) in children)
        {
            sb.Append("\n  (").Append(name).Append("): ").Append(child.ToString().Replace("\n", "\n  "));
        }
        return sb.Append("\n)").ToString();
    }

    // ---- The protocol between generated models and the runtime. Not for direct use. ----

    /// <summary>For generated code: runs the forward pass on <paramref name="batch"/> rows of <paramref name="input"/> and returns the module's output buffer.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public virtual ArraySegment<float> ForwardBatch(ArraySegment<float> input, int batch)
        => throw new NotSupportedException($"{TypeName} runs inside a model's generated forward pass, not on its own.");

    /// <summary>
    /// For generated code: accumulates parameter gradients from <paramref name="gradOutput"/> and,
    /// when <paramref name="gradInput"/> is not empty, writes the gradient of the last forward's input into it.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public virtual void BackwardBatch(ArraySegment<float> gradOutput, ArraySegment<float> gradInput, int batch)
        => throw new NotSupportedException($"{TypeName} runs inside a model's generated backward pass, not on its own.");

    /// <summary>
    /// For generated code: how many forward passes this model has run (each <c>Forward</c> and each
    /// <c>ForwardBatch</c> from a parent). A parent records it after running this model and compares it at
    /// <c>Backward</c> (<see cref="ThrowIfNestedForwardsRan"/>): another run in between replaced the saved activations.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public long ForwardRuns { get; private set; }

    /// <summary>For generated code: counts one forward pass (the first statement of a generated <c>ForwardBatch</c>).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected void CountForwardRun() => ForwardRuns++;

    /// <summary>
    /// For generated code: throws when a nested model (at any depth) has run another forward pass since this model's
    /// last forward used it, so its saved activations belong to that later call; generated for models with nested models.
    /// </summary>
    /// <exception cref="InvalidOperationException">A nested model ran again; no gradient was changed.</exception>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public virtual void ThrowIfNestedForwardsRan()
    {
    }

    /// <summary>For generated code: the error of <see cref="ThrowIfNestedForwardsRan"/> for the nested model in <paramref name="field"/>.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected InvalidOperationException NestedForwardRan(string field, Module nested) =>
        new($"Backward through {TypeName} needs the activations its last Forward saved in {field} ({nested.TypeName}), but " +
            $"{nested.TypeName} has run another Forward since (its Forward, ForwardBatch or [Forward] method), which replaced them. " +
            $"Call Backward before running {field} on its own, or run it on a separate instance. No gradient was changed.");

    /// <summary>
    /// For generated code: throws when an element of the layer array <paramref name="field"/> is no longer the module
    /// registered as that child (the user replaced <c>m.blocks[0]</c> after the model was built): <c>Parameters()</c>,
    /// optimizers and the state dict would keep the old layer while the forward pass used the new one.
    /// </summary>
    /// <exception cref="InvalidOperationException">An element was replaced; nothing has run.</exception>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected void ThrowIfLayerArrayChanged(string field, Module[] elements)
    {
        foreach (var (name, child) in ChildArray)
        {
            if (name != field)
            {
                continue;
            }
            var registered = child.ChildArray;
            for (int i = 0; i < Math.Max(registered.Length, elements.Length); i++)
            {
                if (i >= registered.Length || i >= elements.Length || !ReferenceEquals(registered[i].Module, elements[i]))
                {
                    throw new InvalidOperationException(
                        $"{TypeName}.{field}[{i}] was replaced after the model was built, but Parameters(), optimizers and the state dict " +
                        $"still hold the layer it had then, so the new one would never train. Build the model with the layers it " +
                        $"should have (for example, pass them to its constructor), or copy new values into the existing layer " +
                        $"(LoadStateDict, or its Weight and Bias).");
                }
            }
            return;
        }
    }

    /// <summary>For generated code: checks that <paramref name="input"/> is <c>[batch, inFeatures]</c> (or <c>[inFeatures]</c>), returns the batch size and the input's values.</summary>
    /// <exception cref="ArgumentException">The input has another shape, contains no rows, or is this module's own latest output.</exception>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected int BeginForward(Tensor input, int inFeatures, out ArraySegment<float> values)
    {
        if (input is null)
        {
            ThrowNullInput();
        }
        input.ThrowIfStale();
        if (input.IsOnDevice || IsOnDevice)
        {
            CheckInputDevice(input); // on the CPU both are Device.Cpu: skip the comparison
        }
        ReadOnlySpan<int> shape = input.Shape;
        bool vector = shape.Length == 1 && shape[0] == inFeatures;
        if (!vector && (shape.Length != 2 || shape[1] != inFeatures || shape[0] == 0))
        {
            ThrowInputShape(shape, inFeatures);
        }
        if (ReferenceEquals(input.Producer, this))
        {
            ThrowOwnOutput();
        }
        if (DeviceMovesUnchecked)
        {
            CheckSubmoduleDevices();
        }
        if (!_flat)
        {
            EnsureContiguousParameters();
        }
        // Only an eval-mode forward of a model with a weight large enough to be packed uses the cache; the others
        // (tiny models, every training step) skip its thread-static bookkeeping.
        _enteredPackedCache = _mayPackWeights && !IsTraining;
        if (_enteredPackedCache)
        {
            Kernels.Cpu.PackedWeightCache.Enter(this, inference: true);
        }
        _lastInputWasVector = vector;
        _lastInFeatures = inFeatures;
        _upstream = input.Producer is null ? null : input;
        values = input.Segment;
        return vector ? 1 : shape[0];
    }

    // The errors of BeginForward, out of line so that the JIT inlines its checks into the generated Forward cheaply.
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNullInput() => throw new ArgumentNullException("input");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowInputShape(ReadOnlySpan<int> shape, int inFeatures) =>
        throw new ArgumentException(
            $"{TypeName}.Forward expects an input of shape [batch, {inFeatures}] with batch ≥ 1 (or one row, [{inFeatures}]); got {Tensor.ShapeString(shape)}.",
            "input");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOwnOutput() =>
        throw new ArgumentException(
            $"{TypeName}.Forward got its own latest output as input; the forward pass would overwrite it while reading it. " +
            "Pass a Clone() of it.", "input");

    /// <summary>For generated code: wraps the output buffer as <c>[batch, outFeatures]</c>, valid until the next forward.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected Tensor EndForward(ArraySegment<float> output, int batch, int outFeatures)
    {
        if (_enteredPackedCache)
        {
            Kernels.Cpu.PackedWeightCache.Exit();
            _enteredPackedCache = false;
        }
        if (_lastBatch != batch || _outputShape.Length != (_lastInputWasVector ? 1 : 2))
        {
            _outputShape = _lastInputWasVector ? [outFeatures] : [batch, outFeatures];
            _lastBatch = batch;
        }
        _outputVersion.Value++;
        Tensor? view = _outputView;
        if ((_outputBackpropagated || ReuseOutputView) && view is not null && ReferenceEquals(view.Storage, output.Array) &&
            view.Offset == output.Offset && ReferenceEquals(view.ShapeArray, _outputShape))
        {
            _outputBackpropagated = false;
            view.Restamp(_outputVersion.Value);
            return view;
        }
        _outputBackpropagated = false;
        return _outputView = Tensor.View(output.Array!, output.Offset, _outputShape, _outputVersion, this);
    }

    /// <summary>
    /// Runs the backward pass from the gradient of the loss with respect to <paramref name="output"/>; when
    /// the last forward's input was another model's output (models chained by hand, <c>b.Forward(a.Forward(x))</c>),
    /// continues into that model with the gradient of the input, as PyTorch's autograd does.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// <paramref name="output"/> is not this module's latest output, or a model up the chain has run another
    /// <c>Forward</c> since its output was used, or a model nested in one of them has run another forward pass
    /// since; checked before any gradient is touched.
    /// </exception>
    internal void BackwardFromOutput(Tensor output, ArraySegment<float> gradOutput)
    {
        if (!ReferenceEquals(output.Producer, this) || !output.IsCurrent)
        {
            throw new InvalidOperationException(
                $"Backward needs the output of {TypeName}'s latest Forward; this tensor was overwritten by a later Forward call.");
        }
        for (Module m = this; m._upstream is { } up; m = up.Producer!)
        {
            if (!up.IsCurrent)
            {
                throw new InvalidOperationException(
                    $"Backward cannot continue from {m.TypeName} into {up.Producer!.TypeName}: {m.TypeName}'s input was the output of " +
                    $"{up.Producer.TypeName}, which has run another Forward since, so the values its gradients need are gone. " +
                    $"Run Forward on the models in order and call Backward before running {up.Producer.TypeName} again, " +
                    "or pass a Clone() of its output to stop the gradient there (PyTorch: detach()). No gradient was changed.");
            }
        }
        for (Module? m = this; m is not null; m = m._upstream?.Producer)
        {
            m.ThrowIfNestedForwardsRan();
        }
        BackwardChain(gradOutput);
    }

    private void BackwardChain(ArraySegment<float> gradOutput)
    {
        _outputBackpropagated = true;
        if (IsOnDevice)
        {
            BackwardOnDevice(gradOutput);
            return;
        }
        Tensor? upstream = _upstream;
        if (upstream is null)
        {
            BackwardBatch(gradOutput, default, _lastBatch);
            return;
        }
        int n = _lastBatch * _lastInFeatures;
        _gradInput = Grow(_gradInput, n);
        var gradInput = new ArraySegment<float>(_gradInput, 0, n);
        BackwardBatch(gradOutput, gradInput, _lastBatch);
        upstream.Producer!.BackwardChain(gradInput);
    }

    /// <summary>For generated code: returns <paramref name="buffer"/> if it holds <paramref name="length"/> values, else a new larger array.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected static float[] Grow(float[]? buffer, int length) =>
        buffer is not null && buffer.Length >= length ? buffer : new float[length];
}
