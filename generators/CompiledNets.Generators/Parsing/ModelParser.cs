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
        if (context.TargetNode.SyntaxTree.Options is CSharpParseOptions { LanguageVersion: < LanguageVersion.CSharp11 } options)
        {
            // The generated code declares static abstract interface members (the width types of TinyLinearKernels).
            diagnostics.Add(DiagnosticInfo.Create(Diagnostics.DiagnosticIds.LanguageVersionTooOld, LocationInfo.From(type.Locations.FirstOrDefault()),
                type.Name, options.LanguageVersion.ToDisplayString()));
            return new ParseResult(null, diagnostics.ToEquatableArray());
        }
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
        ForwardSpec? forward = null;
        if (ok)
        {
            forward = ForwardParser.Parse(type, layers, compilation, diagnostics, cancellationToken, out bool forwardOk);
            ok &= forwardOk;
        }
        var containing = new List<string>();
        for (var t = type.ContainingType; t is not null; t = t.ContainingType)
        {
            containing.Insert(0, DeclarationKeyword(t) + " " + t.Name);
        }
        string ns = type.ContainingNamespace.IsGlobalNamespace ? "" : type.ContainingNamespace.ToDisplayString();
        return new ModelSpec(ns, containing.ToEquatableArray(), type.Name,
            type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
            KnownTypeSymbols.Is(type.BaseType, known.Module),
            layers.ToEquatableArray(), location, IsValid: ok, Forward: forward,
            DeclaresForward: type.GetMembers("Forward").OfType<IMethodSymbol>().Any(m => m.Parameters.Length == 1));
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
        bool isArray = field.Type is IArrayTypeSymbol { Rank: 1 };
        var layerType = (isArray ? ((IArrayTypeSymbol)field.Type).ElementType : field.Type) as INamedTypeSymbol;
        LayerKind? kind = layerType is null ? null : KnownTypeSymbols.For(compilation).LayerKindOf(layerType);
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
        var elementAnnotation = isArray ? ((IArrayTypeSymbol)field.Type).ElementNullableAnnotation : NullableAnnotation.None;
        if (field.NullableAnnotation == NullableAnnotation.Annotated || elementAnnotation == NullableAnnotation.Annotated)
        {
            // The generated code dereferences the field (and each element): under <Nullable>enable</Nullable> a '?' would
            // be CS8602 warnings inside the generated file.
            var typeSyntax = (declarator?.Parent as VariableDeclarationSyntax)?.Type;
            string written = typeSyntax?.ToString() ?? field.Type.ToDisplayString();
            string plain = layerType!.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat) + (isArray ? "[]" : "");
            diagnostics.Add(DiagnosticInfo.Create(Diagnostics.DiagnosticIds.NullableLayer,
                LocationInfo.From(typeSyntax?.GetLocation()) ?? fieldLocation, field.Name, written, plain));
            return null;
        }
        var initializer = declarator?.Initializer?.Value;
        if (initializer is null)
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0005", fieldLocation, field.Name));
            return null;
        }
        var semanticModel = KnownTypeSymbols.SemanticModelFor(compilation, initializer.SyntaxTree);
        if (!isArray)
        {
            var operation = semanticModel.GetOperation(initializer, cancellationToken);
            var unwrapped = operation;
            while (unwrapped is IConversionOperation conversion)
            {
                unwrapped = conversion.Operand;
            }
            if (ModelChecks.CheckTiedLayer(unwrapped, field, LocationInfo.From(initializer.GetLocation()), diagnostics))
            {
                return null;
            }
            return ParseCreation(operation, LocationInfo.From(initializer.GetLocation()), field.Name, field.Name, kind.Value, layerType!,
                fieldLocation, compilation, diagnostics, stack, cancellationToken);
        }
        // A layer array (PyTorch's ModuleList): `[new(..), new(..)]` or `new Linear[] { new(..), .. }`.
        var elementSyntax = LayerArrayElements(initializer);
        if (elementSyntax is null)
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0005", LocationInfo.From(initializer.GetLocation()), field.Name));
            return null;
        }
        var elements = new List<LayerSpec>();
        bool ok = true;
        for (int i = 0; i < elementSyntax.Count; i++)
        {
            var element = ParseCreation(ElementOperation(semanticModel, elementSyntax[i], layerType!, cancellationToken), LocationInfo.From(elementSyntax[i].GetLocation()),
                field.Name + "." + i.ToString(CultureInfo.InvariantCulture), field.Name, kind.Value, layerType!, fieldLocation, compilation, diagnostics, stack, cancellationToken);
            ok &= element is not null;
            if (element is not null)
            {
                elements.Add(element);
            }
        }
        if (!ok)
        {
            return null;
        }
        return new LayerSpec(field.Name, kind.Value, 0, 0, false, 0f, 0, elements.FirstOrDefault()?.ModelType, null,
            LocationInfo.From(initializer.GetLocation()), elements.ToEquatableArray(), IsArray: true);
    }

    /// <summary>
    /// The creation operation of one layer-array element. Older Roslyn versions (the generator tests' 4.8) give no
    /// operation for a target-typed <c>new(...)</c> inside a collection expression; it is then rebuilt from the
    /// syntax as the same creation would be bound.
    /// </summary>
    private static object? ElementOperation(SemanticModel model, ExpressionSyntax syntax, INamedTypeSymbol elementType, CancellationToken cancellationToken)
    {
        var operation = model.GetOperation(syntax, cancellationToken);
        var inner = operation;
        while (inner is IConversionOperation conversion)
        {
            inner = conversion.Operand;
        }
        if (inner is IObjectCreationOperation || syntax is not BaseObjectCreationExpressionSyntax creation)
        {
            return operation;
        }
        int count = creation.ArgumentList?.Arguments.Count ?? 0;
        var info = model.GetSymbolInfo(creation, cancellationToken);
        var ctor = info.Symbol as IMethodSymbol ?? info.CandidateSymbols.OfType<IMethodSymbol>().FirstOrDefault()
            ?? elementType.InstanceConstructors.Where(c => c.Parameters.Length >= count).OrderBy(c => c.Parameters.Length).FirstOrDefault();
        if (ctor is null)
        {
            return operation;
        }
        var arguments = new List<(string, Optional<object?>, SyntaxNode)>();
        var list = creation.ArgumentList?.Arguments ?? default;
        for (int i = 0; i < list.Count; i++)
        {
            var a = list[i];
            string name = a.NameColon?.Name.Identifier.ValueText ?? (i < ctor.Parameters.Length ? ctor.Parameters[i].Name : "?");
            arguments.Add((name, model.GetConstantValue(a.Expression, cancellationToken), a));
        }
        return new SyntaxCreation(arguments);
    }

    /// <summary>A layer creation read from syntax (see <see cref="ElementOperation"/>): its arguments, named.</summary>
    private sealed class SyntaxCreation(List<(string Name, Optional<object?> Value, SyntaxNode Syntax)> arguments)
    {
        public List<(string Name, Optional<object?> Value, SyntaxNode Syntax)> Arguments { get; } = arguments;
    }

    /// <summary>The element expressions of a layer array's initializer, or null when it is not a literal list.</summary>
    private static List<ExpressionSyntax>? LayerArrayElements(ExpressionSyntax initializer) => initializer switch
    {
        CollectionExpressionSyntax c when c.Elements.All(e => e is ExpressionElementSyntax) =>
            c.Elements.Cast<ExpressionElementSyntax>().Select(e => e.Expression).ToList(),
        ArrayCreationExpressionSyntax { Initializer: { } init } => init.Expressions.ToList(),
        ImplicitArrayCreationExpressionSyntax { Initializer: { } init } => init.Expressions.ToList(),
        _ => null,
    };

    /// <summary>Reads one <c>new(...)</c> of a layer: its constant arguments, checked.</summary>
    private static LayerSpec? ParseCreation(object? operation, LocationInfo? layerLocation, string layerName, string fieldName, LayerKind kind,
        INamedTypeSymbol fieldType, LocationInfo? fieldLocation, Compilation compilation, List<DiagnosticInfo> diagnostics,
        List<INamedTypeSymbol> stack, CancellationToken cancellationToken)
    {
        while (operation is IConversionOperation conversion)
        {
            operation = conversion.Operand;
        }
        if (operation is IInvalidOperation || (operation as IOperation)?.Syntax.ContainsDiagnostics == true)
        {
            return null; // e.g. a misspelled argument name: the compiler's own error says it best
        }
        var args = new Dictionary<string, object?>();
        var argLocations = new Dictionary<string, LocationInfo?>();
        bool ok = true;
        List<(string Name, Optional<object?> Value, SyntaxNode Syntax, bool Written)> arguments;
        if (operation is SyntaxCreation fromSyntax)
        {
            arguments = fromSyntax.Arguments.Select(a => (a.Name, a.Value, a.Syntax, true)).ToList();
        }
        else if (operation is IObjectCreationOperation creation)
        {
            arguments = creation.Arguments.Select(a => (a.Parameter?.Name ?? "?", a.Value.ConstantValue, a.Syntax, !a.IsImplicit)).ToList();
        }
        else
        {
            diagnostics.Add(DiagnosticInfo.Create("CN0005", layerLocation, fieldName));
            return null;
        }
        foreach (var (name, constant, syntax, written) in arguments)
        {
            if (!constant.HasValue)
            {
                diagnostics.Add(DiagnosticInfo.Create("CN0003", LocationInfo.From(syntax.GetLocation()) ?? layerLocation, name, fieldName));
                ok = false;
                continue;
            }
            args[name] = constant.Value;
            if (written)
            {
                argLocations[name] = LocationInfo.From(syntax.GetLocation());
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
        switch (kind)
        {
            case LayerKind.Linear:
                inFeatures = ToInt(args, "inFeatures");
                outFeatures = ToInt(args, "outFeatures");
                bias = !args.TryGetValue("bias", out var b) || b is not bool bb || bb;
                ok &= CheckPositive(inFeatures, "inFeatures", fieldName, ArgumentLocation("inFeatures"), diagnostics);
                ok &= CheckPositive(outFeatures, "outFeatures", fieldName, ArgumentLocation("outFeatures"), diagnostics);
                break;
            case LayerKind.Dropout:
                p = args.TryGetValue("p", out var pv) ? System.Convert.ToSingle(pv, CultureInfo.InvariantCulture) : 0.5f;
                if (!(p >= 0f && p <= 1f))
                {
                    diagnostics.Add(DiagnosticInfo.Create("CN0008", ArgumentLocation("p"), "p", fieldName,
                        p.ToString("R", CultureInfo.InvariantCulture), "a probability between 0 and 1"));
                    ok = false;
                }
                break;
            case LayerKind.Softmax:
            case LayerKind.LogSoftmax:
                dim = args.TryGetValue("dim", out var dv) ? System.Convert.ToInt32(dv, CultureInfo.InvariantCulture) : 1;
                if (dim is not (1 or -1))
                {
                    diagnostics.Add(DiagnosticInfo.Create("CN0008", ArgumentLocation("dim"), "dim", fieldName,
                        dim.ToString(CultureInfo.InvariantCulture), "1 or -1 (the features of a [batch, features] input)"));
                    ok = false;
                }
                break;
            case LayerKind.Model:
                modelType = fieldType!.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
                if (stack.Count >= MaxNesting || stack.Contains(fieldType!, SymbolEqualityComparer.Default))
                {
                    diagnostics.Add(DiagnosticInfo.Create("CN0010", fieldLocation, fieldName, stack[0].Name));
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
                    if (!ModelChecks.CheckReferencedModelSizes(fieldName, fieldType, fieldLocation, diagnostics))
                    {
                        return null;
                    }
                    inFeatures = ReadConstant(fieldType, "InFeatures");
                    outFeatures = ReadConstant(fieldType, "OutFeatures");
                }
                break;
        }
        return ok
            ? new LayerSpec(layerName, kind, inFeatures, outFeatures, bias, p, dim, modelType, nested, layerLocation,
                InFeaturesLocation: kind == LayerKind.Linear ? ArgumentLocation("inFeatures") : null)
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
