using Xunit;

namespace CompiledNets.Tests.Gradients;

/// <summary>An encoder for the chaining tests: Linear first (it takes the input gradient), a fused ReLU, Tanh last.</summary>
[Model]
public partial class ChainEncoder
{
    [Layer] readonly Linear fc1 = new(4, 6);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Linear fc2 = new(6, 5);
    [Layer] readonly Tanh tanh = new();
}

/// <summary>A middle model for three-model chains: 5 → 5, Sigmoid last.</summary>
[Model]
public partial class ChainMiddle
{
    [Layer] readonly Linear fc = new(5, 5);
    [Layer] readonly Sigmoid sig = new();
}

/// <summary>A decoder for the chaining tests: 5 → 7 → 3.</summary>
[Model]
public partial class ChainDecoder
{
    [Layer] readonly Linear fc1 = new(5, 7);
    [Layer] readonly Sigmoid sig = new();
    [Layer] readonly Linear fc2 = new(7, 3);
}

/// <summary>The encoder and decoder as layers of one model: the reference for chaining them by hand.</summary>
[Model]
public partial class ChainWhole
{
    [Layer] readonly ChainEncoder enc = new();
    [Layer] readonly ChainDecoder dec = new();
}

/// <summary>Encoder, middle and decoder as layers of one model.</summary>
[Model]
public partial class ChainWhole3
{
    [Layer] readonly ChainEncoder enc = new();
    [Layer] readonly ChainMiddle mid = new();
    [Layer] readonly ChainDecoder dec = new();
}

/// <summary>
/// Models chained by hand (<c>dec.Forward(enc.Forward(x))</c>) backpropagate through every model, as PyTorch's
/// autograd does: the same gradients as the same layers nested in one model.
/// </summary>
public sealed class ChainedModelTests
{
    private const int Batch = 6;

    private static (Tensor X, Tensor Y) Data(ulong seed)
    {
        var g = new Generator(seed);
        var x = new Tensor(Batch, 4);
        var y = new Tensor(Batch, 3);
        foreach (ref float v in x.AsSpan())
        {
            v = g.NextFloat() * 2f - 1f;
        }
        foreach (ref float v in y.AsSpan())
        {
            v = g.NextFloat();
        }
        return (x, y);
    }

    /// <summary>Copies each part's weights into the whole under the part's prefix.</summary>
    private static void CopyInto(Module whole, params (string Prefix, Module Part)[] parts)
    {
        var dict = new StateDict();
        foreach (var (prefix, part) in parts)
        {
            foreach (var (name, t) in part.StateDict())
            {
                dict.Add(prefix + "." + name, t);
            }
        }
        whole.LoadStateDict(dict);
    }

    private static Dictionary<string, float[]> Grads(params (string Prefix, Module Part)[] parts) =>
        parts.SelectMany(p => p.Part.NamedParameters().Select(n => (Key: p.Prefix + n.Name, Grad: n.Parameter.Grad.ToArray())))
            .ToDictionary(e => e.Key, e => e.Grad);

