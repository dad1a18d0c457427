namespace CompiledNets.Tests.Gradients;

// Models with a [Forward] method. Each also writes its forward once more in float64 (Reference), on the
// ReferenceModel's copies of its parameters, for the finite differences; the gradient tests first check that the
// reference and the generated Forward compute the same function, and the eager tests that the method run eagerly does.

/// <summary>A model whose forward is a [Forward] method: its eager run and its float64 reference.</summary>
internal interface ICustomForward
{
    /// <summary>The user's method, run eagerly.</summary>
    Tensor Define(Tensor x);

    /// <summary>The same function in float64 on the reference's parameter copies.</summary>
    double[] Reference(ReferenceModel r, double[] x, int batch);
}

/// <summary>A residual block: <c>h</c> feeds the block and the sum, so its gradient accumulates.</summary>
[Model]
public partial class ResidualBlockNet : ICustomForward
{
    [Layer] readonly Linear inp = new(5, 8);
    [Layer] readonly Linear block = new(8, 8);
    [Layer] readonly Linear head = new(8, 3);

    [Forward]
    public Tensor Define(Tensor x)
    {
        var h = F.Relu(inp.Forward(x));
        h = h + F.Relu(block.Forward(h));
        return head.Forward(h);
    }

    double[] ICustomForward.Reference(ReferenceModel r, double[] x, int batch)
    {
        var h = r.Relu(r.Call(inp, x, batch));
        h = ReferenceModel.Add(h, r.Relu(r.Call(block, h, batch)));
        return r.Call(head, h, batch);
    }
}

/// <summary>Two branches of the input joined by <c>+</c>: the input gradient is the sum of two deliveries.</summary>
[Model]
public partial class BranchesAddNet : ICustomForward
{
    [Layer] readonly Linear a = new(5, 6);
    [Layer] readonly Linear b = new(5, 6, bias: false);
    [Layer] readonly Linear head = new(6, 3);

    [Forward]
    public Tensor Define(Tensor x) => head.Forward(F.Tanh(a.Forward(x)) + F.Sigmoid(b.Forward(x)));

    double[] ICustomForward.Reference(ReferenceModel r, double[] x, int batch) =>
        r.Call(head, ReferenceModel.Add(ReferenceModel.Tanh(r.Call(a, x, batch)), ReferenceModel.Sigmoid(r.Call(b, x, batch))), batch);
}

/// <summary>Two branches joined by concatenation along the features, one of them scaled by a constant.</summary>
[Model]
public partial class BranchesCatNet : ICustomForward
{
    [Layer] readonly Linear a = new(5, 4);
    [Layer] readonly Linear b = new(5, 3);
    [Layer] readonly Linear head = new(7, 3);

    [Forward]
    public Tensor Define(Tensor x)
    {
        var left = F.Relu(a.Forward(x));
        var right = b.Forward(x) * 0.5f;
        return head.Forward(F.Cat(left, right));
    }

    double[] ICustomForward.Reference(ReferenceModel r, double[] x, int batch)
    {
        var left = r.Relu(r.Call(a, x, batch));
        var right = ReferenceModel.Affine(r.Call(b, x, batch), 0.5, 0);
        return r.Call(head, ReferenceModel.Cat(batch, left, right), batch);
    }
}

/// <summary>The same layer called twice (shared weights: its gradients are summed), and a subtraction of a constant.</summary>
[Model]
public partial class SharedLayerNet : ICustomForward
{
    [Layer] readonly Linear inp = new(5, 6);
    [Layer] readonly Linear fc = new(6, 6);
    [Layer] readonly Linear head = new(6, 3);

    [Forward]
    public Tensor Define(Tensor x)
    {
        var h = F.Tanh(inp.Forward(x));
        h = F.Tanh(fc.Forward(h));
        h = fc.Forward(h);
        return head.Forward(h - 0.1f);
    }

    double[] ICustomForward.Reference(ReferenceModel r, double[] x, int batch)
    {
        var h = ReferenceModel.Tanh(r.Call(inp, x, batch));
        h = ReferenceModel.Tanh(r.Call(fc, h, batch));
        h = r.Call(fc, h, batch);
        return r.Call(head, ReferenceModel.Affine(h, 1, -0.1), batch);
    }
}

/// <summary>A value used three times (a layer's input, a factor, a summand), and an element-wise product.</summary>
[Model]
public partial class ThreeUsesNet : ICustomForward
{
    [Layer] readonly Linear inp = new(5, 6);
    [Layer] readonly Linear gate = new(6, 6);
    [Layer] readonly Linear head = new(6, 3);

    [Forward]
    public Tensor Define(Tensor x)
    {
        var h = inp.Forward(x);
        var y = F.Sigmoid(gate.Forward(h)) * h + h;
        return head.Forward(y);
    }

