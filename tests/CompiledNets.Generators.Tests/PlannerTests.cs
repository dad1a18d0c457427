using CompiledNets.Generators.Model;
using CompiledNets.Generators.Planning;
using Xunit;

namespace CompiledNets.Generators.Tests;

/// <summary>The planner on specs alone: shapes, buffers by liveness, fusion, in-place and gradient-delivery decisions.</summary>
public class PlannerTests
{
    private static LayerSpec Linear(string name, int i, int o, bool bias = true) => new(name, LayerKind.Linear, i, o, bias, 0f, 0, null, null, null);

    private static LayerSpec Act(string name, LayerKind kind, float p = 0f) => new(name, kind, 0, 0, true, p, 1, null, null, null);

    private static ModelSpec Spec(params LayerSpec[] layers) =>
        new("", EquatableArray<string>.Empty, "Net", "global::Net", false, layers.ToEquatableArray(), null);

    private static ModelPlan PlanOf(params LayerSpec[] layers) => PlanOf(Spec(layers));

    private static ModelPlan PlanOf(ModelSpec spec)
    {
        var result = ModelPlanner.Plan(spec);
        Assert.Empty(result.Diagnostics);
        return result.Plan!;
    }

    /// <summary>A graph: node 0 is the input; each further node reads earlier ones.</summary>
    private static ModelSpec Graph(LayerSpec[] layers, params NodeSpec[] nodes) =>
        Spec(layers) with
        {
            Forward = new ForwardSpec("Define",
                new[] { new NodeSpec(NodeKind.Input, EquatableArray<int>.Empty, "x", null) }.Concat(nodes).ToEquatableArray(), nodes.Length, null),
        };

    private static NodeSpec Call(string field, int input, int element = -1) =>
        new(NodeKind.Layer, new[] { input }.ToEquatableArray(), field, null) { Field = field, Element = element };

    private static NodeSpec Op(NodeKind kind, params int[] inputs) => new(kind, inputs.ToEquatableArray(), kind.ToString(), null);

    private static ValuePlan ValueOf(ModelPlan plan, OpPlan op) => plan.Values[op.Output];

    [Fact]
    public void TutorialNetFusesReluIntoLinearAndDropoutInPlace()
    {
        var plan = PlanOf(Linear("hidden", 4, 10), Act("relu", LayerKind.ReLU), Act("drop", LayerKind.Dropout, 0.2f), Linear("out", 10, 3));
        Assert.Equal((4, 3), (plan.InFeatures, plan.OutFeatures));
        Assert.Equal([OpKind.Linear, OpKind.Dropout, OpKind.Linear], plan.Ops.Select(s => s.Kind));
        Assert.Equal("relu", plan.Ops[0].FusedRelu);
        Assert.True(plan.Ops[0].BackwardDoneByNext);
        Assert.True(plan.Ops[1].BackwardFusesRelu);
        Assert.Equal(0, plan.Ops[1].InPlaceSlot);
        Assert.Equal(ValueOf(plan, plan.Ops[0]).Buffer, ValueOf(plan, plan.Ops[1]).Buffer);
        Assert.Equal(2, plan.Buffers.Count);
        Assert.Equal(3, plan.Output);
        Assert.Equal(Delivery.Alias, plan.Ops[1].DeliveryOf(0)); // the dropout's input gradient is its output gradient
        Assert.Equal(Delivery.Overwrite, plan.Ops[2].DeliveryOf(0));
    }

    [Fact]
    public void ActivationAfterAnActivationThatReadsItsOutputGetsItsOwnBuffer()
    {
        var plan = PlanOf(Linear("a", 4, 8), Act("s", LayerKind.Sigmoid), Act("t", LayerKind.Tanh), Act("d", LayerKind.Dropout, 0.5f));
        Assert.Equal(0, plan.Ops[1].InPlaceSlot); // sigmoid in place on the Linear output
        Assert.Equal(-1, plan.Ops[2].InPlaceSlot); // tanh would destroy the sigmoid output
        Assert.NotEqual(ValueOf(plan, plan.Ops[1]).Buffer, ValueOf(plan, plan.Ops[2]).Buffer);
        Assert.Equal(-1, plan.Ops[3].InPlaceSlot); // dropout would destroy the tanh output
        Assert.False(plan.Ops[3].BackwardFusesRelu);
    }

