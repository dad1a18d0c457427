using System.Text;

namespace CompiledNets;

/// <summary>
/// The modules of a <c>[Layer]</c> array field, as a child of the model (PyTorch: <c>nn.ModuleList</c>): keys
/// <c>blocks.0.weight</c>, <c>blocks.1.weight</c>, …; printed as PyTorch prints a <c>ModuleList</c>, with runs of
/// identical modules folded into one line (<c>(0-2): 3 x Linear(…)</c>). The generated model creates it; the array
/// field itself is what a <c>[Forward]</c> method loops over.
/// </summary>
public sealed class ModuleList : Module
{
    private readonly Module[] _modules;

    /// <summary>Wraps <paramref name="modules"/> (not copied: the model's array field).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="modules"/> or one of its elements is null.</exception>
    public ModuleList(Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules)
        {
            ArgumentNullException.ThrowIfNull(m, nameof(modules));
        }
        _modules = modules;
    }

    /// <summary>The number of modules (PyTorch: <c>len(module_list)</c>).</summary>
    public int Count => _modules.Length;

    /// <summary>The module at <paramref name="index"/>.</summary>
    public Module this[int index] => _modules[index];

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Module Module)> DeclareChildren() =>
        _modules.Select((m, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), m));

    /// <summary>PyTorch's <c>ModuleList</c> layout: consecutive modules that print alike share one line, <c>(0-2): 3 x …</c>.</summary>
    public override string ToString()
    {
        if (_modules.Length == 0)
        {
            return "ModuleList()";
        }
        var sb = new StringBuilder("ModuleList(");
        for (int start = 0; start < _modules.Length;)
        {
            string text = _modules[start].ToString();
            int end = start + 1;
            while (end < _modules.Length && _modules[end].ToString() == text)
            {
                end++;
            }
            string label = end - start == 1 ? $"({start}): " : $"({start}-{end - 1}): {end - start} x ";
            sb.Append("\n  ").Append(label).Append(text.Replace("\n", "\n  "));
            start = end;
        }
        return sb.Append("\n)").ToString();
    }
}