    double[] ICustomForward.Reference(ReferenceModel r, double[] x, int batch)
    {
        var h = r.Call(inp, x, batch);
        var y = ReferenceModel.Add(ReferenceModel.Mul(ReferenceModel.Sigmoid(r.Call(gate, h, batch)), h), h);
        return r.Call(head, y, batch);
    }
}

/// <summary>The residual MLP: a 3-block layer array in a foreach, dropout before the head.</summary>
[Model]
public partial class BlockArrayNet : ICustomForward
{
    [Layer] readonly Linear inp = new(5, 8);
    [Layer] readonly Linear[] blocks = [new(8, 8), new(8, 8), new(8, 8)];
    [Layer] readonly Dropout drop = new(0.3f);
    [Layer] readonly Linear head = new(8, 3);

    [Forward]
    public Tensor Define(Tensor x)
    {
        var h = F.Relu(inp.Forward(x));
        foreach (var block in blocks)
        {
            h = h + F.Relu(block.Forward(h));
        }
        return head.Forward(drop.Forward(h));
    }

    double[] ICustomForward.Reference(ReferenceModel r, double[] x, int batch)
    {
        var h = r.Relu(r.Call(inp, x, batch));
        foreach (var block in blocks)
        {
            h = ReferenceModel.Add(h, r.Relu(r.Call(block, h, batch)));
        }
        return r.Call(head, r.Call(drop, h, batch), batch);
    }
}

/// <summary>A for loop over a layer array with the counter as index, and <c>+=</c>.</summary>
[Model]
public partial class ForLoopNet : ICustomForward
{
    [Layer] readonly Linear inp = new(4, 6);
    [Layer] readonly Linear[] blocks = [new(6, 6), new(6, 6)];
    [Layer] readonly Linear head = new(6, 2);

    [Forward]
    public Tensor Define(Tensor x)
    {
        var h = inp.Forward(x);
        for (int i = 0; i < blocks.Length; i++)
        {
            h += F.Tanh(blocks[i].Forward(h));
        }
        return head.Forward(-h);
    }

    double[] ICustomForward.Reference(ReferenceModel r, double[] x, int batch)
    {
        var h = r.Call(inp, x, batch);
        foreach (var block in blocks)
        {
            h = ReferenceModel.Add(h, ReferenceModel.Tanh(r.Call(block, h, batch)));
        }
        return r.Call(head, ReferenceModel.Affine(h, -1, 0), batch);
    }
}

/// <summary>A nested field-order model (with its own dropout) inside a custom forward, with a skip around it.</summary>
[Model]
public partial class NestedCustomNet : ICustomForward
{
    [Layer] readonly Linear stem = new(3, 4);
    [Layer] readonly InnerBlock inner = new();
    [Layer] readonly Linear skip = new(4, 5, bias: false);
    [Layer] readonly Linear head = new(5, 2);

    [Forward]
    public Tensor Define(Tensor x)
    {
        var h = F.Sigmoid(stem.Forward(x));
        return head.Forward(inner.Forward(h) + skip.Forward(h));
    }

    double[] ICustomForward.Reference(ReferenceModel r, double[] x, int batch)
    {
        var h = ReferenceModel.Sigmoid(r.Call(stem, x, batch));
        return r.Call(head, ReferenceModel.Add(r.Call(inner, h, batch), r.Call(skip, h, batch)), batch);
    }
}

/// <summary>A layer array in a field-order model: its elements run in order, like the other fields.</summary>
[Model]
public partial class ArrayFieldOrderNet
{
    [Layer] readonly Linear inp = new(4, 5);
    [Layer] readonly Tanh act = new();
    [Layer] readonly Linear[] blocks = [new(5, 6), new(6, 5)];
    [Layer] readonly Linear head = new(5, 3);
}

/// <summary>A model with a custom forward nested in a field-order model.</summary>
[Model]
public partial class OuterOfCustomNet
{
    [Layer] readonly ResidualBlockNet residual = new();
    [Layer] readonly Sigmoid act = new();
    [Layer] readonly Linear head = new(3, 2);
}

/// <summary>
/// The functional forms: softmax, sigmoid, a difference of two tensors, a product, a three-way concatenation and
/// <c>F.Dropout(x, p, IsTraining)</c>, which draws from <see cref="Generator.Default"/> (the tests re-seed it with
/// <see cref="DropoutSeed"/> before every forward, and the reference draws the same mask).
/// </summary>
[Model]
public partial class FunctionalNet : ICustomForward
{
    public const ulong DropoutSeed = 4242;

    [Layer] readonly Linear l1 = new(5, 4);
    [Layer] readonly Linear l2 = new(5, 4);
    [Layer] readonly Linear head = new(12, 3);

