using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
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

    private static readonly ConditionalWeakTable<Compilation, ConcurrentDictionary<SyntaxTree, SemanticModel>> s_models = new();

    private KnownTypeSymbols(Compilation compilation, IAssemblySymbol? runtime)
    {
        // All runtime types live in the assembly that defines the attributes: look there only, instead of
        // searching every reference for each name (which also fails when two references define a name).
        INamedTypeSymbol? Get(string name) => runtime is not null ? runtime.GetTypeByMetadataName(name) : compilation.GetTypeByMetadataName(name);
        ModelAttribute = Get("CompiledNets.ModelAttribute");
        runtime ??= ModelAttribute?.ContainingAssembly;
        LayerAttribute = Get("CompiledNets.LayerAttribute");
        Module = Get("CompiledNets.Module");
        Linear = Get("CompiledNets.Linear");
        ReLU = Get("CompiledNets.ReLU");
        Dropout = Get("CompiledNets.Dropout");
        Sigmoid = Get("CompiledNets.Sigmoid");
        Tanh = Get("CompiledNets.Tanh");
        Softmax = Get("CompiledNets.Softmax");
        LogSoftmax = Get("CompiledNets.LogSoftmax");
        ModuleMemberNames = Module is null ? new HashSet<string>() : new HashSet<string>(Module.GetMembers()
            .Where(m => m.DeclaredAccessibility is not Accessibility.Private && !m.IsImplicitlyDeclared)
            .Select(m => m.Name));
    }

    /// <summary>The symbols of <paramref name="compilation"/>, resolved on first use.</summary>
    /// <param name="compilation">The compilation.</param>
    /// <param name="attribute">An attribute class of the runtime at hand (the <c>[Model]</c> the pipeline matched), whose assembly holds the other types.</param>
    public static KnownTypeSymbols For(Compilation compilation, INamedTypeSymbol? attribute = null) =>
        s_cache.GetValue(compilation, c => new KnownTypeSymbols(c, attribute?.ContainingAssembly));

    /// <summary>
    /// One semantic model per syntax tree and compilation: binding a model's layer initializers through one
    /// model shares its binder caches instead of building a new semantic model per layer.
    /// </summary>
    public static SemanticModel SemanticModelFor(Compilation compilation, SyntaxTree tree) =>
        s_models.GetValue(compilation, static _ => new ConcurrentDictionary<SyntaxTree, SemanticModel>())
            .GetOrAdd(tree, t => compilation.GetSemanticModel(t));

    /// <summary>Names of the public and protected members of <c>CompiledNets.Module</c>.</summary>
    public HashSet<string> ModuleMemberNames { get; }

    public INamedTypeSymbol? ModelAttribute { get; }
    public INamedTypeSymbol? LayerAttribute { get; }
    public INamedTypeSymbol? Module { get; }
    public INamedTypeSymbol? Linear { get; }
    public INamedTypeSymbol? ReLU { get; }
    public INamedTypeSymbol? Dropout { get; }
    public INamedTypeSymbol? Sigmoid { get; }
    public INamedTypeSymbol? Tanh { get; }
    public INamedTypeSymbol? Softmax { get; }
    public INamedTypeSymbol? LogSoftmax { get; }

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
        : Is(type, LogSoftmax) ? LayerKind.LogSoftmax
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
