using System.CodeDom.Compiler;
using System.Globalization;
using CompiledNets.Generators.Planning;

namespace CompiledNets.Generators.Descriptors;

/// <summary>
/// What the emitter offers a descriptor: the C# expressions of values, gradients and buffers of the plan being
/// written. Implemented per target (CPU today; the ILGPU emitter implements the same for device buffers).
/// </summary>
internal interface IEmitContext
{
    IndentedTextWriter Writer { get; }

    ModelPlan Plan { get; }

    /// <summary><c>Span&lt;float&gt;</c> over the values of <paramref name="value"/>, <c>[batch, width]</c>.</summary>
    string Values(int value);

    /// <summary><c>ArraySegment&lt;float&gt;</c> over the values of <paramref name="value"/>.</summary>
    string ValueSegment(int value);

    /// <summary><c>Span&lt;float&gt;</c> over the gradient of <paramref name="value"/>.</summary>
    string Grad(int value);

    /// <summary><c>ArraySegment&lt;float&gt;</c> over the gradient of <paramref name="value"/>.</summary>
    string GradSegment(int value);

    /// <summary>The dropout mask of <paramref name="op"/>.</summary>
    string Mask(OpPlan op);

    /// <summary>
    /// With freezing: the condition under which the backward can stop at <paramref name="op"/> (no input gradient asked
    /// and no Linear or nested model before it trains), or null when it cannot.
    /// </summary>
    string? EarlyStop(OpPlan op);

    /// <summary>The condition under which the caller asked for the model input's gradient.</summary>
    string GradInputAsked { get; }

    /// <summary>A <c>Span&lt;float&gt;</c> of <c>batch · width</c> scratch floats.</summary>
    string Scratch(int width);

    /// <summary>The same scratch as an <c>ArraySegment&lt;float&gt;</c>.</summary>
    string ScratchSegment(int width);
}

/// <summary>
/// One kind of operation, in one place: its shape rule, what its backward reads, the in-place work and
/// gradient aliasing it allows (the planner's facts), and its CPU forward and backward code (the emitter's).
/// Adding a layer kind (Conv2d, LayerNorm, Embedding) adds a descriptor, its runtime module and its kernels.
/// </summary>
internal abstract class OpDescriptor
{
    protected const string Kernels = "global::CompiledNets.Kernels.Cpu.";

    public abstract OpKind Kind { get; }

    /// <summary>The output width from the input widths, or an explanation of the mismatch (shape rule).</summary>
    public virtual (int Width, string? Problem) Shape(OpPlan op, int[] inputs) =>
        (inputs[0], null);

    /// <summary>Whether the backward reads the input values (so their buffers must survive the forward pass).</summary>
    public virtual bool BackwardReadsInputs(OpPlan op) => false;

    /// <summary>Whether the backward reads the output values.</summary>
    public virtual bool BackwardReadsOutput(OpPlan op) => false;

    /// <summary>Whether the forward may write its output over the input in <paramref name="slot"/>.</summary>
    public virtual bool CanRunInPlace(int slot) => false;

    /// <summary>
    /// Whether the input gradient of <paramref name="slot"/> may be the output gradient's own buffer (the backward
    /// turns the output gradient into that input gradient in place, after every other slot has read it); the planner
    /// allows it for one single-consumer input per operation.
    /// </summary>
    public virtual bool CanAliasGradient(int slot) => false;

    public abstract void EmitForward(IEmitContext c, OpPlan op);

    public abstract void EmitBackward(IEmitContext c, OpPlan op);

    protected const string GpuKernels = "global::CompiledNets.Kernels.Gpu.";

    /// <summary>The device context expression in the GPU path (a local of the generated method).</summary>
    protected const string Ctx = "context";

    /// <summary>
    /// Whether the GPU path (ILGPU kernels in <c>Kernels/Gpu</c>) has this operation; a model with one that has not
    /// still compiles, and <c>To(device)</c> refuses it at run time naming the operation.
    /// </summary>
    public virtual bool HasGpu(OpPlan op) => false;

