using Xunit;

namespace CompiledNets.Tests.Models;

/// <summary>What the generator and the Module base give every model: printing, parameters, modes, state dicts.</summary>
public class ModuleTests
{
    [Fact]
    public void PrintMatchesPyTorchLayout()
    {
        Assert.Equal("""
            TutorialNet(
              (hidden): Linear(in_features=4, out_features=10, bias=True)
              (relu): ReLU()
              (drop): Dropout(p=0.2)
              (out): Linear(in_features=10, out_features=3, bias=True)
            )
            """.Replace("\r\n", "\n"), new TutorialNet().ToString());
    }

    [Fact]
    public void NestedPrintIsIndented()
    {
        Assert.Equal("""
            NestedNet(
              (block): HiddenBlock(
                (hidden): Linear(in_features=4, out_features=6, bias=True)
                (tanh): Tanh()
              )
              (head): Linear(in_features=6, out_features=2, bias=False)
            )
            """.Replace("\r\n", "\n"), new NestedNet().ToString());
        Assert.Equal("LogisticRegression(\n  (lin): Linear(in_features=4, out_features=3, bias=True)\n  (softmax): Softmax(dim=1)\n)", new LogisticRegression().ToString());
    }

    [Fact]
    public void TutorialNetHas83ParametersIn4Tensors()
    {
        var net = new TutorialNet();
        Assert.Equal(83, net.ParameterCount);
        Assert.Equal(4, net.Parameters().Count());
        Assert.Equal(["hidden.weight", "hidden.bias", "out.weight", "out.bias"], net.NamedParameters().Select(p => p.Name));
        Assert.Equal([[10, 4], [10], [3, 10], [3]], net.NamedParameters().Select(p => p.Parameter.Shape.ToArray()));
        Assert.Equal(TutorialNet.InFeatures, 4);
        Assert.Equal(TutorialNet.OutFeatures, 3);
    }

    [Fact]
    public void ModulesAndNestedKeys()
    {
        var net = new NestedNet();
        Assert.Equal(["", "block", "block.hidden", "block.tanh", "head"], net.NamedModules().Select(m => m.Name));
        Assert.Equal(["block.hidden.weight", "block.hidden.bias", "head.weight"], net.NamedParameters().Select(p => p.Name));
        Assert.Equal(4 * 6 + 6 + 6 * 2, net.ParameterCount);
        Assert.Equal(2, net.Modules().OfType<Linear>().Count());
    }

    [Fact]
    public void ParametersAreOneContiguousBlock()
    {
        var net = new NestedNet();
        var ps = net.Parameters().ToList();
        for (int i = 1; i < ps.Count; i++)
        {
            Assert.Same(ps[0].DataArray, ps[i].DataArray);
            Assert.Equal(ps[i - 1].Offset + ps[i - 1].Numel, ps[i].Offset);
        }
    }

