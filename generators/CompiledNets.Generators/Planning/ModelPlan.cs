using CompiledNets.Generators.Model;

namespace CompiledNets.Generators.Planning;

/// <summary>
/// How one model runs, as a graph: the values (every <c>[batch, width]</c> activation), the operations that produce
/// them in forward order, and the buffers they live in. The backward pass runs the operations in reverse, each
/// delivering its input gradients (<see cref="Delivery"/>). Field-order models are the one-path case of the same plan.
/// </summary>
/// <param name="Spec">The parsed model.</param>
/// <param name="InFeatures">Columns of the input, <c>[batch, InFeatures]</c>.</param>
/// <param name="OutFeatures">Columns of the output, <c>[batch, OutFeatures]</c>.</param>
/// <param name="Values">The values; value 0 is the model input, value <c>k + 1</c> is the output of <c>Ops[k]</c>.</param>
/// <param name="Ops">The operations in forward order.</param>
/// <param name="Buffers">Activation buffers <c>_a{Id}</c>, shared by values whose live ranges do not overlap.</param>
/// <param name="GradBuffers">Gradient buffers <c>_g{Id}</c>, shared likewise over the backward pass.</param>
/// <param name="Output">The value the model returns.</param>
/// <param name="ScratchWidth">Width of the scratch buffer <c>_s</c> for input gradients that are added into a fanned-out value (0: none).</param>
internal sealed record ModelPlan(
    ModelSpec Spec,
    int InFeatures,
    int OutFeatures,
    EquatableArray<ValuePlan> Values,
    EquatableArray<OpPlan> Ops,
    EquatableArray<BufferPlan> Buffers,
    EquatableArray<BufferPlan> GradBuffers,
    int Output,
    int ScratchWidth);

/// <summary>One value, <c>[batch, Width]</c>.</summary>
/// <param name="Id">Its number.</param>
/// <param name="Width">Columns.</param>
/// <param name="Buffer">The activation buffer it lives in; <see cref="ModelInput"/> for the model input, <see cref="External"/> for a nested model's output (its own buffer, held as the segment <c>_n{Id}</c>).</param>
/// <param name="GradBuffer">The gradient buffer; <see cref="ModelInput"/> for <c>gradInput</c>, <see cref="External"/> for <c>gradOutput</c>.</param>
/// <param name="Consumers">How many operation inputs read it (<c>h + h</c> counts twice).</param>
/// <param name="LastUse">The index of the last operation that reads it in the forward pass (-1: none, the output).</param>
/// <param name="ReadByBackward">Whether some backward reads its values, so its buffer must survive the forward pass.</param>
internal sealed record ValuePlan(int Id, int Width, int Buffer, int GradBuffer, int Consumers, int LastUse, bool ReadByBackward)
{
    /// <summary>The buffer number of the model input (or of <c>gradInput</c>).</summary>
    public const int ModelInput = -1;

    /// <summary>The buffer number of a nested model's output (or of <c>gradOutput</c>).</summary>
    public const int External = -2;
}

/// <summary>A buffer of <c>batch · Width</c> floats.</summary>
internal sealed record BufferPlan(int Id, int Width);

/// <summary>The operation kinds; each has one <see cref="Descriptors.OpDescriptor"/>.</summary>
internal enum OpKind
{
    Linear,
    Model,
    Relu,
    Sigmoid,
    Tanh,
    Softmax,
    LogSoftmax,
    Dropout,
    Add,
    Subtract,
    Multiply,
    Affine,
    Cat,
}

/// <summary>How an operation's backward writes the gradient of one of its inputs.</summary>
internal enum Delivery
{
    /// <summary>The input's gradient is the same buffer as the output's (a single-consumer element-wise op): nothing to write.</summary>
    Alias,

    /// <summary>The first writer of the input's gradient (in backward order): overwrites, so no buffer needs clearing.</summary>
    Overwrite,

    /// <summary>A later writer of a fanned-out value's gradient: adds (llm.c's <c>dinp += …</c>).</summary>
    Accumulate,
}

/// <summary>One forward operation and the decisions taken for it.</summary>
/// <param name="Index">Its position in <see cref="ModelPlan.Ops"/>.</param>
/// <param name="Kind">What it computes.</param>
/// <param name="Inputs">The values it reads, in argument order.</param>
/// <param name="Output">The value it writes.</param>
/// <param name="Label">What it is in the user's terms, for comments: <c>blocks.0</c>, <c>F.Relu</c>, <c>h + x</c>.</param>
internal sealed record OpPlan(int Index, OpKind Kind, EquatableArray<int> Inputs, int Output, string Label)
{
    /// <summary>Linear, Model, Dropout layer: the C# expression of the layer, e.g. <c>this.@blocks[0]</c>.</summary>
    public string? Target { get; init; }

    /// <summary>Input width (Linear, Model).</summary>
    public int InFeatures { get; init; }

    /// <summary>Output width.</summary>
    public int OutFeatures { get; init; }

    /// <summary>Linear: whether it has a bias.</summary>
    public bool Bias { get; init; }

    /// <summary>Linear: the label of the ReLU applied in the same pass (its output has no other consumer), or null.</summary>
    public string? FusedRelu { get; init; }

    /// <summary>Dropout: the probability.</summary>
    public float P { get; init; }

    /// <summary>Dropout: the C# expression that says whether it drops, e.g. <c>this.@drop.IsTraining</c>.</summary>
    public string? Training { get; init; }

    /// <summary>Dropout: the C# expression of the generator the mask is drawn from.</summary>
    public string? Generator { get; init; }

    /// <summary>Affine: <c>y = Scale·x + Shift</c>.</summary>
    public float Scale { get; init; } = 1f;

    /// <summary>Affine: the added constant.</summary>
    public float Shift { get; init; }

    /// <summary>Dropout: its backward also does the ReLU's before it, from the dropout output (one pass).</summary>
    public bool BackwardFusesRelu { get; init; }

    /// <summary>ReLU (or a Linear's fused ReLU): its backward is done by the dropout after it.</summary>
    public bool BackwardDoneByNext { get; init; }

    /// <summary>Model: the nested model's <c>global::</c> type.</summary>
    public string? ModelType { get; init; }

    /// <summary>Element-wise: the output is written over the input in this slot's buffer (-1: a buffer of its own).</summary>
    public int InPlaceSlot { get; init; } = -1;

    /// <summary>Per input slot, how the backward writes that input's gradient (<see cref="Delivery"/> as int).</summary>
    public EquatableArray<int> Deliveries { get; init; }

    /// <summary>The delivery of input slot <paramref name="slot"/>.</summary>
    public Delivery DeliveryOf(int slot) => (Delivery)Deliveries[slot];
}

/// <summary>
/// The planner's output: a plan (null when the model cannot be generated), its diagnostics, and, when
/// there is no plan but the class itself is sound, the spec to emit a stub from (so that the errors
/// reported on the layers are not buried under "no definition for Forward" at every use).
/// </summary>
internal sealed record PlanResult(ModelPlan? Plan, EquatableArray<DiagnosticInfo> Diagnostics, ModelSpec? Stub = null);
