using System.Linq;
using CompiledNets.Generators.Planning;

namespace CompiledNets.Generators.Model;

/// <summary>
/// Copies of specs and plans without source positions, for the source output: positions only matter to
/// diagnostics, and a value that changes when a model moves would re-emit its (identical) source.
/// Every <see cref="LocationInfo"/> a spec can hold is cleared here: the model's, each layer's (and each
/// layer-array element's), and the <c>[Forward]</c> method's and its nodes'.
/// </summary>
internal static class SpecLocations
{
    public static ModelSpec WithoutLocations(this ModelSpec spec) => spec with
    {
        Location = null,
        Layers = spec.Layers.Select(WithoutLocations).ToEquatableArray(),
        Forward = spec.Forward is { } forward
            ? forward with
            {
                Location = null,
                Nodes = forward.Nodes.Select(n => n with { Location = null }).ToEquatableArray(),
            }
            : null,
    };

    private static LayerSpec WithoutLocations(LayerSpec layer) => layer with
    {
        Location = null,
        InFeaturesLocation = null,
        Nested = layer.Nested?.WithoutLocations(),
        Elements = layer.Elements.Select(WithoutLocations).ToEquatableArray(),
    };

    public static ModelPlan WithoutLocations(this ModelPlan plan) => plan with { Spec = plan.Spec.WithoutLocations() };
}