    [Forward]
    public Tensor Define(Tensor x)
    {
        var a = F.Softmax(l1.Forward(x));
        var b = F.Sigmoid(l2.Forward(x));
        var c = a - b;
        return head.Forward(F.Cat(c, F.Dropout(b, 0.25f, IsTraining), a * b));
    }

    double[] ICustomForward.Reference(ReferenceModel r, double[] x, int batch)
    {
        var a = ReferenceModel.Softmax(r.Call(l1, x, batch), batch, 4);
        var b = ReferenceModel.Sigmoid(r.Call(l2, x, batch));
        var c = ReferenceModel.Add(a, ReferenceModel.Affine(b, -1, 0));
        double[] dropped = b;
        if (IsTraining)
        {
            var key = new PhiloxKey(new Generator(DropoutSeed).NextUInt64(), 0, 0);
            dropped = b.Select((v, i) => Philox.Uniform(key, i) < 0.25f ? 0.0 : v / (1.0 - 0.25f)).ToArray();
        }
        return r.Call(head, ReferenceModel.Cat(batch, c, dropped, ReferenceModel.Mul(a, b)), batch);
    }
}

/// <summary>A skip straight from the input: its gradient (gradInput) is written by the sum, then added to by a Linear through the scratch buffer.</summary>
[Model]
public partial class InputSkipNet : ICustomForward
{
    [Layer] readonly Linear a = new(5, 5);
    [Layer] readonly Linear head = new(5, 3);

    [Forward]
    public Tensor Define(Tensor x) => head.Forward(x + F.Tanh(a.Forward(x)) * 0.5f);

    double[] ICustomForward.Reference(ReferenceModel r, double[] x, int batch) =>
        r.Call(head, ReferenceModel.Add(x, ReferenceModel.Affine(ReferenceModel.Tanh(r.Call(a, x, batch)), 0.5, 0)), batch);
}

/// <summary>
/// The same value on both sides of each multi-input operation (the model input in <c>x + x</c>, <c>h += h</c>,
/// <c>g + g</c>, <c>h - h</c>, <c>d * d</c>, <c>F.Cat(d, d)</c>): the second delivery adds to the first.
/// </summary>
[Model]
public partial class RepeatedInputsNet : ICustomForward
{
    [Layer] readonly Linear inp = new(5, 6);
    [Layer] readonly Linear b = new(6, 6);
    [Layer] readonly Linear head = new(12, 3);

    [Forward]
    public Tensor Define(Tensor x)
    {
        var h = F.Tanh(inp.Forward(x + x));
        h += h;
        var g = h + h;
        var d = b.Forward(g) + (g - g) + g * g;
        return head.Forward(F.Cat(d, d - g * 0.5f));
    }

    double[] ICustomForward.Reference(ReferenceModel r, double[] x, int batch)
    {
        var h = ReferenceModel.Tanh(r.Call(inp, ReferenceModel.Add(x, x), batch));
        h = ReferenceModel.Add(h, h);
        var g = ReferenceModel.Add(h, h);
        var zero = ReferenceModel.Affine(g, 0, 0);
        var d = ReferenceModel.Add(ReferenceModel.Add(r.Call(b, g, batch), zero), ReferenceModel.Mul(g, g));
        return r.Call(head, ReferenceModel.Cat(batch, d, ReferenceModel.Add(d, ReferenceModel.Affine(g, -0.5, 0))), batch);
    }
}

/// <summary>
/// A nested model's result used in F functions and arithmetic (read from the syntax: its Forward is generated), the
/// parameter reassigned (<c>x = self.fc(x)</c>) and a local float constant.
/// </summary>
[Model]
public partial class NestedResultNet : ICustomForward
{
    [Layer] readonly Linear inp = new(5, 4);
    [Layer] readonly InnerBlock inner = new();
    [Layer] readonly Linear head = new(10, 3);

    [Forward]
    public Tensor Define(Tensor x)
    {
        const float s = 0.5f;
        x = F.Tanh(inp.Forward(x));
        var r = inner.Forward(x);
        return head.Forward(F.Cat(F.Relu(r), r + F.Tanh(r) * s));
    }

    double[] ICustomForward.Reference(ReferenceModel r, double[] x, int batch)
    {
        var h = ReferenceModel.Tanh(r.Call(inp, x, batch));
        var n = r.Call(inner, h, batch);
        return r.Call(head, ReferenceModel.Cat(batch, r.Relu(n), ReferenceModel.Add(n, ReferenceModel.Affine(ReferenceModel.Tanh(n), 0.5, 0))), batch);
    }
}

/// <summary>
/// <see cref="RepeatedInputsNet"/> after a Linear in a field-order model: its <c>x + x</c> sends the input gradient
/// of both summands to the layer before.
/// </summary>
[Model]
public partial class OuterOfRepeatedNet
{
    [Layer] readonly Linear stem = new(3, 5);
    [Layer] readonly RepeatedInputsNet repeated = new();
}
