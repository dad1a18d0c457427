using CompiledNets.Tests.Gradients;
using Xunit;

namespace CompiledNets.Tests.CustomForward;

/// <summary>Models with a [Forward] method: the compiled Forward against the same method run eagerly; layer arrays as ModuleList; allocations.</summary>
public sealed class CustomForwardTests
{
    public static TheoryData<string, int, bool> EagerCases()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (string name in ModelUnderTest.CustomNames)
        {
            foreach (int batch in new[] { 1, 4, 33 })
            {
                data.Add(name, batch, false);
                data.Add(name, batch, true);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(EagerCases))]
    public void Compiled_forward_equals_the_eager_run_of_the_same_method(string model, int batch, bool train)
    {
        Generator.Default.ManualSeed(77);
        var m = ModelUnderTest.Create(model);
        m.SeedDropouts(5);
        m.Model.Train(train);
        var g = new Generator(9);
        var x = new float[batch * m.InFeatures];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)g.NextNormal();
        }
        var input = Tensor.FromArray(x, batch, m.InFeatures);
        m.ReseedDropouts();
        float[] compiled = m.Forward(input).ToArray();
        m.ReseedDropouts();
        float[] eager = ((ICustomForward)m.Model).Define(input).ToArray();
        Assert.Equal(batch * m.OutFeatures, compiled.Length);
        Assert.Equal(eager.Length, compiled.Length);
        for (int i = 0; i < eager.Length; i++)
        {
            // Same kernels, same order of operations: equal up to the GEMM-vs-row-kernel rounding of large layers.
            Assert.True(MathF.Abs(eager[i] - compiled[i]) <= 1e-5f * (1 + MathF.Abs(eager[i])), $"[{i}] eager {eager[i]:R}, compiled {compiled[i]:R}");
        }
        Assert.Contains(compiled, v => v != 0f);
    }

    [Fact]
    public void Layer_arrays_are_ModuleLists_with_PyTorch_keys_and_print()
    {
        var net = new BlockArrayNet();
        Assert.Equal(
            ["inp.weight", "inp.bias", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias", "blocks.2.weight", "blocks.2.bias",
             "head.weight", "head.bias"],
            net.NamedParameters().Select(p => p.Name));
        Assert.Equal(
            """
            BlockArrayNet(
              (inp): Linear(in_features=5, out_features=8, bias=True)
              (blocks): ModuleList(
                (0-2): 3 x Linear(in_features=8, out_features=8, bias=True)
              )
              (drop): Dropout(p=0.3)
              (head): Linear(in_features=8, out_features=3, bias=True)
            )
            """.Replace("\r\n", "\n"), net.ToString());
        Assert.Contains(("blocks.1", typeof(Linear)), net.NamedModules().Select(m => (m.Name, m.Module.GetType())));
        var dict = net.StateDict();
        var copy = new BlockArrayNet();
        copy.LoadStateDict(dict);
        Assert.Equal(dict["blocks.2.weight"].ToArray(), copy.StateDict()["blocks.2.weight"].ToArray());
    }

    [Fact]
    public void ModuleList_prints_distinct_modules_one_per_line()
    {
        var list = new ModuleList([new Linear(2, 3), new Linear(2, 3), new Linear(3, 1), new ReLU()]);
        Assert.Equal(
            "ModuleList(\n  (0-1): 2 x Linear(in_features=2, out_features=3, bias=True)\n  (2): Linear(in_features=3, out_features=1, bias=True)\n  (3): ReLU()\n)",
            list.ToString());
    }

    [Fact]
    public void Parameters_keep_declaration_order_whatever_order_the_forward_uses()
    {
        var net = new NestedCustomNet(); // forward uses stem, inner, skip, head; skip is declared after inner
        Assert.Equal(["stem", "inner", "skip", "head"], net.NamedChildren().Select(c => c.Name));
    }

    [Fact]
    public void A_training_step_of_the_residual_array_model_allocates_nothing()
    {
        var net = new BlockArrayNet();
        var lossFn = new CrossEntropyLoss();
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        var x = new Tensor(32, BlockArrayNet.InFeatures);
        var y = new IntTensor(32);
        void Step()
        {
            net.Train();
            var loss = lossFn.Forward(net.Forward(x), y);
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
        }
        long perStep = Allocations.PerCall(Step);
        Assert.Equal(0, perStep);   // the output view is re-stamped once a loss has backpropagated through it
    }

    [Fact]
    public void Eager_operations_check_shapes()
    {
        var a = new Tensor(2, 3);
        var b = new Tensor(2, 4);
        var e = Assert.Throws<ArgumentException>(() => a + b);
        Assert.Contains("[2, 3] and [2, 4]", e.Message);
        Assert.Equal([2, 7], F.Cat(a, b).Shape.ToArray());
        Assert.Throws<ArgumentException>(() => F.Cat(a, new Tensor(3, 1)));
        var c = Tensor.FromArray([1f, -2f, 3f, -4f], 2, 2);
        Assert.Equal([3f, -4f, 9f, -8f], (c * 2f + F.Relu(c)).ToArray());
        Assert.Equal([0f, -3f, 2f, -5f], (c - 1f).ToArray());
        Assert.Equal([-1f, 2f, -3f, 4f], (-c).ToArray());
        Assert.Equal([0.5f, -1f, 1.5f, -2f], (c / 2f).ToArray());
        Assert.Equal([0f, 3f, -2f, 5f], (1f - c).ToArray());
        Assert.Equal([1f, 4f, 9f, 16f], (c * c).ToArray());
    }
}