    [Fact]
    public void LogSoftmaxWorksInPlaceAndItsOutputIsNotOverwritten()
    {
        var plan = PlanOf(Linear("a", 4, 8), Act("l", LayerKind.LogSoftmax), Act("d", LayerKind.Dropout, 0.5f));
        Assert.Equal([OpKind.Linear, OpKind.LogSoftmax, OpKind.Dropout], plan.Ops.Select(s => s.Kind));
        Assert.Equal(0, plan.Ops[1].InPlaceSlot); // in place on the Linear output
        Assert.Equal(-1, plan.Ops[2].InPlaceSlot); // its backward reads its output: the dropout copies
    }

    [Fact]
    public void StandaloneReluAfterDropoutWorksInPlace()
    {
        var plan = PlanOf(Linear("a", 4, 8), Act("d", LayerKind.Dropout, 0.5f), Act("r", LayerKind.ReLU));
        Assert.Equal(0, plan.Ops[2].InPlaceSlot);
        Assert.False(plan.Ops[1].BackwardFusesRelu);
    }

    [Fact]
    public void ShapeMismatchNamesBothLayers()
    {
        var result = ModelPlanner.Plan(Spec(Linear("a", 4, 10), Act("r", LayerKind.ReLU), Linear("b", 12, 3)));
        Assert.Null(result.Plan);
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal("CN0002", d.Id);
        Assert.Equal(["b", "12", "r", "10"], d.Arguments);
    }

    [Fact]
    public void NestedModelSizesComeFromItsOwnPlan()
    {
        var block = Spec(Linear("x", 8, 16), Act("t", LayerKind.Tanh));
        var nested = new LayerSpec("block", LayerKind.Model, 0, 0, false, 0f, 0, "global::Block", block, null);
        var plan = PlanOf(Linear("stem", 4, 8), nested, Act("r", LayerKind.ReLU), Linear("head", 16, 2));
        Assert.Equal((4, 2), (plan.InFeatures, plan.OutFeatures));
        Assert.Equal(ValuePlan.External, ValueOf(plan, plan.Ops[1]).Buffer);
        Assert.Equal(-1, plan.Ops[2].InPlaceSlot); // never write into the nested model's output
    }

    [Fact]
    public void EmptyModelAndActivationFirstAreErrors()
    {
        Assert.Equal("CN0006", Assert.Single(ModelPlanner.Plan(Spec()).Diagnostics).Id);
        Assert.Equal("CN0007", Assert.Single(ModelPlanner.Plan(Spec(Act("r", LayerKind.ReLU), Linear("a", 4, 2))).Diagnostics).Id);
    }

    [Fact]
    public void ASecondDropoutAfterAReluFusesWithItAndKeepsItsOwnMask()
    {
        var plan = PlanOf(Linear("a", 4, 8), Act("d1", LayerKind.Dropout, 0.5f), Act("r", LayerKind.ReLU), Act("d2", LayerKind.Dropout, 0.5f));
        Assert.Equal(0, plan.Ops[1].InPlaceSlot);
        Assert.True(plan.Ops[3].BackwardFusesRelu); // masks are per operation: no conflict with d1's
        Assert.True(plan.Ops[2].BackwardDoneByNext);
        Assert.Equal(1, plan.Buffers.Count); // everything in place on the Linear output
    }

    [Fact]
    public void ResidualGraphAccumulatesTheFannedOutGradient()
    {
        // h = relu(inp(x)); h = h + relu(block(h)); return head(h)
        var layers = new[] { Linear("inp", 6, 8), Linear("block", 8, 8), Linear("head", 8, 3) };
        var plan = PlanOf(Graph(layers,
            Call("inp", 0), Op(NodeKind.Relu, 1), Call("block", 2), Op(NodeKind.Relu, 3), Op(NodeKind.Add, 2, 4), Call("head", 5)));
        Assert.Equal([OpKind.Linear, OpKind.Linear, OpKind.Add, OpKind.Linear], plan.Ops.Select(o => o.Kind));
        var h = plan.Values[plan.Ops[0].Output];
        Assert.Equal(2, h.Consumers);
        Assert.True(h.ReadByBackward); // block's weight gradient reads it
        var add = plan.Ops[2];
        // Backward order: head, add (writes dh first, and the branch's gradient), block (adds into dh).
        Assert.Equal(Delivery.Overwrite, add.DeliveryOf(0));
        Assert.Equal(Delivery.Alias, add.DeliveryOf(1)); // the single-consumer branch shares the sum's gradient
        Assert.Equal(Delivery.Accumulate, plan.Ops[1].DeliveryOf(0));
        Assert.Equal(8, plan.ScratchWidth); // the Linear's input gradient is added through the scratch buffer
        Assert.Equal(-1, add.InPlaceSlot); // both summands are read by a backward: the sum gets its own buffer
    }

