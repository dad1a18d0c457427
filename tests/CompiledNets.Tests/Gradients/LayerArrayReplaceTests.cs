using Xunit;

namespace CompiledNets.Tests.Gradients;

/// <summary>A [Forward] model with a public layer array, for the replacement test.</summary>
[Model]
public partial class ReplaceableBlocksNet
{
    [Layer] readonly Linear inp = new(4, 4);
    [Layer] public readonly Linear[] blocks = [new(4, 4), new(4, 4)];

    [Forward]
    public Tensor Define(Tensor x)
    {
        var h = inp.Forward(x);
        foreach (var b in blocks)
        {
            h = F.Relu(b.Forward(h));
        }
        return h;
    }
}

/// <summary>A field-order model with a public layer array.</summary>
[Model]
public partial class ReplaceableFieldOrderNet
{
    [Layer] readonly Linear inp = new(4, 4);
    [Layer] public readonly Linear[] blocks = [new(4, 4), new(4, 4)];
}

/// <summary>
/// Replacing a layer-array element after construction (PyTorch allows it for a ModuleList) would leave Parameters()
/// with the old layer while the forward pass uses the new one: Forward throws and names the element.
/// </summary>
public sealed class LayerArrayReplaceTests
{
    private static void Throws(Module m, Func<Tensor, Tensor> forward, Linear[] blocks)
    {
        var x = new Tensor(2, 4);
        forward(x); // runs with the layers it was built with
        var before = m.Parameters().ToList();
        blocks[1] = new Linear(4, 4);
        var e = Assert.Throws<InvalidOperationException>(() => forward(x));
        Assert.Contains(m.GetType().Name + ".blocks[1] was replaced", e.Message);
        Assert.Equal(before, m.Parameters().ToList());
    }

    [Fact]
    public void ForwardModel()
    {
        var m = new ReplaceableBlocksNet();
        Throws(m, m.Forward, m.blocks);
    }

    [Fact]
    public void FieldOrderModel()
    {
        var m = new ReplaceableFieldOrderNet();
        Throws(m, m.Forward, m.blocks);
    }

    [Fact]
    public void NestedInAParent()
    {
        var outer = new ReplaceableOuterNet();
        var x = new Tensor(2, 4);
        outer.Forward(x);
        outer.inner.blocks[0] = new Linear(4, 4);
        var e = Assert.Throws<InvalidOperationException>(() => outer.Forward(x));
        Assert.Contains("ReplaceableBlocksNet.blocks[0] was replaced", e.Message);
    }
}

/// <summary>A parent of <see cref="ReplaceableBlocksNet"/>: its ForwardBatch checks too.</summary>
[Model]
public partial class ReplaceableOuterNet
{
    [Layer] public readonly ReplaceableBlocksNet inner = new();
    [Layer] readonly Linear head = new(4, 2);
}
