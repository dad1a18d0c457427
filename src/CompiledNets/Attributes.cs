namespace CompiledNets;

/// <summary>
/// Marks a <see langword="partial"/> class as a model: the CompiledNets source generator emits its
/// forward pass, fused backward pass, parameter enumeration, state dict and <c>print(net)</c> layout
/// from its <see cref="LayerAttribute"/> fields (PyTorch: a subclass of <c>nn.Module</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ModelAttribute : Attribute;

/// <summary>
/// Marks a field of a <see cref="ModelAttribute"/> class as a layer. Fields run in declaration order
/// (as in <c>nn.Sequential</c>); the field name is the state-dict prefix (<c>hidden.weight</c>).
/// Constructor arguments must be compile-time constants, so shapes are checked when the project builds.
/// </summary>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
public sealed class LayerAttribute : Attribute;