    [Fact]
    public void BuffersAreReusedByLivenessWhenNoBackwardReadsTheValues()
    {
        // y = ((lin(x) + 1) * 2 ... as separate values): x -> a = lin(x); b = a + 1 (a dead after, not read);
        // c = cat(b, b) needs a new buffer while b is alive; d = c * 3; out = head(d).
        var layers = new[] { Linear("lin", 4, 5), Linear("head", 10, 2) };
        var plan = PlanOf(Graph(layers,
            Call("lin", 0),
            new NodeSpec(NodeKind.Affine, new[] { 1 }.ToEquatableArray(), "a + 1", null) { Shift = 1f },
            Op(NodeKind.Cat, 2, 2),
            new NodeSpec(NodeKind.Affine, new[] { 3 }.ToEquatableArray(), "c * 3", null) { Scale = 3f },
            new NodeSpec(NodeKind.Affine, new[] { 4 }.ToEquatableArray(), "d + 2", null) { Shift = 2f },
            Call("head", 5)));
        var a = plan.Values[1];
        var b = plan.Values[2];
        var c = plan.Values[3];
        Assert.Equal(0, plan.Ops[1].InPlaceSlot);            // a + 1 over a (a dies here, nobody reads it backward)
        Assert.Equal(a.Buffer, b.Buffer);
        Assert.NotEqual(b.Buffer, c.Buffer);                 // the concatenation reads b while it writes c
        Assert.Equal(0, plan.Ops[3].InPlaceSlot);            // c * 3 in place
        Assert.Equal(c.Buffer, plan.Values[5].Buffer);       // d + 2 in place too; head reads it in backward
        Assert.Equal(2, plan.Buffers.Count);                 // a/b, c/d/e, and the output reuses a/b's buffer:
        Assert.Equal(a.Buffer, plan.Values[6].Buffer);       // b died at the concatenation, so head's output takes its buffer
        Assert.Equal(5, plan.Buffers[a.Buffer].Width);       // the wider of the two
        Assert.Equal(Delivery.Overwrite, plan.Ops[2].DeliveryOf(0));
        Assert.Equal(Delivery.Accumulate, plan.Ops[2].DeliveryOf(1)); // cat(b, b): the second band adds
    }

    [Fact]
    public void GradientBuffersAreReusedByLiveness()
    {
        // A chain of four Linears: gradients of v1 and v3 never live at the same time.
        var plan = PlanOf(Linear("a", 4, 6), Linear("b", 6, 6), Linear("c", 6, 6), Linear("d", 6, 2));
        Assert.Equal(2, plan.GradBuffers.Count);
        Assert.Equal(plan.Values[1].GradBuffer, plan.Values[3].GradBuffer);
        Assert.NotEqual(plan.Values[1].GradBuffer, plan.Values[2].GradBuffer);
        Assert.Equal(ValuePlan.External, plan.Values[4].GradBuffer); // the output's gradient is gradOutput
    }

    [Fact]
    public void InputWidthIsSolvedFromTheFirstLayerThatFixesIt()
    {
        // relu(x) + x, then cat(that, x) feeds a Linear of 10 inputs: x must have 5 features.
        var layers = new[] { Linear("head", 10, 2) };
        var plan = PlanOf(Graph(layers, Op(NodeKind.Relu, 0), Op(NodeKind.Add, 1, 0), Op(NodeKind.Cat, 2, 0), Call("head", 3)));
        Assert.Equal(5, plan.InFeatures);
        Assert.Equal(Delivery.Overwrite, plan.Ops[2].DeliveryOf(1)); // x's gradient: written first by the concatenation
        Assert.Equal(Delivery.Accumulate, plan.Ops[1].DeliveryOf(1));
        Assert.Equal(Delivery.Accumulate, plan.Ops[0].DeliveryOf(0));
    }

    [Fact]
    public void ShapeErrorInAGraphNamesBothWidths()
    {
        var layers = new[] { Linear("a", 4, 8), Linear("b", 8, 6) };
        var spec = Graph(layers, Call("a", 0), Call("b", 1), new NodeSpec(NodeKind.Add, new[] { 2, 1 }.ToEquatableArray(), "y + h", null));
        var d = Assert.Single(ModelPlanner.Plan(spec).Diagnostics);
        Assert.Equal("CN0013", d.Id);
        Assert.Equal(["y + h", "needs tensors of the same width; got 6 and 8 features"], d.Arguments);
    }

