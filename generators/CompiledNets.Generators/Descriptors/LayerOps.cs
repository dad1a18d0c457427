using CompiledNets.Generators.Planning;

namespace CompiledNets.Generators.Descriptors;

/// <summary><c>nn.Linear</c>: <c>y = x·Wᵀ + b</c>, optionally with a ReLU in the same pass.</summary>
internal sealed class LinearOp : OpDescriptor
{
    public override OpKind Kind => OpKind.Linear;

    public override (int Width, string? Problem) Shape(OpPlan op, int[] inputs) =>
        inputs[0] == op.InFeatures ? (op.OutFeatures, null) : (op.OutFeatures, "expects " + op.InFeatures + " input features");

    public override bool BackwardReadsInputs(OpPlan op) => true; // dW = dyᵀ·x

    public override bool BackwardReadsOutput(OpPlan op) => op.FusedRelu is not null && !op.BackwardDoneByNext;

    public override string Describe(OpPlan op) =>
        "Linear " + op.InFeatures + " -> " + op.OutFeatures + (op.FusedRelu is null ? "" : ", (" + op.FusedRelu + ") ReLU fused");

    /// <summary>
    /// Whether <paramref name="op"/> is a Linear narrow enough for <c>TinyLinearKernels</c>: at most 32 input and 16 output
    /// features. Measured (forward + parameter gradients + input gradient against <c>LinearKernels</c>, batch 32/64/112,
    /// loaded 2-core Zen 5): 1.5–1.7× faster at 10 → 10, 1.0–1.5× at 32 → 10, 0.9–1.2× at 16 → 16, but 0.6–0.9× with
    /// more than 16 outputs (24 → 24, 10 → 32, 32 → 32: the two-vector path), so wider outputs keep the general kernels.
    /// </summary>
    public static bool IsTiny(OpPlan op) => op.Kind == OpKind.Linear && op.InFeatures <= TinyMaxInFeatures && op.OutFeatures <= TinyMaxOutFeatures;

    /// <summary>The widest input of a Linear on <c>TinyLinearKernels</c> (its <c>MaxWidth</c>).</summary>
    public const int TinyMaxInFeatures = 32;

    /// <summary>The widest output of a Linear on <c>TinyLinearKernels</c> (one Vector512 per row).</summary>
    public const int TinyMaxOutFeatures = 16;

    /// <summary>The name of the generated <c>ISize</c> struct of width <paramref name="n"/>.</summary>
    public static string SizeType(int n) => "__W" + n;

    private static string Tiny(OpPlan op) => Kernels + "TinyLinearKernels.";

    private static string Widths(OpPlan op) => "<" + SizeType(op.InFeatures) + ", " + SizeType(op.OutFeatures) + ">";

    public override void EmitForward(IEmitContext c, OpPlan op) =>
        c.Writer.WriteLine(IsTiny(op)
            ? Tiny(op) + "Forward" + Widths(op) + "(" + c.Values(op.Inputs[0]) + ", " + op.Target + ".Weight.ReadOnlyData, "
              + (op.Bias ? op.Target + ".Bias!.ReadOnlyData" : "default") + ", " + c.Values(op.Output) + ", batch" + (op.FusedRelu is null ? "" : ", relu: true") + ");"
            : Kernels + "LinearKernels.Forward(" + c.Values(op.Inputs[0]) + ", " + op.Target + ".Weight.ReadOnlyData, "
              + (op.Bias ? op.Target + ".Bias!.ReadOnlyData" : "default") + ", " + c.Values(op.Output) + ", batch, "
              + op.InFeatures + ", " + op.OutFeatures + (op.FusedRelu is null ? "" : ", relu: true") + ");");

    public override bool HasGpu(OpPlan op) => true;

    public override void EmitGpuForward(IEmitContext c, OpPlan op) => LinearGpu.Forward(c, op);

    public override void EmitGpuBackward(IEmitContext c, OpPlan op) =>
        LinearGpu.Backward(c, op, stop => ReturnIf(c, stop), write => Deliver(c, op, 0, write));