    [Fact]
    public void DefaultInitIsPyTorchsBounds()
    {
        Generator.Default.ManualSeed(1);
        var net = new TutorialNet();
        var hidden = (Linear)net.NamedModules().Single(m => m.Name == "hidden").Module;
        float bound = 1f / MathF.Sqrt(4);
        Assert.All(hidden.Weight.Data.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(hidden.Bias!.Data.ToArray(), v => Assert.InRange(v, -bound, bound));
        // Uniform(±0.5) over 40 values: the spread is wide, not a constant.
        Assert.True(hidden.Weight.Data.ToArray().Max() - hidden.Weight.Data.ToArray().Min() > 0.5f);
    }

    [Fact]
    public void SameSeedSameWeightsOtherSeedOtherWeights()
    {
        Generator.Default.ManualSeed(7);
        var a = new TutorialNet().StateDict();
        Generator.Default.ManualSeed(7);
        var b = new TutorialNet().StateDict();
        Generator.Default.ManualSeed(8);
        var c = new TutorialNet().StateDict();
        foreach (var (key, t) in a)
        {
            Assert.Equal(t.ToArray(), b[key].ToArray());
            Assert.NotEqual(t.ToArray(), c[key].ToArray());
        }
    }

    [Fact]
    public void PerTypeInitOverModules()
    {
        var net = new TutorialNet();
        foreach (var m in net.Modules())
        {
            if (m is Linear lin)
            {
                Init.Constant(lin.Weight, 0.5f);
                Init.Constant(lin.Bias!, 0.1f);
            }
        }
        Assert.All(net.Parameters(), p => Assert.True(p.Data.ToArray().All(v => v is 0.5f or 0.1f)));
        var logits = net.Eval().Forward(Tensor.FromArray([1f, 1f, 1f, 1f], 1, 4));
        // hidden: 4·0.5 + 0.1 = 2.1 each; out: 10·2.1·0.5 + 0.1 = 10.6
        Assert.Equal([10.6f, 10.6f, 10.6f], logits.ToArray(), new FloatTolerance(1e-5f));
    }

    [Fact]
    public void TrainAndEvalReachEverySubModule()
    {
        var net = new NestedNet();
        Assert.True(net.IsTraining);
        net.Eval();
        Assert.All(net.Modules(), m => Assert.False(m.IsTraining));
        net.Train();
        Assert.All(net.Modules(), m => Assert.True(m.IsTraining));
    }

    [Fact]
    public void EvalForwardIsDeterministicAndTrainForwardDropsValues()
    {
        Generator.Default.ManualSeed(3);
        var net = new TutorialNet();
        var x = Tensor.FromArray(Enumerable.Range(0, 64 * 4).Select(i => (i % 7) * 0.3f).ToArray(), 64, 4);
        net.Eval();
        var a = net.Forward(x).Clone();
        var b = net.Forward(x).Clone();
        Assert.Equal(a.ToArray(), b.ToArray());
        net.Train();
        var c = net.Forward(x).Clone();
        Assert.NotEqual(a.ToArray(), c.ToArray());
    }

    [Fact]
    public void StateDictRoundTripAndStrictErrors()
    {
        var source = new TutorialNet();
        var target = new TutorialNet();
        var dict = source.StateDict();
        var result = target.LoadStateDict(dict);
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Assert.Equal(source.Parameters().SelectMany(p => p.Data.ToArray()), target.Parameters().SelectMany(p => p.Data.ToArray()));

        var broken = new StateDict();
        broken.Add("hidden.weight", new Tensor(4, 10));
        broken.Add("hidden.bias", new Tensor(10));
        broken.Add("extra", new Tensor(1));
        var before = target.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
        var ex = Assert.Throws<ArgumentException>(() => target.LoadStateDict(broken));
        Assert.Contains("size mismatch for hidden.weight: expected shape [10, 4], found [4, 10]", ex.Message);
        Assert.Contains("missing key: out.weight", ex.Message);
        Assert.Contains("missing key: out.bias", ex.Message);
        Assert.Contains("unexpected key: extra", ex.Message);
        Assert.Equal(before, target.Parameters().SelectMany(p => p.Data.ToArray()));

        var partial = new StateDict();
        partial.Add("out.bias", Tensor.FromArray([1f, 2f, 3f]));
        partial.Add("extra", new Tensor(1));
        var report = target.LoadStateDict(partial, strict: false);
        Assert.Equal(["hidden.weight", "hidden.bias", "out.weight"], report.MissingKeys);
        Assert.Equal(["extra"], report.UnexpectedKeys);
        Assert.Equal([1f, 2f, 3f], target.NamedParameters().Single(p => p.Name == "out.bias").Parameter.Data.ToArray());
    }

    [Fact]
    public void ForwardRejectsWrongShapesAndAcceptsAVector()
    {
        var net = new TutorialNet();
        var ex = Assert.Throws<ArgumentException>(() => net.Forward(new Tensor(5, 3)));
        Assert.Contains("expects an input of shape [batch, 4] with batch ≥ 1 (or one row, [4]); got [5, 3]", ex.Message);
        Assert.Throws<ArgumentException>(() => net.Forward(new Tensor(0, 4)));
        var y = net.Eval().Forward(Tensor.FromArray([1f, 2f, 3f, 4f]));
        Assert.Equal([3], y.Shape.ToArray());
    }

    [Fact]
    public void AnOutputReadAfterTheNextForwardThrows()
    {
        var net = new TutorialNet();
        var first = net.Forward(new Tensor(2, 4));
        var kept = first.Clone();
        _ = net.Forward(new Tensor(2, 4));
        var ex = Assert.Throws<InvalidOperationException>(() => first.AsSpan());
        Assert.Contains("Clone()", ex.Message);
        Assert.Equal(2, kept.Size(0));
        var lossFn = new CrossEntropyLoss();
        Assert.Throws<InvalidOperationException>(() => lossFn.Forward(first, IntTensor.FromArray([0, 1])));
    }

    [Fact]
    public void BuffersGrowOnceThenATrainingStepAllocatesNothing()
    {
        var net = new TutorialNet();
        var lossFn = new CrossEntropyLoss();
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        var x = new Tensor(32, 4);
        var y = new IntTensor(32);
        void Step()
        {
            var loss = lossFn.Forward(net.Forward(x), y);
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
        }
        long perStep = Allocations.PerCall(Step);
        // No buffers, and the output view is re-stamped once its loss has backpropagated.
        Assert.Equal(0, perStep);
    }

    [Fact]
    public void AnOutputKeepsItsViewUntilBackwardThenTheViewIsReused()
    {
        var net = new TutorialNet();
        var lossFn = new CrossEntropyLoss();
        var x = new Tensor(2, 4);
        var y = IntTensor.FromArray([0, 1]);
        // Not backpropagated: each Forward returns a new view, and the older one throws.
        var first = net.Forward(x);
        var second = net.Forward(x);
        Assert.NotSame(first, second);
        Assert.False(first.IsCurrent);
        Assert.Throws<InvalidOperationException>(() => first.AsSpan());
        // Backpropagated: the next Forward re-stamps the same view (a training step allocates nothing).
        lossFn.Forward(second, y).Backward();
        var third = net.Forward(x);
        Assert.Same(second, third);
        Assert.True(third.IsCurrent);
        // A new view again when the batch (so the shape) changes.
        lossFn.Forward(third, y).Backward();
        var fourth = net.Forward(new Tensor(3, 4));
        Assert.NotSame(third, fourth);
        Assert.Equal([3, 3], fourth.Shape.ToArray());
        Assert.False(third.IsCurrent);
    }

    [Fact]
    public void ReuseOutputView_makes_an_inference_forward_allocate_nothing()
    {
        var net = new TutorialNet();
        net.Eval();
        var x = new Tensor(1, 4);
        var first = net.Forward(x);
        Assert.NotSame(first, net.Forward(x)); // default: a new view per forward
        net.ReuseOutputView = true;
        var a = net.Forward(x);
        var b = net.Forward(x);
        Assert.Same(a, b);
        Assert.True(a.IsCurrent);
        Assert.Equal(0, Allocations.PerCall(() => net.Forward(x)));
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => MathF.Abs(a - b) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
