using System.Numerics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace CompiledNets;

/// <summary>
/// Training checkpoints: model, optimizer, epoch, step and random-number-generator states in one
/// safetensors file, so that a resumed run continues bit for bit like one that never stopped
/// (PyTorch: the tutorial's <c>torch.save({'epoch': …, 'model_state_dict': …, 'optimizer_state_dict': …})</c>
/// and <c>resume_from_checkpoint</c>, which lose the RNG state; these do not).
/// </summary>
/// <remarks>
/// <para>The file is plain safetensors that any reader opens: tensors under <c>model.hidden.weight</c>, …,
/// <c>optimizer.state.0.exp_avg</c>, …; in <c>__metadata__</c>: <c>format</c> (<c>compilednets.checkpoint/1</c>),
/// <c>epoch</c>, <c>step</c>, <c>model.type</c>, the optimizer's <c>optimizer.type</c>, <c>optimizer.step</c> and
/// <c>optimizer.param_groups</c> (PyTorch's JSON), and the generator states <c>rng.default</c>
/// (<see cref="Generator.Default"/> of the calling thread: initialisation and dropout), <c>rng.loader</c>
/// (the data loader's shuffling) and <c>rng.module.NAME</c> (a dropout layer with its own generator), each as
/// four hexadecimal words; entries of the caller's <c>metadata</c> are stored under <c>user.KEY</c>; with a learning-rate
/// scheduler, <c>scheduler.type</c> and <c>scheduler.state</c> (its <see cref="LRScheduler.StateDict"/>: PyTorch's keys as JSON).</para>
/// <para>Saving is atomic (see <see cref="SafeTensors.Save"/>): a crash during a save leaves the previous checkpoint intact.</para>
/// </remarks>
/// <example>
/// <code>
/// int start = Checkpoint.TryResume("iris.ckpt", net, opt, loader.Generator, out var info) ? info.NextEpoch : 0;
/// for (int epoch = start; epoch &lt; epochs; epoch++)
/// {
///     // … train one epoch …
///     Checkpoint.Save("iris.ckpt", net, opt, epoch, loader.Generator);
/// }
/// </code>
/// </example>
public static class Checkpoint
{
    /// <summary>The value of the <c>format</c> metadata entry of a checkpoint file.</summary>
    public const string FormatName = "compilednets.checkpoint/1";

    private const string ModelPrefix = "model.";
    private const string OptimizerPrefix = "optimizer.";
    private const string UserPrefix = "user.";
    private const string DefaultRng = "rng.default";
    private const string LoaderRng = "rng.loader";
    private const string ModuleRngPrefix = "rng.module.";
    private const string SchedulerType = "scheduler.type";
    private const string SchedulerState = "scheduler.state";

