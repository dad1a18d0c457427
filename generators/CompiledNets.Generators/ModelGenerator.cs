using CompiledNets.Generators.Diagnostics;
using CompiledNets.Generators.Emitting;
using CompiledNets.Generators.Model;
using CompiledNets.Generators.Parsing;
using CompiledNets.Generators.Planning;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace CompiledNets.Generators;

/// <summary>
/// The CompiledNets source generator: for each <c>[Model]</c> class, parse → plan → emit its forward
/// and backward passes. This file only wires the incremental pipeline.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ModelGenerator : IIncrementalGenerator
{
    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                ModelParser.ModelAttributeName,
                // Records too, so that '[Model] partial record' gets CN0009 instead of nothing.
                static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax or Microsoft.CodeAnalysis.CSharp.Syntax.RecordDeclarationSyntax,
                static (ctx, ct) => ModelParser.Parse(ctx, ct))
            .WithTrackingName(TrackingNames.Parse);

        // The plan result carries the parser's diagnostics too, so all diagnostics flow from one step.
        var planned = parsed
            .Select(static (result, _) => result.Spec is null
                ? new PlanResult(null, result.Diagnostics)
                : ModelPlanner.Plan(result.Spec) is var plan && result.Diagnostics.Count > 0
                    ? plan with { Diagnostics = result.Diagnostics.Concat(plan.Diagnostics).ToEquatableArray() }
                    : plan)
            .WithTrackingName(TrackingNames.Plan);

        // Diagnostics go through their own output; the source output takes only the plan. Locations are
        // mapped back onto the compilation's syntax trees when reported, so '#pragma warning disable' works.
        var diagnostics = planned.Select(static (r, _) => r.Diagnostics).WithTrackingName(TrackingNames.Diagnostics);
        context.RegisterSourceOutput(diagnostics.Combine(context.CompilationProvider),
            static (spc, input) => Report(spc, input.Right, input.Left));
        // '[Layer]' on a field of a class without '[Model]' (CN0031): nothing else would look at it.
        var strayLayers = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                ModelParser.LayerAttributeName,
                static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.VariableDeclaratorSyntax,
                static (ctx, _) => ModelChecks.CheckLayerOutsideModel(ctx))
            .Where(static d => d.Count > 0)
            .WithTrackingName(TrackingNames.StrayLayers);
        context.RegisterSourceOutput(strayLayers.Combine(context.CompilationProvider),
            static (spc, input) => Report(spc, input.Right, input.Left));

        // The source output sees no positions: moving a model inside its file changes its diagnostics' spans,
        // not its generated source, so this step is Unchanged and nothing is re-emitted.
        var emitted = planned
            .Select(static (r, _) => (Plan: r.Plan?.WithoutLocations(), Stub: r.Stub?.WithoutLocations()))
            .WithTrackingName(TrackingNames.Emit);
        context.RegisterSourceOutput(emitted, static (spc, result) =>
        {
            if (result.Plan is not null)
            {
                spc.AddSource(ModelEmitter.HintName(result.Plan.Spec), ModelEmitter.Emit(result.Plan));
            }
            else if (result.Stub is not null)
            {
                spc.AddSource(ModelEmitter.HintName(result.Stub), ModelEmitter.EmitStub(result.Stub));
            }
        });
    }

    private static void Report(SourceProductionContext context, Compilation compilation, EquatableArray<DiagnosticInfo> diagnostics)
    {
        foreach (var d in diagnostics)
        {
            var args = new object[d.Arguments.Count];
            for (int i = 0; i < args.Length; i++)
            {
                args[i] = d.Arguments[i];
            }
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ById(d.Id), ToLocation(compilation, d.Location), args));
        }
    }

    private static Location? ToLocation(Compilation compilation, LocationInfo? info)
    {
        if (info is null)
        {
            return null;
        }
        foreach (var tree in compilation.SyntaxTrees)
        {
            if (tree.FilePath == info.FilePath)
            {
                return Location.Create(tree, new Microsoft.CodeAnalysis.Text.TextSpan(info.Start, info.Length));
            }
        }
        return info.ToLocation();
    }
}
