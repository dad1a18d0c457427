using CompiledNets.Generators.Planning;

namespace CompiledNets.Generators.Descriptors;

/// <summary>
/// The shared shape of one-input element-wise operations: the forward copies the input into its own buffer unless
/// it runs in place, then works in place; the backward turns the output gradient into the input gradient in place
/// and then delivers it (nothing to do when the two share a buffer).
/// </summary>
internal abstract class UnaryOp : OpDescriptor
{
    public override bool CanRunInPlace(int slot) => true;

    public override bool CanAliasGradient(int slot) => true;

    public override string Describe(OpPlan op) => base.Describe(op) + (op.InPlaceSlot >= 0 ? ", in place" : ", into a new buffer");

    public override void EmitForward(IEmitContext c, OpPlan op)
    {
        if (op.InPlaceSlot < 0)
        {
            c.Writer.WriteLine(c.Values(op.Inputs[0]) + ".CopyTo(" + c.Values(op.Output) + ");");
        }
        EmitInPlace(c, op, c.Values(op.Output));
    }

    public override void EmitBackward(IEmitContext c, OpPlan op)
    {
        string gOut = c.Grad(op.Output);
        EmitBackwardInPlace(c, op, gOut);
        Deliver(c, op, 0, (dx, add) => Kernels + "ArithmeticKernels.Deliver(" + gOut + ", 1f, " + dx + ", accumulate: " + Bool(add) + ");");
    }

    protected abstract void EmitInPlace(IEmitContext c, OpPlan op, string y);

    protected abstract void EmitBackwardInPlace(IEmitContext c, OpPlan op, string g);

    public override void EmitGpuForward(IEmitContext c, OpPlan op)
    {
        if (op.InPlaceSlot < 0)
        {
            c.Writer.WriteLine(GpuKernels + "ArithmeticKernels.Copy(" + Ctx + ", " + c.Values(op.Inputs[0]) + ", " + c.Values(op.Output) + ");");
        }
        EmitGpuInPlace(c, op, c.Values(op.Output));
    }

    public override void EmitGpuBackward(IEmitContext c, OpPlan op)
    {
        string gOut = c.Grad(op.Output);
        EmitGpuBackwardInPlace(c, op, gOut);
        Deliver(c, op, 0, (dx, add) => GpuKernels + "ArithmeticKernels.Deliver(" + Ctx + ", " + gOut + ", 1f, " + dx + ", accumulate: " + Bool(add) + ");");
    }

    protected virtual void EmitGpuInPlace(IEmitContext c, OpPlan op, string y) => throw new System.NotSupportedException(Kind + " has no GPU path");

    protected virtual void EmitGpuBackwardInPlace(IEmitContext c, OpPlan op, string g) => throw new System.NotSupportedException(Kind + " has no GPU path");
}

/// <summary>ReLU, Sigmoid, Tanh: backwards that read the output.</summary>
internal sealed class ActivationOp(OpKind kind, string forward, string backward) : UnaryOp
{
    public override OpKind Kind => kind;

    public override bool BackwardReadsOutput(OpPlan op) => !op.BackwardDoneByNext;

    protected override void EmitInPlace(IEmitContext c, OpPlan op, string y) =>
        c.Writer.WriteLine(Kernels + "ActivationKernels." + forward + "(" + y + ");");

    protected override void EmitBackwardInPlace(IEmitContext c, OpPlan op, string g)
    {
        if (!op.BackwardDoneByNext)
        {
            c.Writer.WriteLine(Kernels + "ActivationKernels." + backward + "(" + g + ", " + c.Values(op.Output) + ");");
        }
    }

    public override bool HasGpu(OpPlan op) => true;

    protected override void EmitGpuInPlace(IEmitContext c, OpPlan op, string y) =>
        c.Writer.WriteLine(GpuKernels + "ActivationKernels." + forward + "(" + Ctx + ", " + y + ");");

    protected override void EmitGpuBackwardInPlace(IEmitContext c, OpPlan op, string g)
    {
        if (!op.BackwardDoneByNext)
        {
            c.Writer.WriteLine(GpuKernels + "ActivationKernels." + backward + "(" + Ctx + ", " + g + ", " + c.Values(op.Output) + ");");
        }
    }
}

/// <summary>Softmax (or log-softmax) over the features of each row; the backward reads the output.</summary>
internal sealed partial class SoftmaxOp(bool log) : UnaryOp
{
    public override OpKind Kind => log ? OpKind.LogSoftmax : OpKind.Softmax;

    public override bool BackwardReadsOutput(OpPlan op) => true;

    protected override void EmitInPlace(IEmitContext c, OpPlan op, string y) =>
        c.Writer.WriteLine(Kernels + "SoftmaxKernels." + (log ? "LogForward(" : "Forward(") + y + ", batch, " + op.OutFeatures + ");");

    protected override void EmitBackwardInPlace(IEmitContext c, OpPlan op, string g) =>
        c.Writer.WriteLine(Kernels + "SoftmaxKernels." + (log ? "LogBackward(" : "Backward(") + g + ", " + c.Values(op.Output) + ", batch, " + op.OutFeatures + ");");
}

