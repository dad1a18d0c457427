namespace CompiledNets.Tests.Gradients;

// Models whose generated forward and backward passes the gradient tests check. Each comment says
// which planner decision it exercises (see generators/.../Planning/ModelPlanner.cs): fusion,
// in-place work, copies into a new buffer, nested models in each position.

/// <summary>One Linear without bias: the smallest model.</summary>
[Model]
public partial class LinearNoBiasNet
{
    [Layer] readonly Linear fc = new(5, 4, bias: false);
}

/// <summary>Linear without bias, Tanh in place, Linear with bias.</summary>
[Model]
public partial class TanhNet
{
    [Layer] readonly Linear fc1 = new(5, 7, bias: false);
    [Layer] readonly Tanh act = new();
    [Layer] readonly Linear fc2 = new(7, 4);
}

/// <summary>
/// Linear+ReLU fused; Sigmoid after the ReLU copies (the ReLU's backward reads its output);
/// Dropout after the Sigmoid copies (the Sigmoid's backward reads its output), not fused.
/// </summary>
[Model]
public partial class SigmoidAfterReluNet
{
    [Layer] readonly Linear fc1 = new(6, 9);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Sigmoid sig = new();
    [Layer] readonly Dropout drop = new(0.3f);
    [Layer] readonly Linear fc2 = new(9, 3);
}

/// <summary>
/// Two activations in a row (Sigmoid in place, then Tanh into a copy), Dropout after Tanh (copy),
/// and Softmax as the last layer, in place on the output buffer (so it works on the loss's gradient).
/// </summary>
[Model]
public partial class TwoActivationsSoftmaxNet
{
    [Layer] readonly Linear fc1 = new(3, 8);
    [Layer] readonly Sigmoid sig = new();
    [Layer] readonly Tanh tanh = new();
    [Layer] readonly Dropout drop = new(0.5f);
    [Layer] readonly Linear fc2 = new(8, 5);
    [Layer] readonly Softmax softmax = new(dim: 1);
}

/// <summary>
/// Dropout not after a ReLU (in place on a Linear's output), a standalone ReLU in place after it,
/// then a second Dropout after that ReLU (backward fused with the ReLU): two dropouts over the same buffer.
/// </summary>
[Model]
public partial class DoubleDropoutNet
{
    [Layer] readonly Linear fc1 = new(4, 6);
    [Layer] readonly Dropout drop1 = new(0.25f);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Dropout drop2 = new(0.4f);
    [Layer] readonly Tanh tanh = new();
    [Layer] readonly Linear fc2 = new(6, 2);
}

/// <summary>Two dropouts directly in a row.</summary>
[Model]
public partial class DropoutDropoutNet
{
    [Layer] readonly Linear fc1 = new(5, 9);
    [Layer] readonly Dropout drop1 = new(0.3f);
    [Layer] readonly Dropout drop2 = new(0.5f);
    [Layer] readonly Linear fc2 = new(9, 3);
}

/// <summary>Softmax in the middle (in place on a Linear's output), then a Linear that reads it; Dropout as the last layer after a fused ReLU.</summary>
[Model]
public partial class SoftmaxMiddleDropoutLastNet
{
    [Layer] readonly Linear fc1 = new(5, 6);
    [Layer] readonly Softmax softmax = new();
    [Layer] readonly Linear fc2 = new(6, 4);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Dropout drop = new(0.5f);
}

/// <summary>A block used as a layer of the models below.</summary>
[Model]
public partial class InnerBlock
{
    [Layer] readonly Linear hidden = new(4, 6);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Dropout drop = new(0.3f);
    [Layer] readonly Linear proj = new(6, 5);
    [Layer] readonly Tanh tanh = new();
}

/// <summary>A nested model first: its input is the outer input; a ReLU after it copies (the nested output is not ours).</summary>
[Model]
public partial class NestedFirstNet
{
    [Layer] readonly InnerBlock block = new();
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Linear head = new(5, 3);
}

/// <summary>A nested model in the middle, followed by a Dropout that copies its output.</summary>
[Model]
public partial class NestedMiddleNet
{
    [Layer] readonly Linear stem = new(3, 4);
    [Layer] readonly Sigmoid sig = new();
    [Layer] readonly InnerBlock block = new();
    [Layer] readonly Dropout drop = new(0.2f);
    [Layer] readonly Linear head = new(5, 3);
}

/// <summary>A nested model last: the outer output is the nested model's buffer.</summary>
[Model]
public partial class NestedLastNet
{
    [Layer] readonly Linear stem = new(7, 4, bias: false);
    [Layer] readonly Dropout drop = new(0.1f);
    [Layer] readonly InnerBlock block = new();
}

/// <summary>Two levels of nesting (a nested model that nests <see cref="InnerBlock"/> first), then <see cref="InnerBlock"/> again last.</summary>
[Model]
public partial class NestedTwiceNet
{
    [Layer] readonly NestedFirstNet first = new();
    [Layer] readonly Linear widen = new(3, 4);
    [Layer] readonly InnerBlock block = new();
}
