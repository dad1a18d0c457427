namespace CompiledNets.Generators.Model;

/// <summary>
/// A model's <c>[Forward]</c> method read as a graph in SSA form: node 0 is the method's parameter, every other
/// node is one operation on earlier nodes, in the order the method runs them (loops unrolled). Plain values only.
/// </summary>
/// <param name="MethodName">The user's method, e.g. <c>Define</c>.</param>
/// <param name="Nodes">The nodes; <c>Nodes[0]</c> is <see cref="NodeKind.Input"/>.</param>
/// <param name="Output">The node the method returns.</param>
/// <param name="Location">The method's name, for method-level diagnostics.</param>
internal sealed record ForwardSpec(string MethodName, EquatableArray<NodeSpec> Nodes, int Output, LocationInfo? Location);

/// <summary>What a graph node computes.</summary>
internal enum NodeKind
{
    /// <summary>The method's tensor parameter, <c>[batch, in_features]</c>.</summary>
    Input,

    /// <summary><c>field.Forward(x)</c> or <c>field[i].Forward(x)</c> of a <c>[Layer]</c>; the layer's kind decides the op.</summary>
    Layer,

    /// <summary><c>F.Relu(x)</c>.</summary>
    Relu,

    /// <summary><c>F.Sigmoid(x)</c>.</summary>
    Sigmoid,

    /// <summary><c>F.Tanh(x)</c>.</summary>
    Tanh,

    /// <summary><c>F.Softmax(x, 1)</c>.</summary>
    Softmax,

    /// <summary><c>F.Dropout(x, p, training)</c>.</summary>
    Dropout,

    /// <summary><c>a + b</c>.</summary>
    Add,

    /// <summary><c>a - b</c>.</summary>
    Subtract,

    /// <summary><c>a * b</c> (element-wise).</summary>
    Multiply,

    /// <summary><c>Scale·x + Shift</c>: a tensor with a float constant (<c>x * c</c>, <c>x + c</c>, <c>c - x</c>, <c>x / c</c>, <c>-x</c>).</summary>
    Affine,

    /// <summary><c>F.Cat(a, b, …)</c> along the features.</summary>
    Cat,
}

/// <summary>One operation of a <see cref="ForwardSpec"/>.</summary>
/// <param name="Kind">What it computes.</param>
/// <param name="Inputs">The nodes it reads, in argument order.</param>
/// <param name="Text">Its source text, for messages (e.g. <c>h + x</c>).</param>
/// <param name="Location">Where it is, for shape diagnostics.</param>
internal sealed record NodeSpec(NodeKind Kind, EquatableArray<int> Inputs, string Text, LocationInfo? Location)
{
    /// <summary><see cref="NodeKind.Layer"/>: the field's name.</summary>
    public string? Field { get; init; }

    /// <summary><see cref="NodeKind.Layer"/> on a layer array: the element index; otherwise -1.</summary>
    public int Element { get; init; } = -1;

    /// <summary><see cref="NodeKind.Affine"/>: the factor.</summary>
    public float Scale { get; init; } = 1f;

    /// <summary><see cref="NodeKind.Affine"/>: the added constant.</summary>
    public float Shift { get; init; }

    /// <summary><see cref="NodeKind.Dropout"/>: the probability.</summary>
    public float P { get; init; }

    /// <summary><see cref="NodeKind.Dropout"/>: drop only while the model is training (<c>training: IsTraining</c>) rather than always.</summary>
    public bool FollowsModelMode { get; init; }
}
