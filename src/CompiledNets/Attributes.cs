namespace CompiledNets;

/// <summary>
/// Marks a <see langword="partial"/> class as a model: the CompiledNets source generator emits its
/// forward pass, fused backward pass, parameter enumeration, state dict and <c>print(net)</c> layout
/// from its <see cref="LayerAttribute"/> fields (PyTorch: a subclass of <c>nn.Module</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ModelAttribute : Attribute;

/// <summary>
/// Marks a field of a <see cref="ModelAttribute"/> class as a layer, or an array of layers (PyTorch's <c>ModuleList</c>,
/// keys <c>blocks.0.weight</c>). Without a <see cref="ForwardAttribute"/> method, fields run in declaration order
/// (as in <c>nn.Sequential</c>); the field name is the state-dict prefix (<c>hidden.weight</c>).
/// Constructor arguments must be compile-time constants, so shapes are checked when the project builds.
/// </summary>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
public sealed class LayerAttribute : Attribute;

/// <summary>
/// Marks the method of a <see cref="ModelAttribute"/> class that defines its forward pass (PyTorch: the body of
/// <c>forward</c>): an instance method <c>Tensor Name(Tensor x)</c> written with the <see cref="LayerAttribute"/>
/// fields called through their <c>Forward</c>, the functions of <see cref="F"/>, the tensor operators
/// <c>+ - *</c> (of two tensors of the same shape, or of a tensor and a constant <see cref="float"/>), local
/// variables, and <c>foreach</c>/<c>for</c> loops over layer arrays, which are unrolled. The generator compiles the
/// method into the model's <c>Forward</c> and its fused backward pass; the method itself still runs eagerly (no
/// gradients, allocating), which is how tests check the compiled pass. Anything else in the body is a compile-time
/// error at that expression (CompiledNets diagnostics CN0012–CN0017). Without this attribute the fields run in
/// declaration order.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class ForwardAttribute : Attribute;
