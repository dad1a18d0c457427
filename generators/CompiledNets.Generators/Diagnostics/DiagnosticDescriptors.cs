using Microsoft.CodeAnalysis;

namespace CompiledNets.Generators.Diagnostics;

/// <summary>The catalogue of CompiledNets diagnostics. IDs are stable; each has a page under docs/diagnostics/.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "CompiledNets";
    private const string HelpBase = "https://github.com/compilednets/compilednets/blob/main/docs/diagnostics/";

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpBase + id + ".md");

    /// <summary>CN0001: the model class (or a type containing it) is not partial.</summary>
    public static readonly DiagnosticDescriptor NotPartial = Error("CN0001",
        "Model class must be partial",
        "'{0}' must be declared partial so that CompiledNets can generate its forward and backward passes");

    /// <summary>CN0002: a layer's input size differs from the previous layer's output size.</summary>
    public static readonly DiagnosticDescriptor ShapeMismatch = Error("CN0002",
        "Layer shapes do not match",
        "Layer '{0}' expects {1} input features but the previous layer '{2}' produces {3}");

    /// <summary>CN0003: a layer argument is not a compile-time constant.</summary>
    public static readonly DiagnosticDescriptor NotConstant = Error("CN0003",
        "Layer argument must be a compile-time constant",
        "Argument '{0}' of layer '{1}' must be a compile-time constant so that shapes can be checked when the project builds");

    /// <summary>CN0004: the field's type is not a layer CompiledNets can compile.</summary>
    public static readonly DiagnosticDescriptor UnsupportedLayer = Error("CN0004",
        "Unsupported layer type",
        "Layer '{0}' has type '{1}', which is not a supported layer (Linear, ReLU, Dropout, Sigmoid, Tanh, Softmax, LogSoftmax or a [Model] class)");

    /// <summary>CN0005: a layer field has no <c>new(...)</c> initializer.</summary>
    public static readonly DiagnosticDescriptor MissingInitializer = Error("CN0005",
        "Layer field must be initialised",
        "Layer '{0}' must be initialised in its declaration, e.g. '= new(4, 10)'");

    /// <summary>CN0006: the model has no layers.</summary>
    public static readonly DiagnosticDescriptor NoLayers = Error("CN0006",
        "Model has no layers",
        "Model '{0}' has no [Layer] fields");

    /// <summary>CN0007: the first layer does not fix the input size.</summary>
    public static readonly DiagnosticDescriptor UnknownInputSize = Error("CN0007",
        "Input size unknown",
        "The first layer of '{0}' is '{1}', which does not fix the number of input features; start with a Linear layer or a nested model");

    /// <summary>CN0008: a layer argument is out of range.</summary>
    public static readonly DiagnosticDescriptor InvalidArgument = Error("CN0008",
        "Invalid layer argument",
        "Argument '{0}' of layer '{1}' is {2}; expected {3}");

    /// <summary>CN0009: the model class declares a base class or is generic, static or abstract.</summary>
    public static readonly DiagnosticDescriptor InvalidModelClass = Error("CN0009",
        "Unsupported model class",
        "Model '{0}' {1}");

    /// <summary>CN0010: a model contains itself.</summary>
    public static readonly DiagnosticDescriptor RecursiveModel = Error("CN0010",
        "Model contains itself",
        "Layer '{0}' makes model '{1}' contain itself");

    /// <summary>CN0011: a layer field is static or not readonly.</summary>
    public static readonly DiagnosticDescriptor LayerNotReadonly = Error("CN0011",
        "Layer field must be a readonly instance field",
        "Layer '{0}' must be a readonly instance field ({1}): the generated passes are compiled for the layer it is initialised with");

    /// <summary>CN0012: a construct in a [Forward] method that the generator cannot compile.</summary>
    public static readonly DiagnosticDescriptor UnsupportedInForward = Error(DiagnosticIds.UnsupportedInForward,
        "Not supported in a forward method",
        "'{0}' cannot be compiled in a [Forward] method: it {1}");

    /// <summary>CN0013: shapes do not match inside a [Forward] method.</summary>
    public static readonly DiagnosticDescriptor ForwardShapeMismatch = Error(DiagnosticIds.ForwardShapeMismatch,
        "Shapes do not match in the forward method",
        "'{0}' {1}");

    /// <summary>CN0014: the [Forward] method has the wrong form, or there are two.</summary>
    public static readonly DiagnosticDescriptor InvalidForwardMethod = Error(DiagnosticIds.InvalidForwardMethod,
        "Invalid forward method",
        "Forward method '{0}' {1}");

    /// <summary>CN0015: a nested model is called more than once.</summary>
    public static readonly DiagnosticDescriptor NestedModelCalledTwice = Error(DiagnosticIds.NestedModelCalledTwice,
        "Nested model called more than once",
        "'{0}' calls nested model '{1}' a second time; its buffers hold one call: declare a second [Layer] of the same type");

    /// <summary>CN0016: a constant index outside a layer array.</summary>
    public static readonly DiagnosticDescriptor LayerIndexOutOfRange = Error(DiagnosticIds.LayerIndexOutOfRange,
        "Index outside the layer array",
        "Index {0} is outside layer array '{1}' of length {2}");

    /// <summary>CN0017: nothing in the forward method fixes the input width.</summary>
    public static readonly DiagnosticDescriptor ForwardInputWidthUnknown = Error(DiagnosticIds.ForwardInputWidthUnknown,
        "Input size unknown",
        "No layer in the forward method of '{0}' fixes the number of input features; pass the input (or something of its width) to a Linear layer or a nested model");
    /// <summary>CN0030: a field of a model has a layer type but no <c>[Layer]</c> (it would be left out of the net).</summary>
    public static readonly DiagnosticDescriptor FieldWithoutLayer = Error(DiagnosticIds.FieldWithoutLayer,
        "Layer-typed field without [Layer]",
        "Field '{0}' of model '{1}' has layer type '{2}' but no [Layer] attribute, so it would not be part of the forward pass, the parameters or the state_dict; mark it [Layer] (PyTorch registers every module attribute)");

    /// <summary>CN0031: <c>[Layer]</c> on a field of a type that is not a <c>[Model]</c>.</summary>
    public static readonly DiagnosticDescriptor LayerOutsideModel = Error(DiagnosticIds.LayerOutsideModel,
        "[Layer] outside a [Model] class",
        "Field '{0}' is marked [Layer] but '{1}' is not a [Model] class, so nothing is generated for it; mark '{1}' [Model] or remove [Layer]");

    /// <summary>CN0032: a layer initialised with another layer (weight tying), which is not supported yet.</summary>
    public static readonly DiagnosticDescriptor TiedLayer = Error(DiagnosticIds.TiedLayer,
        "Weight tying is not supported",
        "Layer '{0}' is initialised with '{1}': one layer under two names (weight tying) is not supported yet; give '{0}' its own 'new(...)'");

    /// <summary>CN0033: a member of a model is named like a member the generator writes.</summary>
    public static readonly DiagnosticDescriptor ReservedMemberName = Error(DiagnosticIds.ReservedMemberName,
        "Member name is reserved by the generator",
        "The {0} '{1}' of model '{2}' clashes with {3}; rename it");

    /// <summary>CN0034: a nested model from a referenced assembly has no generated size constants.</summary>
    public static readonly DiagnosticDescriptor NestedModelWithoutSizes = Error(DiagnosticIds.NestedModelWithoutSizes,
        "Nested model has no generated sizes",
        "Layer '{0}' has model type '{1}' from assembly '{2}', which has no generated 'InFeatures'/'OutFeatures' constants; build '{2}' with the CompiledNets generator (the CompiledNets package) and without errors");

    /// <summary>CN0035: an auto-property of a layer type in a model (it would be left out of the net).</summary>
    public static readonly DiagnosticDescriptor LayerProperty = Error(DiagnosticIds.LayerProperty,
        "Layer-typed auto-property",
        "Property '{0}' of model '{1}' has layer type '{2}', but layers are [Layer] readonly fields, so it would not be part of the forward pass, the parameters or the state_dict; declare it as '[Layer] readonly {2} {3} = new(...);'");

    /// <summary>CN0036: a layer field declared nullable (the generated code dereferences it; a layer is never null).</summary>
    public static readonly DiagnosticDescriptor NullableLayer = Error(DiagnosticIds.NullableLayer,
        "Layer field declared nullable",
        "Layer field '{0}' is declared '{1}', but a layer is created by its initializer and is never null; declare it '{2}'");

    /// <summary>CN0037: the project's C# version is older than the generated code needs (static abstract interface members: C# 11).</summary>
    public static readonly DiagnosticDescriptor LanguageVersionTooOld = Error(DiagnosticIds.LanguageVersionTooOld,
        "C# 11 or later is required",
        "Model '{0}' is compiled as C# {1}, but the code CompiledNets generates needs C# 11 or later (static abstract interface members); remove <LangVersion> from the project or set it to 11 or later");

    /// <summary>All descriptors by ID.</summary>
    public static DiagnosticDescriptor ById(string id) => id switch
    {
        "CN0001" => NotPartial,
        "CN0002" => ShapeMismatch,
        "CN0003" => NotConstant,
        "CN0004" => UnsupportedLayer,
        "CN0005" => MissingInitializer,
        "CN0006" => NoLayers,
        "CN0007" => UnknownInputSize,
        "CN0008" => InvalidArgument,
        "CN0009" => InvalidModelClass,
        "CN0010" => RecursiveModel,
        "CN0011" => LayerNotReadonly,
        DiagnosticIds.UnsupportedInForward => UnsupportedInForward,
        DiagnosticIds.ForwardShapeMismatch => ForwardShapeMismatch,
        DiagnosticIds.InvalidForwardMethod => InvalidForwardMethod,
        DiagnosticIds.NestedModelCalledTwice => NestedModelCalledTwice,
        DiagnosticIds.LayerIndexOutOfRange => LayerIndexOutOfRange,
        DiagnosticIds.ForwardInputWidthUnknown => ForwardInputWidthUnknown,
        DiagnosticIds.FieldWithoutLayer => FieldWithoutLayer,
        DiagnosticIds.LayerOutsideModel => LayerOutsideModel,
        DiagnosticIds.TiedLayer => TiedLayer,
        DiagnosticIds.ReservedMemberName => ReservedMemberName,
        DiagnosticIds.NestedModelWithoutSizes => NestedModelWithoutSizes,
        DiagnosticIds.LayerProperty => LayerProperty,
        DiagnosticIds.NullableLayer => NullableLayer,
        DiagnosticIds.LanguageVersionTooOld => LanguageVersionTooOld,
        _ => throw new System.ArgumentException("Unknown diagnostic " + id, nameof(id)),
    };
}