    public override void EmitBackward(IEmitContext c, OpPlan op)
    {
        var w = c.Writer;
        string gOut = c.Grad(op.Output);
        if (op.FusedRelu is not null && !op.BackwardDoneByNext)
        {
            w.WriteLine(Kernels + "ActivationKernels.ReluBackward(" + gOut + ", " + c.Values(op.Output) + ");");
        }
        bool tiny = IsTiny(op);
        string dims = tiny ? ", batch);" : ", batch, " + op.InFeatures + ", " + op.OutFeatures + ");";
        string backwardInput = tiny ? Tiny(op) + "BackwardInput" + Widths(op) + "(" : Kernels + "LinearKernels.BackwardInput(";
        if (tiny)
        {
            // Weight and bias gradients in one pass; a frozen parameter (Parameter.RequiresGrad false) passes an empty span.
            string weight = op.Target + ".Weight", bias = op.Target + ".Bias!";
            w.WriteLine(Tiny(op) + "BackwardParameters" + Widths(op) + "(" + gOut + ", " + c.Values(op.Inputs[0]) + ", "
                + weight + ".RequiresGrad ? " + weight + ".Grad : default, "
                + (op.Bias ? bias + ".RequiresGrad ? " + bias + ".Grad : default" : "default") + ", batch);");
        }
        else
        {
            // Weight and bias gradients through the layer, which skips frozen parameters (Parameter.RequiresGrad).
            w.WriteLine(op.Target + ".AccumulateParameterGrads(" + gOut + ", " + c.Values(op.Inputs[0]) + ", batch);");
        }
        if (c.EarlyStop(op) is { } stop)
        {
            ReturnIf(c, stop); // nothing before this layer needs a gradient
        }
        Deliver(c, op, 0, (dx, add) => add
            ? backwardInput + gOut + ", " + op.Target + ".Weight.ReadOnlyData, " + c.Scratch(op.InFeatures) + dims + "\n"
              + Kernels + "ArithmeticKernels.Deliver(" + c.Scratch(op.InFeatures) + ", 1f, " + dx + ", accumulate: true);"
            : backwardInput + gOut + ", " + op.Target + ".Weight.ReadOnlyData, " + dx + dims);
    }
}

/// <summary>The GPU path of <see cref="LinearOp"/>.</summary>
internal static class LinearGpu
{
    /// <summary>
    /// The dropout that runs in the epilogue of <paramref name="op"/>'s GEMM on a device: the next operation, when it is a
    /// dropout working in place on this Linear's output (so the output has no other reader before it).
    /// </summary>
    public static OpPlan? FusedDropout(ModelPlan plan, OpPlan op)
    {
        if (op.Kind != OpKind.Linear || op.Index + 1 >= plan.Ops.Count)
        {
            return null;
        }
        var next = plan.Ops[op.Index + 1];
        return next.Kind == OpKind.Dropout && next.InPlaceSlot == 0 && next.Inputs[0] == op.Output ? next : null;
    }

    public static void Forward(IEmitContext c, OpPlan op)
    {
        var w = c.Writer;
        string args = "context, " + c.Values(op.Inputs[0]) + ", " + op.Target + ".Weight.DeviceData, "
            + (op.Bias ? op.Target + ".Bias!.DeviceData" : "default") + ", " + c.Values(op.Output);
        string dims = ", batch, " + op.InFeatures + ", " + op.OutFeatures;
        string plain = OpDescriptorText.Gpu + "LinearKernels.Forward(" + args + dims + (op.FusedRelu is null ? "" : ", relu: true") + ");";
        if (FusedDropout(c.Plan, op) is not { } drop)
        {
            w.WriteLine(plain);
            return;
        }
        // Bias, activation and the dropout mask (Philox) in the GEMM's epilogue.
        w.WriteLine("_training" + drop.Index + " = " + drop.Training + ";");
        w.WriteLine("if (_training" + drop.Index + ")");
        w.WriteLine("{");
        w.Indent++;
        w.WriteLine(OpDescriptorText.Gpu + "LinearKernels.ForwardDropout(" + args + ", " + c.Mask(drop) + dims + ", relu: " + (op.FusedRelu is null ? "false" : "true")
            + ", " + drop.P.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "f, " + OpDescriptorText.PhiloxKey(drop) + ");");
        w.Indent--;
        w.WriteLine("}");
        w.WriteLine("else");
        w.WriteLine("{");
        w.Indent++;
        w.WriteLine(plain);
        w.Indent--;
        w.WriteLine("}");
    }

