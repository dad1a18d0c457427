using System.Collections.Generic;
using System.Linq;
using CompiledNets.Generators.Diagnostics;
using CompiledNets.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace CompiledNets.Generators.Parsing;

/// <summary>
/// Checks for user mistakes that would otherwise pass silently or surface as compiler errors inside
/// generated files (CN0030–CN0035). Kept apart from <see cref="ModelParser"/>, which calls them.
/// </summary>
internal static class ModelChecks
{
    /// <summary>Members every generated model declares (keep in step with the emitter).</summary>
    private static readonly HashSet<string> s_generatedMembers =
    [
        "InFeatures", "OutFeatures", "Forward", "ForwardBatch", "BackwardBatch", "DeclareChildren", "Train", "Eval", "EnsureBuffers",
        "ThrowIfNestedForwardsRan", "ForwardBatchDevice", "BackwardBatchDevice", "DeviceUnsupportedOperation", "To",
        "RefreshFreezing", "_capacity", "_x", "_s", "_dx", "_freezingEpoch",
    ];

    /// <summary>
    /// The emitter's numbered members: <c>_a0</c>, <c>_g0</c>, <c>_m0</c>, <c>_n0</c>, <c>_r0</c> (activations, gradients,
    /// dropout masks, nested models' outputs and forward counts), <c>_dn0</c> (nested models' device outputs),
    /// <c>_training1</c>, <c>_frozenBefore2</c> (cached frozen-layer checks) and the width types <c>__W4</c>.
    /// </summary>
    private static bool IsGeneratedField(string name)
    {
        foreach (string prefix in s_numberedPrefixes)
        {
            if (name.Length > prefix.Length && name.StartsWith(prefix, System.StringComparison.Ordinal) && AllDigits(name, prefix.Length))
            {
                return true;
            }
        }
        return false;
    }

    private static readonly string[] s_numberedPrefixes = ["_a", "_g", "_m", "_n", "_r", "_dn", "_training", "_frozenBefore", "__W"];

    private static bool AllDigits(string name, int start)
    {
        for (int i = start; i < name.Length; i++)
        {
            if (name[i] is < '0' or > '9')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// CN0030: a field of a module type without <c>[Layer]</c> (PyTorch would register it; here it would be dropped).
    /// </summary>
    public static void CheckFieldWithoutLayer(IFieldSymbol field, INamedTypeSymbol model, KnownTypeSymbols known, List<DiagnosticInfo> diagnostics)
    {
        if (field.IsImplicitlyDeclared || field.IsStatic || field.Type is not INamedTypeSymbol type || !known.IsModule(type))
        {
            return;
        }
        diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.FieldWithoutLayer, LocationInfo.From(field.Locations.FirstOrDefault()),
            field.Name, model.Name, type.Name));
    }

