using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace CompiledNets.Tests.Parity;

/// <summary>The C# twin of <c>tools/make_residual_parity_fixture.py</c>'s PyTorch net: a layer array and a [Forward] method.</summary>
[Model]
public partial class ResidualParityNet
{
    [Layer] readonly Linear inp = new(8, 16);
    [Layer] readonly Linear[] blocks = [new(16, 16), new(16, 16), new(16, 16)];
    [Layer] readonly Dropout drop = new(0.1f);
    [Layer] readonly Linear head = new(16, 3);

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
}

/// <summary>
/// Parity with PyTorch 1.13 on a residual MLP (ModuleList, skip connections) in eval mode: the state-dict keys, logits,
/// cross-entropy, gradients of every parameter and of the logits, and 20 Adam steps, to 1e-5 relative (absolute floor
/// 1e-6, as in <see cref="PyTorchParityTests"/>). The fixture comes from <c>tools/make_residual_parity_fixture.py</c>.
/// </summary>
public sealed class ResidualParityTests(ITestOutputHelper output)
{
    private const double Rtol = 1e-5, Atol = 1e-6;

    private static readonly Lazy<JsonElement> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "parity_residual_mlp.json"))).RootElement);

    private static Tensor ReadTensor(JsonElement e) => PyTorchFixture.ReadTensor(e);

    private static (ResidualParityNet Net, Tensor X, IntTensor Y) Load()
    {
        var f = Fixture.Value;
        var dict = new StateDict();
        foreach (var p in f.GetProperty("state_dict").EnumerateObject())
        {
            dict.Add(p.Name, ReadTensor(p.Value));
        }
        var net = new ResidualParityNet();
        net.LoadStateDict(dict);
        net.Eval();
        return (net, ReadTensor(f.GetProperty("input")), IntTensor.FromArray(f.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToArray()));
    }

    private double Match(string what, ReadOnlySpan<float> actual, JsonElement expected) =>
        PyTorchFixture.Match(output, what, actual, expected, Rtol, Atol);

    [Fact]
    public void Keys_are_PyTorchs_in_its_order()
    {
        var (net, _, _) = Load();
        Assert.Equal(Fixture.Value.GetProperty("state_dict").EnumerateObject().Select(p => p.Name), net.NamedParameters().Select(p => p.Name));
        Assert.Contains("(blocks): ModuleList(", Fixture.Value.GetProperty("print").GetString());
    }

    [Fact]
    public void Logits_loss_and_gradients_match_PyTorch()
    {
        var f = Fixture.Value;
        var (net, x, y) = Load();
        var lossFn = new CrossEntropyLoss();
        var logits = net.Forward(x);
        Match("logits", logits.AsSpan(), f.GetProperty("logits"));
        var loss = lossFn.Forward(logits, y);
        double expectedLoss = f.GetProperty("loss").GetDouble();
        Assert.True(Math.Abs(loss.Item() - expectedLoss) <= Rtol * expectedLoss + Atol, $"loss {loss.Item():R}, PyTorch {expectedLoss:R}");
        loss.Backward();
        Match("logits.grad", lossFn.InputGrad, f.GetProperty("logits_grad"));
        foreach (var (name, p) in net.NamedParameters())
        {
            Match(name + ".grad", p.Grad, f.GetProperty("grads").GetProperty(name));
        }
    }

    [Fact]
    public void Twenty_Adam_steps_match_PyTorch()
    {
        var run = Fixture.Value.GetProperty("adam");
        var (net, x, y) = Load();
        var opt = new Adam(net.Parameters(), lr: (float)run.GetProperty("lr").GetDouble());
        var lossFn = new CrossEntropyLoss();
        var losses = new float[run.GetProperty("steps").GetInt32()];
        for (int step = 0; step < losses.Length; step++)
        {
            opt.ZeroGrad();
            var loss = lossFn.Forward(net.Forward(x), y);
            losses[step] = loss.Item();
            loss.Backward();
            opt.Step();
        }
        Match("Adam losses", losses, JsonDocument.Parse("{\"data\":" + run.GetProperty("losses").GetRawText() + "}").RootElement);
        Assert.True(losses[^1] < losses[0] * 0.5f, "the loss goes down");
        foreach (var (name, p) in net.NamedParameters())
        {
            Match("Adam final " + name, p.Data, run.GetProperty("final_state_dict").GetProperty(name));
        }
    }
}