    /// <summary>The forward on a device: the same plan, values as <c>DeviceSpan&lt;float&gt;</c> expressions of a GPU context.</summary>
    public virtual void EmitGpuForward(IEmitContext c, OpPlan op) => throw new System.NotSupportedException(Kind + " has no GPU path");

    /// <summary>The backward on a device.</summary>
    public virtual void EmitGpuBackward(IEmitContext c, OpPlan op) => throw new System.NotSupportedException(Kind + " has no GPU path");

    /// <summary>A one-line description for the generated comments.</summary>
    public virtual string Describe(OpPlan op) => Kind.ToString();

    /// <summary>
    /// Writes the gradient of input <paramref name="slot"/> through <paramref name="write"/> (given the target span
    /// and whether to add), unless it aliases; into <c>gradInput</c> only when the caller asked for it.
    /// </summary>
    protected static void Deliver(IEmitContext c, OpPlan op, int slot, System.Func<string, bool, string> write)
    {
        var delivery = op.DeliveryOf(slot);
        if (delivery == Delivery.Alias)
        {
            return;
        }
        int input = op.Inputs[slot];
        string line = write(c.Grad(input), delivery == Delivery.Accumulate);
        WhenGradInput(c, input, line);
    }

    /// <summary>Writes <paramref name="line"/>, inside <c>if (gradInput.Count != 0)</c> when it writes the model input's gradient.</summary>
    protected static void WhenGradInput(IEmitContext c, int input, string line)
    {
        var w = c.Writer;
        if (input != 0)
        {
            foreach (var l in line.Split('\n'))
            {
                w.WriteLine(l);
            }
            return;
        }
        w.WriteLine("if (" + c.GradInputAsked + ")");
        w.WriteLine("{");
        w.Indent++;
        foreach (var l in line.Split('\n'))
        {
            w.WriteLine(l);
        }
        w.Indent--;
        w.WriteLine("}");
    }

    /// <summary>Writes <c>if (condition) { lines; return; }</c>.</summary>
    protected static void ReturnIf(IEmitContext c, string condition, params string[] lines)
    {
        var w = c.Writer;
        w.WriteLine("if (" + condition + ")");
        w.WriteLine("{");
        w.Indent++;
        foreach (var line in lines)
        {
            w.WriteLine(line);
        }
        w.WriteLine("return;");
        w.Indent--;
        w.WriteLine("}");
    }

    protected static string Bool(bool b) => b ? "true" : "false";

    /// <summary>A C# literal of <paramref name="value"/>; infinities and NaN (from <c>h / 0f</c>, <c>h * float.NaN</c>) as <c>float.*</c> names.</summary>
    internal static string Float(float value) =>
        float.IsNaN(value) ? "float.NaN"
        : float.IsPositiveInfinity(value) ? "float.PositiveInfinity"
        : float.IsNegativeInfinity(value) ? "float.NegativeInfinity"
        : value.ToString("R", CultureInfo.InvariantCulture) + "f";

    private static readonly OpDescriptor[] s_all =
    [
        new LinearOp(), new NestedModelOp(),
        new ActivationOp(OpKind.Relu, "Relu", "ReluBackward"), new ActivationOp(OpKind.Sigmoid, "Sigmoid", "SigmoidBackward"),
        new ActivationOp(OpKind.Tanh, "Tanh", "TanhBackward"), new SoftmaxOp(log: false), new SoftmaxOp(log: true), new DropoutOp(),
        new AddOp(OpKind.Add), new AddOp(OpKind.Subtract), new MultiplyOp(), new AffineOp(), new CatOp(),
    ];

    /// <summary>The descriptor of <paramref name="kind"/>.</summary>
    public static OpDescriptor For(OpKind kind)
    {
        foreach (var d in s_all)
        {
            if (d.Kind == kind)
            {
                return d;
            }
        }
        throw new System.ArgumentException("No descriptor for " + kind, nameof(kind));
    }
}
