using CompiledNets.Generators.Planning;

namespace CompiledNets.Generators.Descriptors;

// The GPU halves of the custom-forward operations and of nested models: the same plan, deliveries and in-place decisions
// as their CPU halves, as launches of Kernels/Gpu (ArithmeticKernels.Graph.cs, SoftmaxKernels.Rows.cs).

internal sealed partial class SoftmaxOp
{
    private string GpuName(bool backward) => (Kind == OpKind.LogSoftmax ? "Log" : "") + (backward ? "Backward" : "Forward");

    public override bool HasGpu(OpPlan op) => true;

    protected override void EmitGpuInPlace(IEmitContext c, OpPlan op, string y) =>
        c.Writer.WriteLine(GpuKernels + "SoftmaxKernels." + GpuName(false) + "(" + Ctx + ", " + y + ", batch, " + op.OutFeatures + ");");

    protected override void EmitGpuBackwardInPlace(IEmitContext c, OpPlan op, string g) =>
        c.Writer.WriteLine(GpuKernels + "SoftmaxKernels." + GpuName(true) + "(" + Ctx + ", " + g + ", " + c.Values(op.Output) + ", batch, " + op.OutFeatures + ");");
}

internal sealed partial class AffineOp
{
    public override bool HasGpu(OpPlan op) => true;

    public override void EmitGpuForward(IEmitContext c, OpPlan op) =>
        c.Writer.WriteLine(GpuKernels + "ArithmeticKernels.Affine(" + Ctx + ", " + c.Values(op.Inputs[0]) + ", " + Float(op.Scale) + ", " + Float(op.Shift) + ", " + c.Values(op.Output) + ");");

    public override void EmitGpuBackward(IEmitContext c, OpPlan op)
    {
        string gOut = c.Grad(op.Output);
        if (op.DeliveryOf(0) == Delivery.Alias)
        {
            if (op.Scale != 1f)
            {
                c.Writer.WriteLine(GpuKernels + "ArithmeticKernels.Affine(" + Ctx + ", " + gOut + ", " + Float(op.Scale) + ", 0f, " + gOut + ");");
            }
            return;
        }
        Deliver(c, op, 0, (dx, add) => GpuKernels + "ArithmeticKernels.Deliver(" + Ctx + ", " + gOut + ", " + Float(op.Scale) + ", " + dx + ", accumulate: " + Bool(add) + ");");
    }
}

internal sealed partial class AddOp
{
    public override bool HasGpu(OpPlan op) => true;

    public override void EmitGpuForward(IEmitContext c, OpPlan op) =>
        c.Writer.WriteLine(GpuKernels + "ArithmeticKernels." + (Kind == OpKind.Add ? "Add" : "Subtract") + "(" + Ctx + ", "
            + c.Values(op.Inputs[0]) + ", " + c.Values(op.Inputs[1]) + ", " + c.Values(op.Output) + ");");

    public override void EmitGpuBackward(IEmitContext c, OpPlan op)
    {
        // The CPU half's slot order (see EmitBackward).
        string gOut = c.Grad(op.Output);
        Deliver(c, op, 0, (dx, add) => GpuKernels + "ArithmeticKernels.Deliver(" + Ctx + ", " + gOut + ", 1f, " + dx + ", accumulate: " + Bool(add) + ");");
        Deliver(c, op, 1, (dx, add) => GpuKernels + "ArithmeticKernels.Deliver(" + Ctx + ", " + gOut + ", " + (Kind == OpKind.Add ? "1f" : "-1f") + ", " + dx + ", accumulate: " + Bool(add) + ");");
    }
}

internal sealed partial class MultiplyOp
{
    public override bool HasGpu(OpPlan op) => true;

    public override void EmitGpuForward(IEmitContext c, OpPlan op) =>
        c.Writer.WriteLine(GpuKernels + "ArithmeticKernels.Multiply(" + Ctx + ", " + c.Values(op.Inputs[0]) + ", " + c.Values(op.Inputs[1]) + ", " + c.Values(op.Output) + ");");

    public override void EmitGpuBackward(IEmitContext c, OpPlan op)
    {
        string gOut = c.Grad(op.Output);
        Deliver(c, op, 0, (dx, add) => GpuKernels + "ArithmeticKernels.DeliverProduct(" + Ctx + ", " + gOut + ", " + c.Values(op.Inputs[1]) + ", " + dx + ", accumulate: " + Bool(add) + ");");
        Deliver(c, op, 1, (dx, add) => GpuKernels + "ArithmeticKernels.DeliverProduct(" + Ctx + ", " + gOut + ", " + c.Values(op.Inputs[0]) + ", " + dx + ", accumulate: " + Bool(add) + ");");
    }
}

internal sealed partial class CatOp
{
    public override bool HasGpu(OpPlan op) => true;

    public override void EmitGpuForward(IEmitContext c, OpPlan op)
    {
        int offset = 0;
        foreach (int input in op.Inputs)
        {
            int width = c.Plan.Values[input].Width;
            c.Writer.WriteLine(GpuKernels + "ArithmeticKernels.CatForward(" + Ctx + ", " + c.Values(input) + ", " + c.Values(op.Output) + ", batch, " + width + ", " + op.OutFeatures + ", " + offset + ");");
            offset += width;
        }
    }

    public override void EmitGpuBackward(IEmitContext c, OpPlan op)
    {
        string gOut = c.Grad(op.Output);
        int offset = 0;
        for (int slot = 0; slot < op.Inputs.Count; slot++)
        {
            int width = c.Plan.Values[op.Inputs[slot]].Width;
            int at = offset;
            Deliver(c, op, slot, (dx, add) => GpuKernels + "ArithmeticKernels.CatBackward(" + Ctx + ", " + gOut + ", " + dx + ", batch, " + width + ", " + op.OutFeatures + ", " + at + ", accumulate: " + Bool(add) + ");");
            offset += width;
        }
    }
}

/// <summary>
/// A nested model on a device: its own generated <c>ForwardBatchDevice</c>/<c>BackwardBatchDevice</c> and device buffers.
/// Whether it has a GPU path is known only at run time (it may come from another assembly): the parent's
/// <c>DeviceUnsupportedOperation</c> asks it (<c>Module.NestedDeviceUnsupportedOperation</c>).
/// </summary>
internal sealed partial class NestedModelOp
{
    public override bool HasGpu(OpPlan op) => true;

    public override void EmitGpuForward(IEmitContext c, OpPlan op)
    {
        c.Writer.WriteLine(c.Values(op.Output) + " = " + op.Target + ".ForwardBatchDevice(" + c.Values(op.Inputs[0]) + ", batch);");
        c.Writer.WriteLine("_r" + op.Index + " = " + op.Target + ".ForwardRuns;");
    }

    public override void EmitGpuBackward(IEmitContext c, OpPlan op)
    {
        var w = c.Writer;
        int input = op.Inputs[0];
        string call = op.Target + ".BackwardBatchDevice(" + c.Grad(op.Output) + ", ";
        if (c.EarlyStop(op) is { } stop)
        {
            ReturnIf(c, stop, call + "default, batch);");
        }
        if (op.DeliveryOf(0) == Delivery.Overwrite)
        {
            w.WriteLine(call + c.Grad(input) + ", batch);"); // an empty gradInput asks it for parameter gradients only
            return;
        }
        w.WriteLine(call + c.Scratch(op.InFeatures) + ", batch);");
        WhenGradInput(c, input, GpuKernels + "ArithmeticKernels.Deliver(" + Ctx + ", " + c.Scratch(op.InFeatures) + ", 1f, " + c.Grad(input) + ", accumulate: true);");
    }
}
