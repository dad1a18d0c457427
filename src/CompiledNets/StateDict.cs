using System.Collections;

namespace CompiledNets;

/// <summary>
/// An ordered map from PyTorch-style keys (<c>hidden.weight</c>, <c>out.bias</c>) to tensors
/// (PyTorch: the <c>OrderedDict</c> that <c>state_dict()</c> returns).
/// </summary>
public sealed class StateDict : IEnumerable<KeyValuePair<string, Tensor>>
{
    private readonly OrderedDictionary<string, Tensor> _entries = new(StringComparer.Ordinal);

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
public sealed record LoadStateDictResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
