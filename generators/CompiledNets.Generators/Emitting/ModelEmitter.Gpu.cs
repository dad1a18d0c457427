using System.CodeDom.Compiler;
using System.Linq;
using CompiledNets.Generators.Descriptors;
using CompiledNets.Generators.Planning;

namespace CompiledNets.Generators.Emitting;

/// <summary>
/// The GPU path of a model, from the same <see cref="ModelPlan"/> as the CPU path: the same operations, fusions, buffer
/// liveness and gradient delivery, written as launches of the ILGPU kernels in <c>Kernels/Gpu</c> with the model's
/// sizes as constants, over device buffers the runtime grows per slot (<c>Module.DeviceBuffer</c>). A model with an
/// operation that has no GPU kernel names it in <c>DeviceUnsupportedOperation</c>, which <c>To(device)</c> refuses.
/// </summary>
internal static partial class ModelEmitter
{
    private const string DeviceSpan = "global::CompiledNets.DeviceSpan<float>";

    private static void EmitGpu(IndentedTextWriter w, ModelPlan plan)
    {
        var unsupported = plan.Ops.FirstOrDefault(op => !OpDescriptor.For(op.Kind).HasGpu(op));
        w.WriteLine("/// <inheritdoc/>");
        if (unsupported is not null)
        {
            w.WriteLine("protected override string? DeviceUnsupportedOperation => \"" + Escape(unsupported.Label + " (" + unsupported.Kind + ")") + "\";");
            return;
        }
        // Nested models may come from another assembly: whether they have a GPU path is asked at run time.
        var nested = plan.Ops.Where(op => op.Kind == OpKind.Model).Select(op => (op.Target!, op.Label)).Distinct().ToList();
        w.WriteLine("protected override string? DeviceUnsupportedOperation => "
            + (nested.Count == 0 ? "null" : string.Join(" ?? ", nested.Select(n => "NestedDeviceUnsupportedOperation(" + n.Item1 + ", \"" + Escape(n.Label) + "\")"))) + ";");
        var c = new GpuContext(w, plan);
        w.WriteLineNoTabs("");
        w.WriteLine("/// <inheritdoc/>");
        w.WriteLine("public override " + DeviceSpan + " ForwardBatchDevice(" + DeviceSpan + " input, int batch)");
        w.WriteLine("{");
        w.Indent++;
        w.WriteLine("CountForwardRun();");
        w.WriteLine("var context = DeviceContext;");
        w.WriteLine("_dx = input;");
        foreach (var op in plan.Ops)
        {
            var d = OpDescriptor.For(op.Kind);
            w.WriteLine("// v" + op.Output + " = (" + op.Label + ")(" + string.Join(", ", op.Inputs.Select(v => "v" + v)) + "): " + d.Describe(op));
            d.EmitGpuForward(c, op);
        }
        w.WriteLine("return " + c.Values(plan.Output) + ";");
        w.Indent--;
        w.WriteLine("}");
        w.WriteLineNoTabs("");
        w.WriteLine("/// <inheritdoc/>");
        w.WriteLine("public override void BackwardBatchDevice(" + DeviceSpan + " gradOutput, " + DeviceSpan + " gradInput, int batch)");
        w.WriteLine("{");
        w.Indent++;
        EmitFreezingRefreshCall(w, plan);
        w.WriteLine("var context = DeviceContext;");
        for (int i = plan.Ops.Count - 1; i >= 0; i--)
        {
            var op = plan.Ops[i];
            w.WriteLine("// v" + op.Output + " = (" + op.Label + ")(" + string.Join(", ", op.Inputs.Select(v => "v" + v)) + ") backward");
            OpDescriptor.For(op.Kind).EmitGpuBackward(c, op);
        }
        w.Indent--;
        w.WriteLine("}");
        w.WriteLineNoTabs("");
        w.WriteLine("private " + DeviceSpan + " _dx;");
        foreach (var v in plan.Values.Where(v => v.Buffer == ValuePlan.External))
        {
            w.WriteLine("private " + DeviceSpan + " _dn" + v.Id + ";");
        }
    }

    private static string Escape(string text) => text.Replace("\\", "\\\\").Replace("\"", "\\\"");

    /// <summary>The device expressions of a plan's values and buffers: slots of <c>Module.DeviceBuffer</c>.</summary>
    private sealed class GpuContext(IndentedTextWriter writer, ModelPlan plan) : IEmitContext
    {
        public IndentedTextWriter Writer { get; } = writer;

        public ModelPlan Plan { get; } = plan;

        private int Width(int value) => Plan.Values[value].Width;

        private static string Slot(int slot, int width) => "DeviceBuffer(" + slot + ", batch * " + width + ")";

        public string Values(int value) => Plan.Values[value].Buffer switch
        {
            ValuePlan.ModelInput => "_dx",
            ValuePlan.External => "_dn" + value, // a nested model's output, in its own device buffer
            var b => Slot(GpuSlots.Activation(Plan, b), Width(value)),
        };

        public string ValueSegment(int value) => Values(value);

        public string Grad(int value) => Plan.Values[value].GradBuffer switch
        {
            ValuePlan.ModelInput => "gradInput",
            ValuePlan.External => "gradOutput",
            var b => Slot(GpuSlots.Gradient(Plan, b), Width(value)),
        };

        public string GradSegment(int value) => Grad(value);

        public string Mask(OpPlan op) => Slot(GpuSlots.Mask(Plan, op), op.OutFeatures);

        public string? EarlyStop(OpPlan op)
        {
            if (op.Inputs[0] == 0)
            {
                return null;
            }
            return "gradInput.IsEmpty" + FrozenBeforeCheck(Plan, op);
        }

        public string GradInputAsked => "!gradInput.IsEmpty";

        public string Scratch(int width) => Slot(GpuSlots.Scratch(Plan), width);

        public string ScratchSegment(int width) => Scratch(width);
    }
}
