namespace CompiledNets.Generators.Model;

/// <summary>
/// What the parser read from one <c>[Model]</c> class: its place in the code and its <c>[Layer]</c>
/// fields in forward order. Plain values only, so equal inputs give equal specs and hit the cache.
/// </summary>
/// <param name="Namespace">The containing namespace, or empty for the global namespace.</param>
/// <param name="ContainingTypes">Declarations of the enclosing types, outermost first, e.g. <c>partial class Outer</c>.</param>
/// <param name="TypeName">The class name.</param>
/// <param name="FullyQualifiedName">The <c>global::</c> name, e.g. <c>global::Samples.IrisNet</c>.</param>
/// <param name="DeclaresModuleBase">Whether the user already wrote <c>: Module</c>.</param>
/// <param name="Layers">The layers in forward order.</param>
/// <param name="Location">The class identifier, for model-level diagnostics.</param>
/// <param name="IsValid">False when a layer could not be read (its diagnostic is reported); only a stub is emitted then.</param>
/// <param name="Forward">The user's <c>[Forward]</c> method as a graph, or null: the layers run in declaration order.</param>
internal sealed record ModelSpec(
    string Namespace,
    EquatableArray<string> ContainingTypes,
    string TypeName,
    string FullyQualifiedName,
    bool DeclaresModuleBase,
    EquatableArray<LayerSpec> Layers,
    LocationInfo? Location,
    bool IsValid = true,
    ForwardSpec? Forward = null,
    bool DeclaresForward = false);

/// <summary>The kinds of layer the generator compiles.</summary>
internal enum LayerKind
{
    Linear,
    ReLU,
    Dropout,
    Sigmoid,
    Tanh,
    Softmax,
    LogSoftmax,
    Model,
}

/// <summary>One <c>[Layer]</c> field and the constant arguments of its initializer.</summary>
/// <param name="FieldName">The field's name as written in C# (without <c>@</c>); also its state-dict key.</param>
/// <param name="Kind">The layer type.</param>
/// <param name="InFeatures">Linear: <c>inFeatures</c>; nested model: its input size.</param>
/// <param name="OutFeatures">Linear: <c>outFeatures</c>; nested model: its output size.</param>
/// <param name="Bias">Linear: <c>bias</c>.</param>
/// <param name="P">Dropout: <c>p</c>.</param>
/// <param name="Dim">Softmax, LogSoftmax: <c>dim</c>.</param>
/// <param name="ModelType">Nested model: its <c>global::</c> type name.</param>
/// <param name="Nested">Nested model declared in this compilation: its spec (sizes are inferred from it);
/// null for one from a referenced assembly, whose sizes come from its generated constants.</param>
/// <param name="Location">The field's initializer, for diagnostics.</param>
/// <param name="InFeaturesLocation">Linear: the <c>inFeatures</c> argument, where a shape mismatch (CN0002) points.</param>
/// <param name="Elements">A layer array (<c>Linear[]</c>, PyTorch's <c>ModuleList</c>): its elements in order, each with
/// <see cref="Kind"/> and its own sizes; empty for a single layer.</param>
/// <param name="IsArray">Whether the field is a layer array.</param>
internal sealed record LayerSpec(
    string FieldName,
    LayerKind Kind,
    int InFeatures,
    int OutFeatures,
    bool Bias,
    float P,
    int Dim,
    string? ModelType,
    ModelSpec? Nested,
    LocationInfo? Location,
    EquatableArray<LayerSpec> Elements = default,
    bool IsArray = false,
    LocationInfo? InFeaturesLocation = null);

/// <summary>The parser's output: a spec (null when the class cannot be generated) and its diagnostics.</summary>
internal sealed record ParseResult(ModelSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics);
