using CompiledNets.Tests.Gradients;
using CompiledNets.Tests.Models;
using Xunit;

namespace CompiledNets.Tests.Runtime;

/// <summary>Parameter.RequiresGrad and Module.RequiresGrad: frozen parameters keep their values and get no gradient.</summary>
public sealed class FreezingTests
{
    private static Module Child(Module net, string name) => net.NamedChildren().Single(c => c.Name == name).Module;

    private static (Tensor X, IntTensor Y) Data(int batch, int inFeatures, int classes, ulong seed)
    {
        var g = new Generator(seed);
        return (Tensor.FromArray(Enumerable.Range(0, batch * inFeatures).Select(_ => (float)g.NextNormal()).ToArray(), batch, inFeatures),
            IntTensor.FromArray(Enumerable.Range(0, batch).Select(_ => g.NextInt(classes)).ToArray()));
    }

    public static TheoryData<string> Optimizers() => new() { "Adam", "AdamW", "SGD" };

    /// <summary>
    /// Fine-tuning the head: the frozen sub-module's parameters are bit-identical after 10 steps (also with weight decay,
    /// which would move them if the optimizer did not skip them) and their gradients stay zero; the head trains.
    /// </summary>
    [Theory]
    [MemberData(nameof(Optimizers))]
    public void Frozen_submodule_is_bit_identical_after_ten_steps(string optimizer)
    {
        Generator.Default.ManualSeed(4);
        var net = new NestedFirstNet();
        var block = Child(net, "block");
        Assert.Same(block, block.RequiresGrad(false));
        var frozen = block.Parameters().ToList();
        Assert.All(frozen, p => Assert.False(p.RequiresGrad));
        Assert.All(Child(net, "head").Parameters(), p => Assert.True(p.RequiresGrad));
        var before = net.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Data.ToArray());
        Optimizer opt = optimizer switch
        {
            "Adam" => new Adam(net.Parameters(), lr: 0.05f, weightDecay: 0.1f),
            "AdamW" => new AdamW(net.Parameters(), lr: 0.05f),
            _ => new SGD(net.Parameters(), lr: 0.05f, momentum: 0.9f, weightDecay: 0.1f),
        };
        var lossFn = new CrossEntropyLoss();
        var (x, y) = Data(8, NestedFirstNet.InFeatures, NestedFirstNet.OutFeatures, 3);
        for (int step = 0; step < 10; step++)
        {
            net.Train();
            lossFn.Forward(net.Forward(x), y).Backward();
            Assert.All(frozen, p => Assert.All(p.Grad.ToArray(), g => Assert.Equal(0f, g)));
            opt.Step();
            opt.ZeroGrad();
        }
        foreach (var (name, p) in net.NamedParameters())
        {
            if (name.StartsWith("block.", StringComparison.Ordinal))
            {
                Assert.Equal(before[name], p.Data.ToArray()); // bit for bit
            }
            else
            {
                Assert.NotEqual(before[name], p.Data.ToArray());
            }
        }
    }

    /// <summary>
    /// Freezing a layer changes nothing upstream: the gradient still flows through it, so the parameters before it get
    /// the same gradients as in the unfrozen model, while its own gradient is not computed.
    /// </summary>
    [Fact]
    public void Gradients_flow_through_a_frozen_layer_unchanged()
    {
        Generator.Default.ManualSeed(9);
        var a = new NestedMiddleNet();
        var b = new NestedMiddleNet();
        b.LoadStateDict(a.StateDict());
        a.Eval();
        b.Eval();
        var block = (InnerBlock)Child(b, "block");
        block.RequiresGrad(false);
        var (x, y) = Data(6, NestedMiddleNet.InFeatures, NestedMiddleNet.OutFeatures, 5);
        new CrossEntropyLoss().Forward(a.Forward(x), y).Backward();
        new CrossEntropyLoss().Forward(b.Forward(x), y).Backward();
        var gradsA = a.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad.ToArray());
        foreach (var (name, p) in b.NamedParameters())
        {
            if (name.StartsWith("block.", StringComparison.Ordinal))
            {
                Assert.All(p.Grad.ToArray(), g => Assert.Equal(0f, g));
                Assert.Contains(gradsA[name], g => g != 0f);
            }
            else
            {
                Assert.Equal(gradsA[name], p.Grad.ToArray());
            }
        }
    }

    /// <summary>
    /// Frozen layers first (a Linear before a nested model, or a whole nested model before a Linear): the backward stops after
    /// the last trainable layer, and the trainable layers get exactly the gradients of the unfrozen model.
    /// </summary>
    [Theory]
    [InlineData(nameof(NestedMiddleNet), "stem")]
    [InlineData(nameof(NestedTwiceNet), "first")]
    [InlineData(nameof(TutorialNet), "hidden")]
    public void Backward_stops_before_frozen_leading_layers_with_the_same_gradients(string model, string frozenLayer)
    {
        Generator.Default.ManualSeed(12);
        var a = ModelUnderTest.Create(model);
        var b = ModelUnderTest.Create(model);
        b.Model.LoadStateDict(a.Model.StateDict());
        a.Model.Eval();
        b.Model.Eval();
        Child(b.Model, frozenLayer).RequiresGrad(false);
        var (x, y) = Data(5, a.InFeatures, a.OutFeatures, 6);
        var lossA = new CrossEntropyLoss();
        var lossB = new CrossEntropyLoss();
        lossA.Forward(a.Forward(x), y).Backward();
        lossB.Forward(b.Forward(x), y).Backward();
        var gradsA = a.Model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad.ToArray());
        foreach (var (name, p) in b.Model.NamedParameters())
        {
            if (name.StartsWith(frozenLayer + ".", StringComparison.Ordinal))
            {
                Assert.All(p.Grad.ToArray(), g => Assert.Equal(0f, g));
            }
            else
            {
                Assert.Equal(gradsA[name], p.Grad.ToArray());
            }
        }
    }

    /// <summary>The docs' fine-tuning example: <c>net.body.RequiresGrad(false)</c> on a public layer field; AdamW trains the head only.</summary>
    [Fact]
    public void Fine_tuning_the_head_as_the_docs_show()
    {
        Generator.Default.ManualSeed(8);
        var net = new FineTuneNet();
        net.body.RequiresGrad(false);
        var body = net.body.StateDict();
        var head = net.StateDict()["head.weight"].ToArray();
        var opt = new AdamW(net.Parameters(), lr: 1e-2f);
        var (x, y) = Data(6, FineTuneNet.InFeatures, FineTuneNet.OutFeatures, 1);
        for (int i = 0; i < 10; i++)
        {
            new CrossEntropyLoss().Forward(net.Forward(x), y).Backward();
            opt.Step();
            opt.ZeroGrad();
        }
        foreach (var (key, t) in net.body.StateDict())
        {
            Assert.Equal(body[key].ToArray(), t.ToArray());
        }
        Assert.NotEqual(head, net.StateDict()["head.weight"].ToArray());
    }

    [Fact]
    public void Freezing_only_the_bias_still_trains_the_weight_and_unfreezing_resumes()
    {
        Generator.Default.ManualSeed(2);
        var net = new TutorialNet();
        var hidden = (Linear)Child(net, "hidden");
        hidden.Bias!.RequiresGrad = false;
        var (x, y) = Data(5, 4, 3, 8);
        net.Eval();
        new CrossEntropyLoss().Forward(net.Forward(x), y).Backward();
        Assert.All(hidden.Bias.Grad.ToArray(), g => Assert.Equal(0f, g));
        Assert.Contains(hidden.Weight.Grad.ToArray(), g => g != 0f);
        net.RequiresGrad();
        Assert.All(net.Parameters(), p => Assert.True(p.RequiresGrad));
        new CrossEntropyLoss().Forward(net.Forward(x), y).Backward();
        Assert.Contains(hidden.Bias.Grad.ToArray(), g => g != 0f);
    }

    /// <summary>
    /// The generated backward keeps which early stops apply and recomputes it when <see cref="Parameter.RequiresGradEpoch"/>
    /// moves: freezing the first layer after some steps stops the backward before it (its gradient stays zero, the head's
    /// is unchanged), unfreezing it brings its gradient back bit for bit.
    /// </summary>
    [Fact]
    public void Freezing_and_unfreezing_between_steps_moves_the_early_stop()
    {
        Generator.Default.ManualSeed(5);
        var net = new TutorialNet();
        var hidden = (Linear)Child(net, "hidden");
        var (x, y) = Data(7, 4, 3, 9);
        net.Eval();
        float[][] Step()
        {
            foreach (var p in net.Parameters())
            {
                p.Grad.Clear();
            }
            new CrossEntropyLoss().Forward(net.Forward(x), y).Backward();
            return net.Parameters().Select(p => p.Grad.ToArray()).ToArray();
        }
        var trained = Step();
        Assert.Contains(trained[0], g => g != 0f);
        int epoch = Parameter.RequiresGradEpoch;
        hidden.RequiresGrad(false);
        Assert.NotEqual(epoch, Parameter.RequiresGradEpoch);
        var frozen = Step();
        Assert.All(frozen[0], g => Assert.Equal(0f, g));
        Assert.All(frozen[1], g => Assert.Equal(0f, g));
        Assert.Equal(trained[2], frozen[2]);
        Assert.Equal(trained[3], frozen[3]);
        epoch = Parameter.RequiresGradEpoch;
        hidden.Bias!.RequiresGrad = false; // already false: no change, the epoch stays
        Assert.Equal(epoch, Parameter.RequiresGradEpoch);
        hidden.RequiresGrad(true);
        var again = Step();
        Assert.Equal(trained.Select(g => g.ToArray()), again);
    }

    /// <summary>Clipping leaves frozen parameters out of the norm and untouched, as PyTorch leaves out parameters without a grad.</summary>
    [Fact]
    public void Clipping_skips_frozen_parameters()
    {
        var a = new Parameter(2);
        var b = new Parameter(2);
        a.Grad[0] = 3f;
        a.Grad[1] = 4f;
        b.Grad[0] = 100f;
        b.RequiresGrad = false;
        Assert.Equal(5f, NNUtils.ClipGradNorm([a, b], 1f));
        Assert.Equal(100f, b.Grad[0]);
        Assert.Equal(0.6f, a.Grad[0], 1e-6f);
        NNUtils.ClipGradValue([a, b], 0.1f);
        Assert.Equal(100f, b.Grad[0]);
        Assert.Equal(0.1f, a.Grad[0]);
        Assert.Equal(0f, NNUtils.ClipGradNorm([b], 1f));
    }
}