    public static void Backward(IEmitContext c, OpPlan op, System.Action<string> returnIf, System.Action<System.Func<string, bool, string>> deliver)
    {
        var w = c.Writer;
        string gOut = c.Grad(op.Output);
        string gpu = OpDescriptorText.Gpu;
        if (op.FusedRelu is not null && !op.BackwardDoneByNext)
        {
            w.WriteLine(gpu + "ActivationKernels.ReluBackward(context, " + gOut + ", " + c.Values(op.Output) + ");");
        }
        string dims = ", batch, " + op.InFeatures + ", " + op.OutFeatures + ");";
        string x = c.Values(op.Inputs[0]);
        string weight = op.Target + ".Weight", bias = op.Target + ".Bias!";
        // Frozen parameters keep their gradients; a frozen weight with a trained bias writes dW into scratch.
        w.WriteLine("if (" + weight + ".RequiresGrad)");
        w.WriteLine("{");
        w.Indent++;
        w.WriteLine(gpu + "LinearKernels.BackwardWeight(context, " + gOut + ", " + x + ", " + weight + ".DeviceGrad, "
            + (op.Bias ? bias + ".RequiresGrad ? " + bias + ".DeviceGrad : default" : "default") + dims);
        w.Indent--;
        w.WriteLine("}");
        if (op.Bias)
        {
            w.WriteLine("else if (" + bias + ".RequiresGrad)");
            w.WriteLine("{");
            w.Indent++;
            w.WriteLine(gpu + "LinearKernels.BackwardWeight(context, " + gOut + ", " + x + ", DeviceBuffer(" + GpuSlots.WeightScratch(c.Plan) + ", "
                + (op.InFeatures * op.OutFeatures) + "), " + bias + ".DeviceGrad" + dims);
            w.Indent--;
            w.WriteLine("}");
        }
        if (c.EarlyStop(op) is { } stop)
        {
            returnIf(stop);
        }
        deliver((dx, add) => add
            ? gpu + "LinearKernels.BackwardInput(context, " + gOut + ", " + weight + ".DeviceData, " + c.Scratch(op.InFeatures) + dims + "\n"
              + gpu + "ArithmeticKernels.Deliver(context, " + c.Scratch(op.InFeatures) + ", 1f, " + dx + ", accumulate: true);"
            : gpu + "LinearKernels.BackwardInput(context, " + gOut + ", " + weight + ".DeviceData, " + dx + dims);
    }
}

/// <summary>Device buffer slots of the GPU path: activations, then gradients, masks, scratch, weight scratch.</summary>
internal static class GpuSlots
{
    public static int Activation(ModelPlan plan, int buffer) => buffer;

    public static int Gradient(ModelPlan plan, int buffer) => plan.Buffers.Count + buffer;

    public static int Mask(ModelPlan plan, OpPlan op) => plan.Buffers.Count + plan.GradBuffers.Count + op.Index;

    public static int Scratch(ModelPlan plan) => plan.Buffers.Count + plan.GradBuffers.Count + plan.Ops.Count;

    public static int WeightScratch(ModelPlan plan) => Scratch(plan) + 1;
}

internal static class OpDescriptorText
{
    public const string Gpu = "global::CompiledNets.Kernels.Gpu.";

    /// <summary>
    /// A dropout's Philox key, the same on the CPU and on a device (and in the eager <c>Dropout.Forward</c>): a seed drawn
    /// from the layer's generator once per forward, stream 0, step 0.
    /// </summary>
    public static string PhiloxKey(OpPlan drop) =>
        "new global::CompiledNets.PhiloxKey(" + drop.Generator + ".NextUInt64(), 0u, 0UL)";
}

/// <summary>A nested <c>[Model]</c>: its own generated <c>ForwardBatch</c>/<c>BackwardBatch</c>, its own buffers.</summary>
internal sealed partial class NestedModelOp : OpDescriptor
{
    public override OpKind Kind => OpKind.Model;

    public override (int Width, string? Problem) Shape(OpPlan op, int[] inputs) =>
        inputs[0] == op.InFeatures ? (op.OutFeatures, null) : (op.OutFeatures, "expects " + op.InFeatures + " input features");

    public override bool BackwardReadsInputs(OpPlan op) => true; // the nested model keeps its input segment for its backward

    public override string Describe(OpPlan op) => "nested model " + op.InFeatures + " -> " + op.OutFeatures;

    public override void EmitForward(IEmitContext c, OpPlan op) =>
        c.Writer.WriteLine("_n" + op.Output + " = " + op.Target + ".ForwardBatch(" + c.ValueSegment(op.Inputs[0]) + ", batch);");

    public override void EmitBackward(IEmitContext c, OpPlan op)
    {
        var w = c.Writer;
        int input = op.Inputs[0];
        string call = op.Target + ".BackwardBatch(" + c.GradSegment(op.Output) + ", ";
        if (c.EarlyStop(op) is { } stop)
        {
            ReturnIf(c, stop, call + "default, batch);"); // nothing before it needs a gradient: no input gradient, and stop after it
        }
        if (op.DeliveryOf(0) == Delivery.Overwrite)
        {
            w.WriteLine(call + c.GradSegment(input) + ", batch);"); // an empty gradInput asks it for parameter gradients only
            return;
        }
        w.WriteLine(call + c.ScratchSegment(op.InFeatures) + ", batch);");
        WhenGradInput(c, input, Kernels + "ArithmeticKernels.Deliver(" + c.Scratch(op.InFeatures) + ", 1f, " + c.Grad(input) + ", accumulate: true);");
    }
}
