using CompiledNets.Tests.Models;
using System.Text.Json;
using CompiledNets.Tests.Gradients;
using Xunit;
using Xunit.Abstractions;

namespace CompiledNets.Tests.Parity;

/// <summary>
/// Parity with PyTorch 1.13 on the tutorial's net in eval mode: given PyTorch's weights and inputs,
/// the logits, the cross-entropy, the gradients of the parameters and of the logits, and 20 steps of
/// Adam, SGD (momentum, weight decay) and AdamW. The fixture comes from
/// <c>tools/make_parity_fixture.py</c> (run once with Debian's python3-torch; CI only reads the JSON).
/// </summary>
/// <remarks>
/// Tolerance: <c>|actual − expected| ≤ 1e-5·|expected| + 1e-6</c>, i.e. 1e-5 relative with an absolute
/// floor of 1e-6 for values near 0 (a float32 sum of terms of size ≈1 that cancels to ≈0 is only
/// known to ≈1e-7 absolute in either framework). Both sides compute in float32.
/// </remarks>
public sealed class PyTorchParityTests(ITestOutputHelper output)
{
    private const double Rtol = 1e-5, Atol = 1e-6;

    private static readonly Lazy<JsonElement> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "parity_iris_net.json"))).RootElement);

    private static Tensor ReadTensor(JsonElement e) => PyTorchFixture.ReadTensor(e);

    private static StateDict ReadStateDict(JsonElement e)
    {
        var dict = new StateDict();
        foreach (var p in e.EnumerateObject())
        {
            dict.Add(p.Name, ReadTensor(p.Value));
        }
        return dict;
    }

    private static (TutorialNet Net, Tensor X, IntTensor Y) Load()
    {
        var f = Fixture.Value;
        var net = new TutorialNet();
        net.LoadStateDict(ReadStateDict(f.GetProperty("state_dict")));
        net.Eval();
        var x = ReadTensor(f.GetProperty("input"));
        var y = IntTensor.FromArray(f.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToArray());
        return (net, x, y);
    }

    private double Match(string what, ReadOnlySpan<float> actual, JsonElement expected) =>
        PyTorchFixture.Match(output, what, actual, expected, Rtol, Atol);

    [Fact]
    public void Fixture_describes_the_tutorial_net()
    {
        var (net, x, y) = Load();
        Assert.Equal(83, net.ParameterCount);
        Assert.Equal(["hidden.weight", "hidden.bias", "out.weight", "out.bias"],
            Fixture.Value.GetProperty("state_dict").EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(24, x.Size(0));
        Assert.Equal(24, y.Size(0));
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
        output.WriteLine($"loss: relative error {Math.Abs(loss.Item() - expectedLoss) / expectedLoss:E2}");
        loss.Backward();
        Match("logits.grad", lossFn.InputGrad, f.GetProperty("logits_grad"));
        foreach (var (name, p) in net.NamedParameters())
        {
            Match(name + ".grad", p.Grad, f.GetProperty("grads").GetProperty(name));
        }
    }

    public static TheoryData<string> Optimizers() => new() { "Adam", "SGD", "AdamW" };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void Twenty_optimizer_steps_match_PyTorch(string optimizer)
    {
        var run = Fixture.Value.GetProperty("training").EnumerateArray().Single(r => r.GetProperty("optimizer").GetString() == optimizer);
        var hyper = run.GetProperty("hyperparameters");
        float Hyper(string name) => (float)hyper.GetProperty(name).GetDouble();
        var (net, x, y) = Load();
        Optimizer opt = optimizer switch
        {
            "Adam" => new Adam(net.Parameters(), lr: Hyper("lr")),
            "SGD" => new SGD(net.Parameters(), lr: Hyper("lr"), momentum: Hyper("momentum"), weightDecay: Hyper("weight_decay")),
            "AdamW" => new AdamW(net.Parameters(), lr: Hyper("lr"), weightDecay: Hyper("weight_decay")),
            _ => throw new ArgumentException(optimizer),
        };
        var lossFn = new CrossEntropyLoss();
        double[] expected = run.GetProperty("losses").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(20, expected.Length);
        var losses = new float[expected.Length];
        for (int step = 0; step < expected.Length; step++)
        {
            opt.ZeroGrad();
            var loss = lossFn.Forward(net.Forward(x), y);
            losses[step] = loss.Item();
            loss.Backward();
            opt.Step();
        }
        Match(optimizer + " losses", losses, JsonDocument.Parse("{\"data\":" + run.GetProperty("losses").GetRawText() + "}").RootElement);
        Assert.True(losses[^1] < losses[0] * 0.8f, "the loss goes down");
        var final = run.GetProperty("final_state_dict");
        foreach (var (name, p) in net.NamedParameters())
        {
            Match($"{optimizer} final {name}", p.Data, final.GetProperty(name));
        }
    }
}