    /// <summary>
    /// CN0033: members of the model named like a member the generator writes (which would be a CS0102/CS0111
    /// inside the generated file), and layer fields named like a member of <c>CompiledNets.Module</c>.
    /// CN0035: auto-properties of a module type (left out of the model like a field without <c>[Layer]</c>).
    /// </summary>
    /// <returns>False when a name clashes: the model is not generated.</returns>
    public static bool CheckMembers(INamedTypeSymbol model, KnownTypeSymbols known, List<DiagnosticInfo> diagnostics)
    {
        bool ok = true;
        foreach (var member in model.GetMembers())
        {
            if (member.IsImplicitlyDeclared || member.DeclaringSyntaxReferences.Length == 0 || member is IMethodSymbol { MethodKind: not MethodKind.Ordinary })
            {
                continue;
            }
            if (member is IMethodSymbol { Name: "Forward" } forwardMethod
                && forwardMethod.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == ForwardParser.ForwardAttributeName))
            {
                continue; // a [Forward] method named Forward: CN0014 says so, and the stub leaves Forward to it
            }
            if (member is IPropertySymbol { IsStatic: false, Type: INamedTypeSymbol propertyType } property && IsAutoProperty(property) && known.IsModule(propertyType))
            {
                string fieldName = char.ToLowerInvariant(property.Name[0]) + property.Name.Substring(1);
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.LayerProperty, LocationInfo.From(property.Locations.FirstOrDefault()),
                    property.Name, model.Name, propertyType.Name, fieldName));
            }
            string? clash = null;
            if (s_generatedMembers.Contains(member.Name) || IsGeneratedField(member.Name))
            {
                clash = "the generated member '" + member.Name + "'";
            }
            else if (known.ModuleMemberNames.Contains(member.Name) && member is IFieldSymbol field && KnownTypeSymbols.HasAttribute(field, known.LayerAttribute))
            {
                clash = "the member 'Module." + member.Name + "' that every model inherits";
            }
            if (clash is null)
            {
                continue;
            }
            string kind = member switch
            {
                IFieldSymbol f when KnownTypeSymbols.HasAttribute(f, known.LayerAttribute) => "layer",
                IFieldSymbol => "field",
                IPropertySymbol => "property",
                IMethodSymbol => "method",
                IEventSymbol => "event",
                _ => "type",
            };
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.ReservedMemberName, LocationInfo.From(member.Locations.FirstOrDefault()),
                kind, member.Name, model.Name, clash));
            ok = false;
        }
        return ok;
    }

    /// <summary>An auto-property: every accessor without a body (a property that exposes a layer field has one).</summary>
    private static bool IsAutoProperty(IPropertySymbol property) =>
        property.DeclaringSyntaxReferences.Length == 1
        && property.DeclaringSyntaxReferences[0].GetSyntax() is Microsoft.CodeAnalysis.CSharp.Syntax.PropertyDeclarationSyntax { AccessorList: { } accessors }
        && accessors.Accessors.All(a => a.Body is null && a.ExpressionBody is null);

    /// <summary>CN0032: a layer initialised with another field (weight tying), e.g. <c>[Layer] readonly Linear b = a;</c>.</summary>
    /// <returns>True when reported.</returns>
    public static bool CheckTiedLayer(IOperation? initializer, IFieldSymbol field, LocationInfo? location, List<DiagnosticInfo> diagnostics)
    {
        if (initializer is not IFieldReferenceOperation reference || reference.Field.IsStatic)
        {
            return false;
        }
        diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.TiedLayer, location, field.Name, reference.Field.Name));
        return true;
    }

    /// <summary>CN0034: a nested model from a referenced assembly without its generated size constants.</summary>
    /// <returns>False when reported.</returns>
    public static bool CheckReferencedModelSizes(string fieldName, INamedTypeSymbol modelType, LocationInfo? location, List<DiagnosticInfo> diagnostics)
    {
        static bool HasConstant(INamedTypeSymbol type, string name) =>
            type.GetMembers(name).OfType<IFieldSymbol>().Any(f => f.HasConstantValue && f.ConstantValue is int v && v > 0);
        if (HasConstant(modelType, "InFeatures") && HasConstant(modelType, "OutFeatures"))
        {
            return true;
        }
        diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.NestedModelWithoutSizes, location, fieldName,
            modelType.ToDisplayString(), modelType.ContainingAssembly?.Name ?? "?"));
        return false;
    }

    /// <summary>CN0031: <c>[Layer]</c> on a field whose type is not a <c>[Model]</c>.</summary>
    public static EquatableArray<DiagnosticInfo> CheckLayerOutsideModel(GeneratorAttributeSyntaxContext context)
    {
        if (context.TargetSymbol is not IFieldSymbol { ContainingType: { } owner } field)
        {
            return EquatableArray<DiagnosticInfo>.Empty;
        }
        var known = KnownTypeSymbols.For(context.SemanticModel.Compilation, context.Attributes.FirstOrDefault()?.AttributeClass);
        if (KnownTypeSymbols.HasAttribute(owner, known.ModelAttribute))
        {
            return EquatableArray<DiagnosticInfo>.Empty;
        }
        return new[] { DiagnosticInfo.Create(DiagnosticIds.LayerOutsideModel, LocationInfo.From(field.Locations.FirstOrDefault()), field.Name, owner.Name) }
            .ToEquatableArray();
    }
}
