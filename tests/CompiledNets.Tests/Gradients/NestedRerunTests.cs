using Xunit;

namespace CompiledNets.Tests.Gradients;

/// <summary>A model nested in the rerun tests' parents: 4 → 5.</summary>
[Model]
public partial class RerunInner
{
    [Layer] readonly Linear fc = new(4, 5);
    [Layer] readonly Tanh tanh = new();
}

/// <summary>A field-order parent of <see cref="RerunInner"/>.</summary>
[Model]
public partial class RerunFieldOrderNet
{
    [Layer] public readonly RerunInner inner = new();
    [Layer] readonly Linear head = new(5, 3);
}

/// <summary>A [Forward] parent of <see cref="RerunInner"/>.</summary>
[Model]
public partial class RerunCustomNet
{
    [Layer] public readonly RerunInner inner = new();
    [Layer] readonly Linear skip = new(4, 5);
    [Layer] readonly Linear head = new(5, 3);

    [Forward]
    public Tensor Define(Tensor x) => head.Forward(inner.Forward(x) + skip.Forward(x));
}

/// <summary>A field-order model around <see cref="RerunCustomNet"/>: the rerun is two levels down.</summary>
[Model]
public partial class RerunOuterNet
{
    [Layer] public readonly RerunCustomNet mid = new();
    [Layer] readonly Sigmoid sig = new();
}

/// <summary>
/// Running a nested model again between the parent's Forward and Backward replaces the activations the parent's
/// backward needs (PyTorch keeps each call's graph): Backward throws before changing any gradient.
/// </summary>
public sealed class NestedRerunTests
{
    private static (Tensor X, Tensor Y) Data()
    {
        var g = new Generator(7);
        var x = new Tensor(3, 4);
        foreach (ref float v in x.AsSpan())
        {
            v = g.NextFloat() * 2f - 1f;
        }
        return (x, new Tensor(3, 3));
    }

    private static void ThrowsAndChangesNothing(Module parent, Func<Tensor, Tensor> forward, Action<Tensor> rerun, string field)
    {
        var (x, y) = Data();
        var loss = new MSELoss().Forward(forward(x), y);
        var other = new Tensor(2, 4);
        other.AsSpan().Fill(0.5f);
        rerun(other);
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("saved in " + field + " (RerunInner)", e.Message);
        Assert.All(parent.Parameters(), p => Assert.All(p.Grad.ToArray(), v => Assert.Equal(0f, v)));

        // Forward again, and Backward works: no false alarm.
        loss = new MSELoss().Forward(forward(x), y);
        loss.Backward();
        Assert.Contains(parent.Parameters(), p => p.Grad.ToArray().Any(v => v != 0f));
    }

    [Fact]
    public void FieldOrderParent_NestedForward()
    {
        var m = new RerunFieldOrderNet();
        ThrowsAndChangesNothing(m, m.Forward, t => m.inner.Forward(t), "inner");
    }

    [Fact]
    public void CustomParent_NestedForward()
    {
        var m = new RerunCustomNet();
        ThrowsAndChangesNothing(m, m.Forward, t => m.inner.Forward(t), "inner");
    }

    [Fact]
    public void CustomParent_NestedForwardBatch()
    {
        var m = new RerunCustomNet();
        ThrowsAndChangesNothing(m, m.Forward, t => m.inner.ForwardBatch(new ArraySegment<float>(t.ToArray()), 2), "inner");
    }

    [Fact]
    public void CustomParent_EagerForwardMethod()
    {
        var m = new RerunCustomNet();
        ThrowsAndChangesNothing(m, m.Forward, t => m.Define(t), "inner");
    }

    [Fact]
    public void TwoLevelsDown()
    {
        var m = new RerunOuterNet();
        ThrowsAndChangesNothing(m, m.Forward, t => m.mid.inner.Forward(t), "inner");
    }
}