/// <summary>Inverted dropout; its mask is kept per operation; after a single-consumer ReLU both backwards run in one pass.</summary>
internal sealed class DropoutOp : UnaryOp
{
    public override OpKind Kind => OpKind.Dropout;

    public override bool BackwardReadsOutput(OpPlan op) => op.BackwardFusesRelu;

    public override string Describe(OpPlan op) =>
        "Dropout p=" + op.P.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + (op.InPlaceSlot >= 0 ? ", in place" : ", into a new buffer")
        + (op.BackwardFusesRelu ? ", backward fused with the ReLU before" : "");

    protected override void EmitInPlace(IEmitContext c, OpPlan op, string y) =>
        EmitDropout(c, op, Kernels + "PhiloxDropoutKernels.Forward(" + y + ", " + c.Mask(op) + ", " + Float(op.P) + ", " + OpDescriptorText.PhiloxKey(op) + ");");

    protected override void EmitBackwardInPlace(IEmitContext c, OpPlan op, string g) => EmitDropoutBackward(c, op, g, Kernels, "");

    public override bool HasGpu(OpPlan op) => true;

    // The mask comes from Philox on the CPU and on a device alike, keyed by a seed drawn from the layer's generator, stream 0, step 0;
    // right after a Linear, in place on its output, the Linear's GEMM epilogue applies it (LinearGpu.FusedDropout).
    protected override void EmitGpuInPlace(IEmitContext c, OpPlan op, string y)
    {
        if (op.Index > 0 && LinearGpu.FusedDropout(c.Plan, c.Plan.Ops[op.Index - 1]) == op)
        {
            c.Writer.WriteLine("// applied in the epilogue of the Linear before");
            return;
        }
        EmitDropout(c, op, GpuKernels + "DropoutKernels.Forward(" + Ctx + ", " + y + ", " + c.Mask(op) + ", " + Float(op.P)
            + ", " + OpDescriptorText.PhiloxKey(op) + ");");
    }

    protected override void EmitGpuBackwardInPlace(IEmitContext c, OpPlan op, string g) => EmitDropoutBackward(c, op, g, GpuKernels, Ctx + ", ");

    private static void EmitDropout(IEmitContext c, OpPlan op, string call)
    {
        var w = c.Writer;
        w.WriteLine("_training" + op.Index + " = " + op.Training + ";");
        w.WriteLine("if (_training" + op.Index + ")");
        w.WriteLine("{");
        w.Indent++;
        w.WriteLine(call);
        w.Indent--;
        w.WriteLine("}");
    }

    private static void EmitDropoutBackward(IEmitContext c, OpPlan op, string g, string kernels, string ctx)
    {
        var w = c.Writer;
        string y = c.Values(op.Output);
        w.WriteLine("if (_training" + op.Index + ")");
        w.WriteLine("{");
        w.Indent++;
        w.WriteLine(op.BackwardFusesRelu
            ? kernels + "DropoutKernels.ReluBackward(" + ctx + g + ", " + c.Mask(op) + ", " + y + ");"
            : kernels + "DropoutKernels.Backward(" + ctx + g + ", " + c.Mask(op) + ");");
        w.Indent--;
        w.WriteLine("}");
        if (op.BackwardFusesRelu)
        {
            w.WriteLine("else");
            w.WriteLine("{");
            w.Indent++;
            w.WriteLine(kernels + "ActivationKernels.ReluBackward(" + ctx + g + ", " + y + ");");
            w.Indent--;
            w.WriteLine("}");
        }
    }
}

/// <summary><c>y = Scale·x + Shift</c>: a tensor with a float constant.</summary>
internal sealed partial class AffineOp : UnaryOp
{
    public override OpKind Kind => OpKind.Affine;

    public override string Describe(OpPlan op) => "y = " + Float(op.Scale) + "·x + " + Float(op.Shift) + (op.InPlaceSlot >= 0 ? ", in place" : "");

    public override void EmitForward(IEmitContext c, OpPlan op) =>
        c.Writer.WriteLine(Kernels + "ArithmeticKernels.Affine(" + c.Values(op.Inputs[0]) + ", " + Float(op.Scale) + ", " + Float(op.Shift) + ", " + c.Values(op.Output) + ");");

    public override void EmitBackward(IEmitContext c, OpPlan op)
    {
        string gOut = c.Grad(op.Output);
        if (op.DeliveryOf(0) == Delivery.Alias)
        {
            if (op.Scale != 1f)
            {
                c.Writer.WriteLine(Kernels + "ArithmeticKernels.Affine(" + gOut + ", " + Float(op.Scale) + ", 0f, " + gOut + ");");
            }
            return;
        }
        Deliver(c, op, 0, (dx, add) => Kernels + "ArithmeticKernels.Deliver(" + gOut + ", " + Float(op.Scale) + ", " + dx + ", accumulate: " + Bool(add) + ");");
    }

    protected override void EmitInPlace(IEmitContext c, OpPlan op, string y)
    {
    }

    protected override void EmitBackwardInPlace(IEmitContext c, OpPlan op, string g)
    {
    }
}

