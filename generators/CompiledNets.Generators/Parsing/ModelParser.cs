using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using CompiledNets.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace CompiledNets.Generators.Parsing;

/// <summary>
/// Reads a <c>[Model]</c> class into a <see cref="ModelSpec"/>: its declaration and its <c>[Layer]</c>
/// fields with the constant arguments of their initializers. Reports what cannot be read.
/// </summary>
internal static class ModelParser
{
    public const string ModelAttributeName = "CompiledNets.ModelAttribute";
    public const string LayerAttributeName = "CompiledNets.LayerAttribute";
    private const int MaxNesting = 32;

    public static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var type = (INamedTypeSymbol)context.TargetSymbol;
        var diagnostics = new List<DiagnosticInfo>();
        // Resolve the runtime's types once per compilation, in the assembly of the [Model] attribute just matched.
        _ = KnownTypeSymbols.For(context.SemanticModel.Compilation, context.Attributes.FirstOrDefault()?.AttributeClass);
        var spec = ParseType(type, context.SemanticModel.Compilation, diagnostics, new List<INamedTypeSymbol>(), cancellationToken);
        return new ParseResult(spec, diagnostics.ToEquatableArray());
    }

    private static ModelSpec? ParseType(INamedTypeSymbol type, Compilation compilation, List<DiagnosticInfo> diagnostics,
        List<INamedTypeSymbol> stack, CancellationToken cancellationToken)
    {
        var location = LocationInfo.From(type.Locations.FirstOrDefault());
        var known = KnownTypeSymbols.For(compilation);
        if (!CheckClass(type, location, known, diagnostics))
        {
            return null; // cannot even declare the partial class
        }
        if (!ModelChecks.CheckMembers(type, known, diagnostics))
        {
            return null; // the generated members would clash with the user's
        }
        bool ok = true;
        stack.Add(type);
        var layers = new List<LayerSpec>();
        foreach (var field in type.GetMembers().OfType<IFieldSymbol>())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!KnownTypeSymbols.HasAttribute(field, known.LayerAttribute))
            {
                ModelChecks.CheckFieldWithoutLayer(field, type, known, diagnostics);
                continue;
            }
            var layer = ParseLayer(field, compilation, diagnostics, stack, cancellationToken);
            if (layer is null)
            {
                ok = false;
            }
            else
            {
                layers.Add(layer);
            }
        }
        stack.RemoveAt(stack.Count - 1);
        var containing = new List<string>();
        for (var t = type.ContainingType; t is not null; t = t.ContainingType)
        {
            containing.Insert(0, DeclarationKeyword(t) + " " + t.Name);
        }
        string ns = type.ContainingNamespace.IsGlobalNamespace ? "" : type.ContainingNamespace.ToDisplayString();
        return new ModelSpec(ns, containing.ToEquatableArray(), type.Name,
            type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
            KnownTypeSymbols.Is(type.BaseType, known.Module),
            layers.ToEquatableArray(), location, IsValid: ok);
    }

    private static bool CheckClass(INamedTypeSymbol type, LocationInfo? location, KnownTypeSymbols known, List<DiagnosticInfo> diagnostics)
    {
        bool ok = true;
        for (var t = type; t is not null; t = t.ContainingType)
        {
            bool isPartial = t.DeclaringSyntaxReferences.All(r =>
                r.GetSyntax() is TypeDeclarationSyntax d && d.Modifiers.Any(SyntaxKind.PartialKeyword));
            if (!isPartial)
            {
                diagnostics.Add(DiagnosticInfo.Create("CN0001", LocationInfo.From(t.Locations.FirstOrDefault()), t.Name));
                ok = false;
            }
        }
        string? problem =
            type.TypeParameters.Length > 0 ? "must not be generic" :
            type.ContainingType is { } outer && HasGenericContainer(outer) ? "must not be nested in a generic type" :
            type.IsStatic ? "must not be static" :
            type.IsAbstract ? "must not be abstract" :
            type.IsRecord ? "must be a class, not a record (a model has identity and mutable weights; value equality does not fit)" :
            type.TypeKind != TypeKind.Class ? "must be a class" :
            type.BaseType is { SpecialType: not SpecialType.System_Object } b && !KnownTypeSymbols.Is(b, known.Module)
                ? "must not declare a base class: the generator makes it derive from CompiledNets.Module"
                : null;
        if (problem is not null)
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0009", location, type.Name, problem));
            ok = false;
        }
        return ok;
    }

    private static bool HasGenericContainer(INamedTypeSymbol? type)
    {
        for (; type is not null; type = type.ContainingType)
        {
            if (type.TypeParameters.Length > 0)
            {
                return true;
            }
        }
        return false;
    }

    private static string DeclarationKeyword(INamedTypeSymbol type) =>
        type.IsRecord ? (type.TypeKind == TypeKind.Struct ? "partial record struct" : "partial record")
        : type.TypeKind switch
        {
            TypeKind.Struct => "partial struct",
            TypeKind.Interface => "partial interface",
            _ => "partial class",
        };

    private static LayerSpec? ParseLayer(IFieldSymbol field, Compilation compilation, List<DiagnosticInfo> diagnostics,
        List<INamedTypeSymbol> stack, CancellationToken cancellationToken)
    {
        var declarator = field.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) as VariableDeclaratorSyntax;
        var fieldLocation = LocationInfo.From(field.Locations.FirstOrDefault());
        var fieldType = field.Type as INamedTypeSymbol;
        LayerKind? kind = KnownTypeSymbols.For(compilation).LayerKindOf(field.Type);
        if (kind is null)
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0004", fieldLocation, field.Name, field.Type.ToDisplayString()));
            return null;
        }
        if (field.IsStatic || !field.IsReadOnly)
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0011", fieldLocation, field.Name, field.IsStatic ? "it is static" : "it is not readonly"));
            return null;
        }
        var initializer = declarator?.Initializer?.Value;
        if (initializer is null)
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0005", fieldLocation, field.Name));
            return null;
        }
        var layerLocation = LocationInfo.From(initializer.GetLocation());
        var semanticModel = KnownTypeSymbols.SemanticModelFor(compilation, initializer.SyntaxTree);
        var operation = semanticModel.GetOperation(initializer, cancellationToken);
        while (operation is IConversionOperation conversion)
        {
            operation = conversion.Operand;
        }
        if (operation is IInvalidOperation || operation?.Syntax.ContainsDiagnostics == true)
        {
            return null; // e.g. a misspelled argument name: the compiler's own error says it best
        }
        if (ModelChecks.CheckTiedLayer(operation, field, layerLocation, diagnostics))
        {
            return null;
        }
        if (operation is not IObjectCreationOperation creation)
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0005", layerLocation, field.Name));
            return null;
        }
        var args = new Dictionary<string, object?>();
        var argLocations = new Dictionary<string, LocationInfo?>();
        bool ok = true;
        foreach (var argument in creation.Arguments)
        {
            string name = argument.Parameter?.Name ?? "?";
            var constant = argument.Value.ConstantValue;
            if (!constant.HasValue)
            {
                diagnostics.Add(DiagnosticInfo.Create("CN0003", LocationInfo.From(argument.Syntax.GetLocation()) ?? layerLocation, name, field.Name));
                ok = false;
                continue;
            }
            args[name] = constant.Value;
            if (!argument.IsImplicit)
            {
                argLocations[name] = LocationInfo.From(argument.Syntax.GetLocation());
            }
        }
        if (!ok)
        {
            return null;
        }
        int inFeatures = 0, outFeatures = 0, dim = 0;
        bool bias = true;
        float p = 0f;
        string? modelType = null;
        ModelSpec? nested = null;
        switch (kind.Value)
        {
            case LayerKind.Linear:
                inFeatures = ToInt(args, "inFeatures");
                outFeatures = ToInt(args, "outFeatures");
                bias = !args.TryGetValue("bias", out var b) || b is not bool bb || bb;
                ok &= CheckPositive(inFeatures, "inFeatures", field.Name, ArgumentLocation("inFeatures"), diagnostics);
                ok &= CheckPositive(outFeatures, "outFeatures", field.Name, ArgumentLocation("outFeatures"), diagnostics);
                break;
            case LayerKind.Dropout:
                p = args.TryGetValue("p", out var pv) ? System.Convert.ToSingle(pv, CultureInfo.InvariantCulture) : 0.5f;
                if (!(p >= 0f && p <= 1f))
                {
                    diagnostics.Add(DiagnosticInfo.Create("CN0008", ArgumentLocation("p"), "p", field.Name,
                        p.ToString("R", CultureInfo.InvariantCulture), "a probability between 0 and 1"));
                    ok = false;
                }
                break;
            case LayerKind.Softmax:
                dim = args.TryGetValue("dim", out var dv) ? System.Convert.ToInt32(dv, CultureInfo.InvariantCulture) : 1;
                if (dim is not (1 or -1))
                {
                    diagnostics.Add(DiagnosticInfo.Create("CN0008", ArgumentLocation("dim"), "dim", field.Name,
                        dim.ToString(CultureInfo.InvariantCulture), "1 or -1 (the features of a [batch, features] input)"));
                    ok = false;
                }
                break;
            case LayerKind.Model:
                modelType = fieldType!.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
                if (stack.Count >= MaxNesting || stack.Contains(fieldType!, SymbolEqualityComparer.Default))
                {
                    diagnostics.Add(DiagnosticInfo.Create("CN0010", fieldLocation, field.Name, stack[0].Name));
                    return null;
                }
                if (fieldType!.DeclaringSyntaxReferences.Length > 0)
                {
                    // Declared here: parse it to know its sizes; its own errors are reported on it, not here.
                    nested = ParseType(fieldType, compilation, new List<DiagnosticInfo>(), stack, cancellationToken);
                    if (nested is null || !nested.IsValid)
                    {
                        return null;
                    }
                }
                else
                {
                    // From a referenced assembly: its generated constants give the sizes.
                    if (!ModelChecks.CheckReferencedModelSizes(field, fieldType, fieldLocation, diagnostics))
                    {
                        return null;
                    }
                    inFeatures = ReadConstant(fieldType, "InFeatures");
                    outFeatures = ReadConstant(fieldType, "OutFeatures");
                }
                break;
        }
        return ok
            ? new LayerSpec(field.Name, kind.Value, inFeatures, outFeatures, bias, p, dim, modelType, nested, layerLocation,
                InFeaturesLocation: kind.Value == LayerKind.Linear ? ArgumentLocation("inFeatures") : null)
            : null;

        // An argument written in the source points at itself; a default one at the whole initializer.
        LocationInfo? ArgumentLocation(string parameter) =>
            argLocations.TryGetValue(parameter, out var at) && at is not null ? at : layerLocation;
    }

    private static int ToInt(Dictionary<string, object?> args, string name) =>
        args.TryGetValue(name, out var v) && v is not null ? System.Convert.ToInt32(v, CultureInfo.InvariantCulture) : 0;

    private static int ReadConstant(INamedTypeSymbol type, string name) =>
        type.GetMembers(name).OfType<IFieldSymbol>().FirstOrDefault(f => f.HasConstantValue)?.ConstantValue is int v ? v : 0;

    private static bool CheckPositive(int value, string name, string field, LocationInfo? location, List<DiagnosticInfo> diagnostics)
    {
        if (value >= 1)
        {
            return true;
        }
        diagnostics.Add(DiagnosticInfo.Create("CN0008", location, name, field, value.ToString(CultureInfo.InvariantCulture), "a size of at least 1"));
        return false;
    }
}