    [Fact]
    public void Two_models_chained_by_hand_get_the_gradients_of_one_model_nesting_both()
    {
        Generator.Default.ManualSeed(7);
        var enc = new ChainEncoder();
        var dec = new ChainDecoder();
        var whole = new ChainWhole();
        CopyInto(whole, ("enc", enc), ("dec", dec));
        var (x, y) = Data(3);

        var mse = new MSELoss();
        var chained = mse.Forward(dec.Forward(enc.Forward(x)), y);
        chained.Backward();
        var expectedLoss = new MSELoss().Forward(whole.Forward(x), y);
        expectedLoss.Backward();

        Assert.Equal(expectedLoss.Value, chained.Value);
        var actual = Grads(("enc.", enc), ("dec.", dec));
        var expected = Grads(("", whole));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (key, g) in expected)
        {
            Assert.Contains(g, v => v != 0f);
            Check.Close(key, actual[key], g.Select(v => (double)v).ToArray(), 1e-6, 1e-7);
        }
    }

    [Fact]
    public void Three_models_chained_by_hand_get_the_gradients_of_one_model_nesting_all()
    {
        Generator.Default.ManualSeed(8);
        var enc = new ChainEncoder();
        var mid = new ChainMiddle();
        var dec = new ChainDecoder();
        var whole = new ChainWhole3();
        CopyInto(whole, ("enc", enc), ("mid", mid), ("dec", dec));
        var (x, y) = Data(4);

        var h = enc.Forward(x);
        var chained = new MSELoss().Forward(dec.Forward(mid.Forward(h)), y);
        chained.Backward();
        new MSELoss().Forward(whole.Forward(x), y).Backward();

        var actual = Grads(("enc.", enc), ("mid.", mid), ("dec.", dec));
        foreach (var (key, g) in Grads(("", whole)))
        {
            Assert.Contains(g, v => v != 0f);
            Check.Close(key, actual[key], g.Select(v => (double)v).ToArray(), 1e-6, 1e-7);
        }
    }

    [Fact]
    public void A_cloned_output_stops_the_gradient_like_detach()
    {
        Generator.Default.ManualSeed(9);
        var enc = new ChainEncoder();
        var dec = new ChainDecoder();
        var (x, y) = Data(5);
        new MSELoss().Forward(dec.Forward(enc.Forward(x).Clone()), y).Backward();
        Assert.All(enc.Parameters(), p => Assert.All(p.Grad.ToArray(), v => Assert.Equal(0f, v)));
        Assert.Contains(dec.Parameters(), p => p.Grad.ToArray().Any(v => v != 0f));

        // A later Forward from a plain tensor forgets the earlier upstream model.
        var h = enc.Forward(x).Clone();
        dec.ZeroGrad();
        new MSELoss().Forward(dec.Forward(h), y).Backward();
        Assert.All(enc.Parameters(), p => Assert.All(p.Grad.ToArray(), v => Assert.Equal(0f, v)));
    }

    [Fact]
    public void Backward_after_the_upstream_model_ran_again_throws_and_changes_no_gradient()
    {
        Generator.Default.ManualSeed(10);
        var enc = new ChainEncoder();
        var dec = new ChainDecoder();
        var (x, y) = Data(6);
        var loss = new MSELoss().Forward(dec.Forward(enc.Forward(x)), y);
        enc.Forward(x);
        var ex = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("ChainDecoder's input was the output of ChainEncoder, which has run another Forward since", ex.Message);
        Assert.Contains("Clone()", ex.Message);
        Assert.All(enc.Parameters().Concat(dec.Parameters()), p => Assert.All(p.Grad.ToArray(), v => Assert.Equal(0f, v)));
    }

    [Fact]
    public void Training_two_chained_models_learns_and_allocates_no_buffers_per_step()
    {
        Generator.Default.ManualSeed(11);
        var enc = new ChainEncoder();
        var dec = new ChainDecoder();
        var (x, y) = Data(12);
        float[] encBefore = enc.Parameters().First().Data.ToArray();
        var mse = new MSELoss();
        var opt = new Adam(enc.Parameters().Concat(dec.Parameters()), lr: 0.01f);
        float Step()
        {
            var loss = mse.Forward(dec.Forward(enc.Forward(x)), y);
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
            return loss.Value;
        }
        float first = Step();
        long perStep = Allocations.PerCall(() => Step());
        for (int i = 0; i < 400; i++)
        {
            Step();
        }
        float last = Step();

        // No buffers; both output views are re-stamped once the loss has backpropagated through them.
        Assert.Equal(0, perStep);
        Assert.True(last < first / 10, $"loss {first} → {last}");
        Assert.NotEqual(encBefore, enc.Parameters().First().Data.ToArray());
    }

    [Fact]
    public void A_models_own_output_as_its_input_is_refused()
    {
        var middle = new ChainMiddle();
        var first = middle.Forward(new Tensor(2, ChainMiddle.InFeatures));
        var ex = Assert.Throws<ArgumentException>(() => middle.Forward(first));
        Assert.Contains("its own latest output", ex.Message);
        Assert.Equal(2, middle.Forward(first.Clone()).Size(0));
    }
}
