using CompiledNets.Generators.Diagnostics;
using CompiledNets.Generators.Emitting;
using CompiledNets.Generators.Model;
using CompiledNets.Generators.Parsing;
using CompiledNets.Generators.Planning;
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
                static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                static (ctx, ct) => ModelParser.Parse(ctx, ct))
            .WithTrackingName(TrackingNames.Parse);

        var planned = parsed
            .Select(static (result, _) => result.Spec is null
                ? new PlanResult(null, EquatableArray<DiagnosticInfo>.Empty)
                : ModelPlanner.Plan(result.Spec))
            .WithTrackingName(TrackingNames.Plan);

        // Diagnostics go through their own outputs, with their real locations; the source output takes only the plan.
        context.RegisterSourceOutput(parsed.Select(static (r, _) => r.Diagnostics).WithTrackingName(TrackingNames.Diagnostics), ReportDiagnostics);
        context.RegisterSourceOutput(planned.Select(static (r, _) => r.Diagnostics), ReportDiagnostics);
        context.RegisterSourceOutput(planned.Select(static (r, _) => r.Plan), static (spc, plan) =>
        {
            if (plan is not null)
            {
                spc.AddSource(ModelEmitter.HintName(plan), ModelEmitter.Emit(plan));
            }
        });
    }

    private static void ReportDiagnostics(SourceProductionContext context, EquatableArray<DiagnosticInfo> diagnostics)
    {
        foreach (var d in diagnostics)
        {
            var args = new object[d.Arguments.Count];
            for (int i = 0; i < args.Length; i++)
            {
                args[i] = d.Arguments[i];
            }
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ById(d.Id), d.Location?.ToLocation(), args));
        }
    }
}
