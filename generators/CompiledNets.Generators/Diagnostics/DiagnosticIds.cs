namespace CompiledNets.Generators.Diagnostics;

/// <summary>
/// The diagnostic IDs as plain constants (no Roslyn types), shared with the code-fix assembly
/// (<c>generators/CompiledNets.CodeFixes</c> links this file). CN0001–CN0011: the first release;
/// CN0012–CN0029: [Forward] methods (issue 7); CN0030–CN0049: package and user-mistake checks (issue 9).
/// </summary>
internal static class DiagnosticIds
{
    public const string NotPartial = "CN0001";
    public const string ShapeMismatch = "CN0002";
    public const string NotConstant = "CN0003";
    public const string UnsupportedLayer = "CN0004";
    public const string MissingInitializer = "CN0005";
    public const string NoLayers = "CN0006";
    public const string UnknownInputSize = "CN0007";
    public const string InvalidArgument = "CN0008";
    public const string InvalidModelClass = "CN0009";
    public const string RecursiveModel = "CN0010";
    public const string LayerNotReadonly = "CN0011";

    /// <summary>A construct in a <c>[Forward]</c> method that the generator cannot compile.</summary>
    public const string UnsupportedInForward = "CN0012";
    /// <summary>Shapes that do not match inside a <c>[Forward]</c> method.</summary>
    public const string ForwardShapeMismatch = "CN0013";
    /// <summary>A <c>[Forward]</c> method of the wrong form, or a second one.</summary>
    public const string InvalidForwardMethod = "CN0014";
    /// <summary>A nested model called more than once in a forward.</summary>
    public const string NestedModelCalledTwice = "CN0015";
    /// <summary>A constant index outside a layer array.</summary>
    public const string LayerIndexOutOfRange = "CN0016";
    /// <summary>A forward whose input width nothing fixes.</summary>
    public const string ForwardInputWidthUnknown = "CN0017";

    /// <summary>A module-typed field of a model without <c>[Layer]</c>.</summary>
    public const string FieldWithoutLayer = "CN0030";
    /// <summary><c>[Layer]</c> on a field of a type without <c>[Model]</c>.</summary>
    public const string LayerOutsideModel = "CN0031";
    /// <summary>A layer initialised with another layer (weight tying).</summary>
    public const string TiedLayer = "CN0032";
    /// <summary>A member named like one the generator writes.</summary>
    public const string ReservedMemberName = "CN0033";
    /// <summary>A nested model from a referenced assembly without its generated size constants.</summary>
    public const string NestedModelWithoutSizes = "CN0034";
    /// <summary>An auto-property of a layer type in a model (layers are fields).</summary>
    public const string LayerProperty = "CN0035";
    /// <summary>A layer field declared nullable (<c>Linear?</c>).</summary>
    public const string NullableLayer = "CN0036";
    /// <summary>The project's C# version is older than the generated code needs.</summary>
    public const string LanguageVersionTooOld = "CN0037";

    /// <summary>Every ID (each has a descriptor and a page under docs/diagnostics/; the doc-page test derives from this list).</summary>
    public static readonly string[] All =
    [
        NotPartial, ShapeMismatch, NotConstant, UnsupportedLayer, MissingInitializer, NoLayers, UnknownInputSize,
        InvalidArgument, InvalidModelClass, RecursiveModel, LayerNotReadonly,
        UnsupportedInForward, ForwardShapeMismatch, InvalidForwardMethod, NestedModelCalledTwice, LayerIndexOutOfRange,
        ForwardInputWidthUnknown,
        FieldWithoutLayer, LayerOutsideModel, TiedLayer, ReservedMemberName, NestedModelWithoutSizes, LayerProperty,
        NullableLayer, LanguageVersionTooOld,
    ];
}
