using CompiledNets.Generators.Model;
using CompiledNets.Generators.Planning;
using Xunit;

namespace CompiledNets.Generators.Tests;

/// <summary>The planner on specs alone: shapes, buffers, fusion and in-place decisions.</summary>
public class PlannerTests
{
    private static LayerSpec Linear(string name, int i, int o, bool bias = true) => new(name, LayerKind.Linear, i, o, bias, 0f, 0, null, null, null);

    private static LayerSpec Act(string name, LayerKind kind, float p = 0f) => new(name, kind, 0, 0, true, p, 1, null, null, null);

    private static ModelSpec Spec(params LayerSpec[] layers) =>
        new("", EquatableArray<string>.Empty, "Net", "global::Net", false, layers.ToEquatableArray(), null);

    private static ModelPlan PlanOf(params LayerSpec[] layers)
    {
        var result = ModelPlanner.Plan(Spec(layers));
        Assert.Empty(result.Diagnostics);
        return result.Plan!;
    }

    [Fact]
    public void TutorialNetFusesReluIntoLinearAndDropoutInPlace()
    {
        var plan = PlanOf(Linear("hidden", 4, 10), Act("relu", LayerKind.ReLU), Act("drop", LayerKind.Dropout, 0.2f), Linear("out", 10, 3));
        Assert.Equal((4, 3), (plan.InFeatures, plan.OutFeatures));
        Assert.Equal([StepKind.Linear, StepKind.Dropout, StepKind.Linear], plan.Steps.Select(s => s.Kind));
        Assert.Equal("relu", plan.Steps[0].FusedReLU);
        Assert.True(plan.Steps[0].BackwardDoneByNext);
        Assert.True(plan.Steps[1].BackwardFusesReLU);
        Assert.Equal(plan.Steps[1].Input, plan.Steps[1].Output);
        Assert.Equal(2, plan.Buffers.Count);
        Assert.True(plan.Buffers[0].HasMask);
        Assert.Equal(1, plan.OutputBuffer);
    }

    [Fact]
    public void ActivationAfterAnActivationThatReadsItsOutputGetsItsOwnBuffer()
    {
        var plan = PlanOf(Linear("a", 4, 8), Act("s", LayerKind.Sigmoid), Act("t", LayerKind.Tanh), Act("d", LayerKind.Dropout, 0.5f));
        Assert.Equal(plan.Steps[1].Input, plan.Steps[1].Output); // sigmoid in place on the Linear output
        Assert.NotEqual(plan.Steps[2].Input, plan.Steps[2].Output); // tanh would destroy the sigmoid output
        Assert.True(plan.Steps[2].Copies);
        Assert.NotEqual(plan.Steps[3].Input, plan.Steps[3].Output); // dropout would destroy the tanh output
        Assert.False(plan.Steps[3].BackwardFusesReLU);
    }

    [Fact]
    public void LogSoftmaxWorksInPlaceAndItsOutputIsNotOverwritten()
    {
        var plan = PlanOf(Linear("a", 4, 8), Act("l", LayerKind.LogSoftmax), Act("d", LayerKind.Dropout, 0.5f));
        Assert.Equal([StepKind.Linear, StepKind.LogSoftmax, StepKind.Dropout], plan.Steps.Select(s => s.Kind));
        Assert.Equal(plan.Steps[1].Input, plan.Steps[1].Output); // in place on the Linear output
        Assert.True(plan.Steps[2].Copies); // its backward reads its output: the dropout copies
    }

    [Fact]
    public void StandaloneReluAfterDropoutWorksInPlace()
    {
        var plan = PlanOf(Linear("a", 4, 8), Act("d", LayerKind.Dropout, 0.5f), Act("r", LayerKind.ReLU));
        Assert.Equal(plan.Steps[2].Input, plan.Steps[2].Output);
        Assert.False(plan.Steps[1].BackwardFusesReLU);
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
        Assert.True(plan.Buffers[plan.Steps[1].Output].External);
        Assert.True(plan.Steps[2].Copies); // never write into the nested model's output
    }

    [Fact]
    public void EmptyModelAndActivationFirstAreErrors()
    {
        Assert.Equal("CN0006", Assert.Single(ModelPlanner.Plan(Spec()).Diagnostics).Id);
        Assert.Equal("CN0007", Assert.Single(ModelPlanner.Plan(Spec(Act("r", LayerKind.ReLU), Linear("a", 4, 2))).Diagnostics).Id);
    }

    [Fact]
    public void ASecondDropoutOnAMaskedBufferGetsItsOwnBufferAndMask()
    {
        var plan = PlanOf(Linear("a", 4, 8), Act("d1", LayerKind.Dropout, 0.5f), Act("r", LayerKind.ReLU), Act("d2", LayerKind.Dropout, 0.5f));
        var first = plan.Steps[1];
        var second = plan.Steps[3];
        Assert.Equal(first.Input, first.Output);
        Assert.NotEqual(second.Input, second.Output);
        Assert.True(plan.Buffers[first.Output].HasMask);
        Assert.True(plan.Buffers[second.Output].HasMask);
    }
}