    /// <summary>Writes a checkpoint atomically to <paramref name="path"/>, replacing any previous one.</summary>
    /// <param name="path">The checkpoint file, e.g. <c>iris.ckpt</c>; its folder must exist.</param>
    /// <param name="model">The model whose parameters are saved (keys <c>model.hidden.weight</c>, …).</param>
    /// <param name="optimizer">The optimizer whose state is saved (keys <c>optimizer.state.0.exp_avg</c>, …); <see langword="null"/> for none.</param>
    /// <param name="epoch">The epoch just completed; <see cref="CheckpointInfo.Epoch"/> gives it back and <see cref="CheckpointInfo.NextEpoch"/> is one more. Default 0.</param>
    /// <param name="loaderGenerator">The generator the data loader shuffles with, if any; its state is saved as <c>rng.loader</c>.</param>
    /// <param name="metadata">Extra string pairs to store (as <c>user.KEY</c>); <see cref="CheckpointInfo.Metadata"/> gives them back.</param>
    /// <param name="scheduler">The learning-rate scheduler whose state is saved (<c>scheduler.type</c>, <c>scheduler.state</c>); <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist (checked before anything is written).</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static void Save(string path, Module model, Optimizer? optimizer = null, int epoch = 0, Generator? loaderGenerator = null,
        IReadOnlyDictionary<string, string>? metadata = null, LRScheduler? scheduler = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var dict = new StateDict();
        var meta = dict.Metadata;
        meta["format"] = FormatName;
        meta["epoch"] = epoch.ToString(CultureInfo.InvariantCulture);
        meta["step"] = (optimizer?.StepCount ?? 0).ToString(CultureInfo.InvariantCulture);
        meta["model.type"] = model.ModuleTypeName;
        foreach (var (key, tensor) in model.StateDict())
        {
            dict.Add(ModelPrefix + key, tensor);
        }
        if (optimizer is not null)
        {
            var state = optimizer.StateDict();
            foreach (var (key, value) in state.Metadata)
            {
                meta[OptimizerPrefix + key] = value;
            }
            foreach (var (key, tensor) in state)
            {
                dict.Add(OptimizerPrefix + key, tensor);
            }
        }
        if (scheduler is not null)
        {
            var state = scheduler.StateDict();
            meta[SchedulerType] = state.Metadata["type"];
            meta[SchedulerState] = state.Metadata["state"];
        }
        meta[DefaultRng] = FormatState(Generator.Default);
        if (loaderGenerator is not null)
        {
            meta[LoaderRng] = FormatState(loaderGenerator);
        }
        foreach (var (name, generator) in ModuleGenerators(model))
        {
            meta[ModuleRngPrefix + name] = FormatState(generator);
        }
        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
            {
                meta[UserPrefix + key] = value ?? throw new ArgumentException($"Metadata entry '{key}' is null.", nameof(metadata));
            }
        }
        SafeTensors.Save(path, dict);
    }

    /// <summary>
    /// Restores a checkpoint written by <see cref="Save"/> if <paramref name="path"/> exists: the model's
    /// parameters, the optimizer's state, <see cref="Generator.Default"/> of the calling thread, the loader's
    /// generator and any dropout layer's own generator. The file is validated completely, and checked
    /// against the model, the optimizer and the generators given, before anything is changed: on an
    /// exception nothing is.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="model">The model to restore; its parameter keys and shapes must match the checkpoint's exactly.</param>
    /// <param name="optimizer">The optimizer to restore, of the type and hyper-parameters saved; <see langword="null"/> to restore the model only.</param>
    /// <param name="loaderGenerator">The data loader's generator to restore; <see langword="null"/> if none was saved or wanted.</param>
    /// <param name="info">The epoch, step and metadata saved; <see langword="null"/> when there is no file.</param>
    /// <returns><see langword="true"/> if the checkpoint was restored; <see langword="false"/> if there is no file at <paramref name="path"/>.</returns>
    /// <exception cref="SafeTensorsFormatException">The file is not valid safetensors (truncated, bad header, bad offsets, …).</exception>
    /// <exception cref="InvalidDataException">
    /// The file is valid safetensors but not a CompiledNets checkpoint (no <c>format</c> entry, or a malformed
    /// <c>epoch</c>, <c>step</c> or generator state).
    /// </exception>
    /// <exception cref="ArgumentException">
    /// The checkpoint does not fit: another model (missing, unexpected or differently shaped keys), another
    /// optimizer type or hyper-parameters, no optimizer state or loader generator state although one was
    /// given; the message lists every problem and names the path. <see cref="ArgumentException.ParamName"/> is the
    /// first argument that does not fit: <c>model</c>, <c>optimizer</c>, <c>loaderGenerator</c> (or <c>path</c> for stray keys).
    /// </exception>
    public static bool TryResume(string path, Module model, Optimizer? optimizer, Generator? loaderGenerator,
        [NotNullWhen(true)] out CheckpointInfo? info) =>
        TryResume(path, model, optimizer, null, loaderGenerator, out info);

    /// <summary>
    /// As <see cref="TryResume(string, Module, Optimizer?, Generator?, out CheckpointInfo?)"/>, also restoring a learning-rate
    /// scheduler (its step count, rates and state; the optimizer's rate and cycled momentum follow), so that a resumed run with a
    /// scheduler continues bit for bit.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="model">The model to restore.</param>
    /// <param name="optimizer">The optimizer to restore, or <see langword="null"/>.</param>
    /// <param name="scheduler">The scheduler to restore (of the type and hyper-parameters saved), or <see langword="null"/>.</param>
    /// <param name="loaderGenerator">The data loader's generator to restore, or <see langword="null"/>.</param>
    /// <param name="info">The epoch, step and metadata saved; <see langword="null"/> when there is no file.</param>
    /// <returns><see langword="true"/> if the checkpoint was restored; <see langword="false"/> if there is no file.</returns>
    /// <exception cref="ArgumentException">As the other overload; also a scheduler given but none saved, or another type or hyper-parameters (<c>scheduler</c>).</exception>
    /// <exception cref="SafeTensorsFormatException">The file is not valid safetensors.</exception>
    /// <exception cref="InvalidDataException">The file is not a CompiledNets checkpoint.</exception>
    public static bool TryResume(string path, Module model, Optimizer? optimizer, LRScheduler? scheduler, Generator? loaderGenerator,
        [NotNullWhen(true)] out CheckpointInfo? info)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        info = null;
        if (!File.Exists(path))
        {
            return false;
        }
        var dict = SafeTensors.Load(path);
        var meta = dict.Metadata;
        if (!meta.TryGetValue("format", out string? format) || format != FormatName)
        {
            throw NotACheckpoint(path, format is null
                ? "its __metadata__ has no 'format' entry (a plain state dict loads with StateDict.Load)"
                : $"its format is '{format}', expected '{FormatName}'");
        }
        int epoch = ParseNumber(path, meta, "epoch", int.MaxValue);
        long step = ParseNumber(path, meta, "step", long.MaxValue);
        ulong[] defaultState = ParseState(path, meta, DefaultRng)
            ?? throw NotACheckpoint(path, $"its __metadata__ has no '{DefaultRng}' entry");
        ulong[]? loaderState = ParseState(path, meta, LoaderRng);
        var moduleStates = ModuleGenerators(model).Select(m => (m.Generator, m.Name, State: ParseState(path, meta, ModuleRngPrefix + m.Name))).ToList();

        var modelDict = new StateDict { SourcePath = path };
        var optimizerDict = new StateDict { SourcePath = path };
        var problems = new List<string>();
        foreach (var (key, tensor) in dict)
        {
            if (key.StartsWith(ModelPrefix, StringComparison.Ordinal))
            {
                modelDict.Add(key[ModelPrefix.Length..], tensor);
            }
            else if (key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
            {
                optimizerDict.Add(key[OptimizerPrefix.Length..], tensor);
            }
            else
            {
                problems.Add($"unexpected key: {key}");
            }
        }
        foreach (var (key, value) in meta)
        {
            if (key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
            {
                optimizerDict.Metadata[key[OptimizerPrefix.Length..]] = value;
            }
        }

        // The argument the exception names: the first one that does not fit (the file's own stray keys: the path).
        string? culprit = problems.Count > 0 ? nameof(path) : null;
        model.CheckStateDict(modelDict, strict: true, out var modelProblems);
        problems.AddRange(modelProblems.Select(p => "model: " + p));
        culprit ??= modelProblems.Count > 0 ? nameof(model) : null;
        Optimizer.LoadedScalars loaded = default;
        if (optimizer is not null)
        {
            int before = problems.Count;
            if (!optimizerDict.Metadata.ContainsKey("type"))
            {
                problems.Add("the checkpoint has no optimizer state (it was saved without an optimizer)");
            }
            else
            {
                problems.AddRange(optimizer.CheckStateDict(optimizerDict, out loaded).Select(p => "optimizer: " + p));
            }
            culprit ??= problems.Count > before ? nameof(optimizer) : null;
        }
        Action? applyScheduler = null;
        if (scheduler is not null)
        {
            int before = problems.Count;
            if (!meta.TryGetValue(SchedulerType, out string? schedulerType))
            {
                problems.Add("the checkpoint has no scheduler state (it was saved without a scheduler)");
            }
            else
            {
                var schedulerProblems = new List<string>();
                applyScheduler = scheduler.CheckState(schedulerType, meta.TryGetValue(SchedulerState, out string? s) ? s : null, schedulerProblems);
                problems.AddRange(schedulerProblems.Select(p => "scheduler: " + p));
            }
            culprit ??= problems.Count > before ? nameof(scheduler) : null;
        }
        if (loaderGenerator is not null && loaderState is null)
        {
            problems.Add($"the checkpoint has no data loader generator state ('{LoaderRng}') although a loader generator was given");
            culprit ??= nameof(loaderGenerator);
        }
        foreach (var (_, name, state) in moduleStates.Where(m => m.State is null))
        {
            problems.Add($"the checkpoint has no state for the generator of dropout layer '{name}' ('{ModuleRngPrefix}{name}')");
        }
        if (problems.Count > 0)
        {
            string savedType = meta.TryGetValue("model.type", out string? t) ? t : "an unknown model";
            throw new ArgumentException(
                $"Cannot resume {model.ModuleTypeName} from '{path}' (a checkpoint of {savedType}):\n  " + string.Join("\n  ", problems),
                culprit ?? nameof(model));
        }

        model.CopyStateDict(modelDict);
        optimizer?.CopyStateDict(optimizerDict, loaded);
        applyScheduler?.Invoke();
        Generator.Default.SetState(defaultState);
        if (loaderGenerator is not null)
        {
            loaderGenerator.SetState(loaderState!);
        }
        foreach (var (generator, _, state) in moduleStates)
        {
            generator.SetState(state!);
        }
        var user = meta.Where(kv => kv.Key.StartsWith(UserPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[UserPrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        info = new CheckpointInfo(path, epoch, step, user);
        return true;
    }

    private static InvalidDataException NotACheckpoint(string path, string problem) =>
        new($"'{path}' is a safetensors file but not a valid CompiledNets checkpoint: {problem}");

    private static IEnumerable<(string Name, Generator Generator)> ModuleGenerators(Module model) =>
        model.NamedModules()
            .Where(m => m.Module is Dropout { ExplicitGenerator: not null })
            .Select(m => (m.Name, ((Dropout)m.Module).ExplicitGenerator!));

    internal static string FormatState(Generator generator) =>
        string.Join(",", generator.GetState().Select(w => w.ToString("x16", CultureInfo.InvariantCulture)));

    private static ulong[]? ParseState(string path, IDictionary<string, string> meta, string key)
    {
        if (!meta.TryGetValue(key, out string? text))
        {
            return null;
        }
        string[] words = text.Split(',');
        var state = new ulong[words.Length];
        for (int i = 0; i < words.Length; i++)
        {
            if (!ulong.TryParse(words[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out state[i]))
            {
                words = [];
                break;
            }
        }
        if (words.Length != 4 || state.All(w => w == 0))
        {
            throw NotACheckpoint(path, $"__metadata__ '{key}' is '{text}', expected four hexadecimal words separated by commas, not all zero");
        }
        return state;
    }

    private static T ParseNumber<T>(string path, IDictionary<string, string> meta, string key, T max)
        where T : IBinaryInteger<T>
    {
        if (!meta.TryGetValue(key, out string? text) || !T.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out T? value) || value > max)
        {
            throw NotACheckpoint(path, $"__metadata__ '{key}' is {(text is null ? "missing" : $"'{text}'")}, expected a non-negative integer");
        }
        return value;
    }
}

/// <summary>What <see cref="Checkpoint.TryResume(string, Module, Optimizer?, Generator?, out CheckpointInfo?)"/> read besides the tensors.</summary>
/// <param name="Path">The checkpoint file.</param>
/// <param name="Epoch">The <c>epoch</c> given to <see cref="Checkpoint.Save"/>: the epoch completed before saving.</param>
/// <param name="Step">The optimizer's step count when saved (0 without an optimizer).</param>
/// <param name="Metadata">The caller's metadata given to <see cref="Checkpoint.Save"/>.</param>
public sealed record CheckpointInfo(string Path, int Epoch, long Step, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The epoch to continue with: <see cref="Epoch"/> + 1.</summary>
    public int NextEpoch => Epoch + 1;
}