    [Fact]
    public void UnusedBranchesAreDropped()
    {
        var layers = new[] { Linear("a", 4, 8), Linear("unused", 8, 8), Linear("b", 8, 2) };
        var plan = PlanOf(Graph(layers, Call("a", 0), Call("unused", 1), Call("b", 1)));
        Assert.Equal(["a", "b"], plan.Ops.Select(o => o.Label));
    }
}

/// <summary>The emitted backward with parameter freezing (<c>AccumulateParameterGrads</c>, <c>AnyRequiresGrad</c> once per <c>RequiresGradEpoch</c>).</summary>
public class FreezingEmissionTests
{
    private static string EmitResidual(int inFeatures, int width, int outFeatures)
    {
        LayerSpec Linear(string name, int i, int o) => new(name, LayerKind.Linear, i, o, true, 0f, 0, null, null, null);
        var layers = new[] { Linear("inp", inFeatures, width), Linear("block", width, width), Linear("head", width, outFeatures) };
        NodeSpec Call(string field, int input) => new(NodeKind.Layer, new[] { input }.ToEquatableArray(), field, null) { Field = field };
        var nodes = new[]
        {
            new NodeSpec(NodeKind.Input, EquatableArray<int>.Empty, "x", null), Call("inp", 0), Call("block", 1),
            new NodeSpec(NodeKind.Add, new[] { 1, 2 }.ToEquatableArray(), "h + b", null), Call("head", 3),
        };
        var spec = new ModelSpec("", EquatableArray<string>.Empty, "Net", "global::Net", false, layers.ToEquatableArray(), null,
            Forward: new ForwardSpec("Define", nodes.ToEquatableArray(), 4, null)); // returns node 4, the head
        return CompiledNets.Generators.Emitting.ModelEmitter.Emit(ModelPlanner.Plan(spec).Plan!);
    }

    [Fact]
    public void WithFreezingLinearsGoThroughTheLayerAndTheBackwardStopsWhenNothingBeforeTrains()
    {
        string code = EmitResidual(40, 64, 2); // wider than TinyLinearKernels.MaxWidth: the general kernels
        Assert.Contains("this.@head.AccumulateParameterGrads(", code);
        Assert.DoesNotContain("Cpu.LinearKernels.BackwardWeight", code); // the CPU half; the GPU half (Kernels.Gpu) launches its own
        Assert.DoesNotContain("TinyLinearKernels", code);
        // The walk over the layers runs in RefreshFreezing, only when some RequiresGrad changed; each step compares one int.
        Assert.Contains("if (_freezingEpoch != global::CompiledNets.Parameter.RequiresGradEpoch)", code);
        Assert.Contains("_frozenBefore3 = !this.@inp.AnyRequiresGrad() && !this.@block.AnyRequiresGrad();", code);
        Assert.Contains("_frozenBefore1 = !this.@inp.AnyRequiresGrad();", code);
        Assert.Contains("if (gradInput.Count == 0 && _frozenBefore3)", code);
        Assert.Contains("if (gradInput.Count == 0 && _frozenBefore1)", code);
        Assert.Equal(3, code.Split(".AnyRequiresGrad()").Length - 1); // all inside RefreshFreezing
        Assert.Equal(3, code.Split("AccumulateParameterGrads(").Length - 1);
    }

    [Fact]
    public void NarrowLinearsRunOnTinyKernelsThatSkipFrozenParameters()
    {
        string code = EmitResidual(4, 8, 2);
        Assert.DoesNotContain("AccumulateParameterGrads(", code);
        Assert.Contains("TinyLinearKernels.Forward<__W4, __W8>(", code);
        Assert.Contains("TinyLinearKernels.BackwardParameters<__W8, __W2>(", code);
        Assert.Contains("this.@head.Weight.RequiresGrad ? this.@head.Weight.Grad : default, this.@head.Bias!.RequiresGrad ? this.@head.Bias!.Grad : default, batch);", code);
        Assert.Contains("private struct __W8 : global::CompiledNets.Kernels.Cpu.ISize { public static int Value => 8; }", code);
        Assert.Contains("if (gradInput.Count == 0 && _frozenBefore3)", code);
    }
}