/// <summary><c>a + b</c> and <c>a - b</c> of same-width tensors: the backward reads nothing but the output gradient.</summary>
internal sealed partial class AddOp(OpKind kind) : OpDescriptor
{
    public override OpKind Kind => kind;

    public override (int Width, string? Problem) Shape(OpPlan op, int[] inputs) =>
        inputs[0] == inputs[1] ? (inputs[0], null) : (inputs[0], "needs tensors of the same width; got " + inputs[0] + " and " + inputs[1] + " features");

    public override bool CanRunInPlace(int slot) => true;

    public override bool CanAliasGradient(int slot) => slot == 0 || kind == OpKind.Add; // a - b: b's gradient is −g

    public override string Describe(OpPlan op) => (kind == OpKind.Add ? "a + b" : "a - b") + (op.InPlaceSlot >= 0 ? ", in place" : "");

    public override void EmitForward(IEmitContext c, OpPlan op) =>
        c.Writer.WriteLine(Kernels + "ArithmeticKernels." + (kind == OpKind.Add ? "Add" : "Subtract") + "("
            + c.Values(op.Inputs[0]) + ", " + c.Values(op.Inputs[1]) + ", " + c.Values(op.Output) + ");");

    public override void EmitBackward(IEmitContext c, OpPlan op)
    {
        // Slot order, as the planner decided the deliveries: with the same value on both sides (h + h, h - h) slot 0
        // overwrites and slot 1 adds. An aliased slot delivers nothing and neither write changes gOut, so the order
        // is free otherwise.
        string gOut = c.Grad(op.Output);
        Deliver(c, op, 0, (dx, add) => Kernels + "ArithmeticKernels.Deliver(" + gOut + ", 1f, " + dx + ", accumulate: " + Bool(add) + ");");
        Deliver(c, op, 1, (dx, add) => Kernels + "ArithmeticKernels.Deliver(" + gOut + ", " + (kind == OpKind.Add ? "1f" : "-1f") + ", " + dx + ", accumulate: " + Bool(add) + ");");
    }
}

/// <summary><c>a * b</c> element-wise: each input's gradient is the output gradient times the other input.</summary>
internal sealed partial class MultiplyOp : OpDescriptor
{
    public override OpKind Kind => OpKind.Multiply;

    public override (int Width, string? Problem) Shape(OpPlan op, int[] inputs) =>
        inputs[0] == inputs[1] ? (inputs[0], null) : (inputs[0], "needs tensors of the same width; got " + inputs[0] + " and " + inputs[1] + " features");

    public override bool BackwardReadsInputs(OpPlan op) => true;

    public override string Describe(OpPlan op) => "a * b";

    public override void EmitForward(IEmitContext c, OpPlan op) =>
        c.Writer.WriteLine(Kernels + "ArithmeticKernels.Multiply(" + c.Values(op.Inputs[0]) + ", " + c.Values(op.Inputs[1]) + ", " + c.Values(op.Output) + ");");

    public override void EmitBackward(IEmitContext c, OpPlan op)
    {
        string gOut = c.Grad(op.Output);
        Deliver(c, op, 0, (dx, add) => Kernels + "ArithmeticKernels.DeliverProduct(" + gOut + ", " + c.Values(op.Inputs[1]) + ", " + dx + ", accumulate: " + Bool(add) + ");");
        Deliver(c, op, 1, (dx, add) => Kernels + "ArithmeticKernels.DeliverProduct(" + gOut + ", " + c.Values(op.Inputs[0]) + ", " + dx + ", accumulate: " + Bool(add) + ");");
    }
}

/// <summary>Concatenation along the features: each input owns a band of the output's columns.</summary>
internal sealed partial class CatOp : OpDescriptor
{
    public override OpKind Kind => OpKind.Cat;

    public override (int Width, string? Problem) Shape(OpPlan op, int[] inputs)
    {
        int sum = 0;
        foreach (int w in inputs)
        {
            sum += w;
        }
        return (sum, null);
    }

    public override string Describe(OpPlan op) => "concatenation of " + op.Inputs.Count + " tensors along the features";

    public override void EmitForward(IEmitContext c, OpPlan op)
    {
        int offset = 0;
        foreach (int input in op.Inputs)
        {
            int width = c.Plan.Values[input].Width;
            c.Writer.WriteLine(Kernels + "ArithmeticKernels.CatForward(" + c.Values(input) + ", " + c.Values(op.Output) + ", batch, " + width + ", " + op.OutFeatures + ", " + offset + ");");
            offset += width;
        }
    }

    public override void EmitBackward(IEmitContext c, OpPlan op)
    {
        string gOut = c.Grad(op.Output);
        int offset = 0;
        for (int slot = 0; slot < op.Inputs.Count; slot++)
        {
            int width = c.Plan.Values[op.Inputs[slot]].Width;
            int at = offset;
            Deliver(c, op, slot, (dx, add) => Kernels + "ArithmeticKernels.CatBackward(" + gOut + ", " + dx + ", batch, " + width + ", " + op.OutFeatures + ", " + at + ", accumulate: " + Bool(add) + ");");
            offset += width;
        }
    }
}
