using System.Collections;

namespace CompiledNets;

/// <summary>
/// An ordered map from PyTorch-style keys (<c>hidden.weight</c>, <c>out.bias</c>) to tensors
/// (PyTorch: the <c>OrderedDict</c> that <c>state_dict()</c> returns).
/// </summary>
public sealed class StateDict : IEnumerable<KeyValuePair<string, Tensor>>
{
    private readonly OrderedDictionary<string, Tensor> _entries = new(StringComparer.Ordinal);

    /// <summary>
    /// Free-form string pairs saved with the tensors: the <c>__metadata__</c> map of a safetensors file
    /// (PyTorch: the <c>metadata</c> argument of <c>safetensors.torch.save_file</c>). Empty by default.
    /// </summary>
    public IDictionary<string, string> Metadata { get; } = new OrderedDictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The file this state dict was loaded from, for error messages; <see langword="null"/> if built in memory.</summary>
    internal string? SourcePath { get; init; }

    /// <summary>
    /// Saves the tensors and <see cref="Metadata"/> to a safetensors file, atomically (see <see cref="SafeTensors.Save"/>)
    /// (PyTorch: <c>safetensors.torch.save_file(state_dict, path)</c>).
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <exception cref="ArgumentException">A key is empty or <c>__metadata__</c>.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist (checked before anything is written).</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Save(string path) => SafeTensors.Save(path, this);

    /// <summary>
    /// Loads a safetensors file, validating it fully first (see <see cref="SafeTensors.Load"/>)
    /// (PyTorch: <c>safetensors.torch.load_file(path)</c>). Pass the result to <see cref="Module.LoadStateDict"/>.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <exception cref="SafeTensorsFormatException">
    /// The file is malformed, or is not a safetensors file; the message names the problem and the path, and for a file of
    /// another kind — a <c>torch.save</c> checkpoint (zip or legacy pickle), a NumPy <c>.npy</c>, text — says so and how to
    /// convert it (<c>safetensors.torch.save_file</c>).
    /// </exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static StateDict Load(string path) => SafeTensors.Load(path);

    /// <summary>The number of entries.</summary>
    public int Count => _entries.Count;

    /// <summary>The keys, in insertion order.</summary>
    public IEnumerable<string> Keys => _entries.Keys;

    /// <summary>The tensor stored under <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">No entry has that key; the message lists the keys there are.</exception>
    public Tensor this[string key]
    {
        get => _entries.TryGetValue(key, out var t)
            ? t
            : throw new KeyNotFoundException($"No entry '{key}' in the state dict; its keys are: {string.Join(", ", _entries.Keys)}.");
        set => _entries[key] = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Adds an entry.</summary>
    /// <exception cref="ArgumentException">The key is already there.</exception>
    public void Add(string key, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_entries.TryAdd(key, tensor))
        {
            throw new ArgumentException($"The state dict already has an entry '{key}'.", nameof(key));
        }
    }

    /// <summary>Whether an entry has the key.</summary>
    public bool ContainsKey(string key) => _entries.ContainsKey(key);

    /// <summary>Looks up an entry.</summary>
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Tensor tensor)
        => _entries.TryGetValue(key, out tensor);

    /// <summary>Removes an entry; returns whether it was there.</summary>
    public bool Remove(string key) => _entries.Remove(key);

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// What a non-strict <see cref="Module.LoadStateDict"/> could not match (PyTorch: the
/// <c>_IncompatibleKeys</c> named tuple).
/// </summary>
/// <param name="MissingKeys">Keys the model has that the state dict lacked (left unchanged).</param>
/// <param name="UnexpectedKeys">Keys in the state dict that the model does not have (ignored).</param>
public sealed record LoadStateDictResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys)
{
    /// <summary>
    /// PyTorch's text: <c>&lt;All keys matched successfully&gt;</c> when both lists are empty, else
    /// <c>_IncompatibleKeys(missing_keys=['a', 'b'], unexpected_keys=['c'])</c>.
    /// </summary>
    public override string ToString() =>
        MissingKeys.Count == 0 && UnexpectedKeys.Count == 0
            ? "<All keys matched successfully>"
            : $"_IncompatibleKeys(missing_keys={PythonList(MissingKeys)}, unexpected_keys={PythonList(UnexpectedKeys)})";

    private static string PythonList(IReadOnlyList<string> keys) =>
        "[" + string.Join(", ", keys.Select(k => "'" + k.Replace("\\", "\\\\").Replace("'", "\\'") + "'")) + "]";
}
