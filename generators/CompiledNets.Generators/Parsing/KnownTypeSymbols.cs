using System.Runtime.CompilerServices;
using CompiledNets.Generators.Model;
using Microsoft.CodeAnalysis;

namespace CompiledNets.Generators.Parsing;

/// <summary>
/// The runtime's types as symbols, resolved by metadata name once per compilation (as System.Text.Json's
/// generator does), so the parser compares symbols instead of display strings. Never cached in a
/// pipeline value: it is looked up from the compilation each time a transform runs.
/// </summary>
internal sealed class KnownTypeSymbols
{
    private static readonly ConditionalWeakTable<Compilation, KnownTypeSymbols> s_cache = new();

    private KnownTypeSymbols(Compilation compilation)
    {
        ModelAttribute = compilation.GetTypeByMetadataName("CompiledNets.ModelAttribute");
        LayerAttribute = compilation.GetTypeByMetadataName("CompiledNets.LayerAttribute");
        Module = compilation.GetTypeByMetadataName("CompiledNets.Module");
        Linear = compilation.GetTypeByMetadataName("CompiledNets.Linear");
        ReLU = compilation.GetTypeByMetadataName("CompiledNets.ReLU");
        Dropout = compilation.GetTypeByMetadataName("CompiledNets.Dropout");
        Sigmoid = compilation.GetTypeByMetadataName("CompiledNets.Sigmoid");
        Tanh = compilation.GetTypeByMetadataName("CompiledNets.Tanh");
        Softmax = compilation.GetTypeByMetadataName("CompiledNets.Softmax");
    }

    /// <summary>The symbols of <paramref name="compilation"/>, resolved on first use.</summary>
    public static KnownTypeSymbols For(Compilation compilation) =>
        s_cache.GetValue(compilation, static c => new KnownTypeSymbols(c));

    public INamedTypeSymbol? ModelAttribute { get; }
    public INamedTypeSymbol? LayerAttribute { get; }
    public INamedTypeSymbol? Module { get; }
    public INamedTypeSymbol? Linear { get; }
    public INamedTypeSymbol? ReLU { get; }
    public INamedTypeSymbol? Dropout { get; }
    public INamedTypeSymbol? Sigmoid { get; }
    public INamedTypeSymbol? Tanh { get; }
    public INamedTypeSymbol? Softmax { get; }

    /// <summary>Whether <paramref name="type"/> is <paramref name="known"/> (false when the runtime is not referenced).</summary>
    public static bool Is(ITypeSymbol? type, INamedTypeSymbol? known) =>
        known is not null && SymbolEqualityComparer.Default.Equals(type?.OriginalDefinition, known);

    /// <summary>Whether <paramref name="symbol"/> carries the attribute <paramref name="attribute"/>.</summary>
    public static bool HasAttribute(ISymbol symbol, INamedTypeSymbol? attribute)
    {
        if (attribute is null)
        {
            return false;
        }
        foreach (var a in symbol.GetAttributes())
        {
            if (SymbolEqualityComparer.Default.Equals(a.AttributeClass, attribute))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The layer kind of a built-in layer type, a <c>[Model]</c> type, or null.</summary>
    public LayerKind? LayerKindOf(ITypeSymbol type) =>
        Is(type, Linear) ? LayerKind.Linear
        : Is(type, ReLU) ? LayerKind.ReLU
        : Is(type, Dropout) ? LayerKind.Dropout
        : Is(type, Sigmoid) ? LayerKind.Sigmoid
        : Is(type, Tanh) ? LayerKind.Tanh
        : Is(type, Softmax) ? LayerKind.Softmax
        : HasAttribute(type, ModelAttribute) ? LayerKind.Model
        : null;

    /// <summary>Whether <paramref name="type"/> is a module: derives from <c>CompiledNets.Module</c> or is a <c>[Model]</c>.</summary>
    public bool IsModule(ITypeSymbol type)
    {
        if (Is(type, Module) || HasAttribute(type, ModelAttribute))
        {
            return true;
        }
        for (var t = type.BaseType; t is not null; t = t.BaseType)
        {
            if (Is(t, Module))
            {
                return true;
            }
        }
        return false;
    }
}
