using System.Linq;
using CompiledNets.Generators.Planning;

namespace CompiledNets.Generators.Model;

/// <summary>
/// Copies of specs and plans without source positions, for the source output: positions only matter to
/// diagnostics, and a value that changes when a model moves would re-emit its (identical) source.
/// </summary>
internal static class SpecLocations
{
    public static ModelSpec WithoutLocations(this ModelSpec spec) => spec with
    {
        Location = null,
        Layers = spec.Layers.Select(l => l with { Location = null, InFeaturesLocation = null, Nested = l.Nested?.WithoutLocations() }).ToEquatableArray(),
    };

    public static ModelPlan WithoutLocations(this ModelPlan plan) => plan with { Spec = plan.Spec.WithoutLocations() };
}
