using System.Text.Json;
using CompiledNets.Tests.Gradients;
using CompiledNets.Tests.Models;
using Xunit;
using Xunit.Abstractions;

namespace CompiledNets.Tests.Parity;

/// <summary>
/// Parity with PyTorch 1.13 for the losses (values and input gradients, every reduction), the LogSoftmax layer with
/// NLLLoss in a generated model, and gradient clipping. The fixture comes from <c>tools/make_loss_scheduler_fixture.py</c>.
/// </summary>
/// <remarks>
/// Tolerance: <c>|actual − expected| ≤ 1e-5·|expected| + 1e-6·max(1, max|expected|)</c> (see <see cref="Check.Close"/>):
/// both sides compute in float32, in different orders.
/// </remarks>
public sealed class LossParityTests(ITestOutputHelper output)
{
    private const double Rtol = 1e-5, Atol = 1e-6;

    internal static readonly Lazy<JsonElement> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "parity_losses.json"))).RootElement);

    internal static Tensor ReadTensor(JsonElement e) => PyTorchFixture.ReadTensor(e);

    private static double[] Doubles(JsonElement tensor) => tensor.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in Fixture.Value.GetProperty("losses").EnumerateArray())
        {
            data.Add(c.GetProperty("name").GetString()!, c.GetProperty("reduction").GetString()!);
        }
        return data;
    }

    private static Tensor? OptionalTensor(JsonElement c, string name) =>
        c.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.Array ? Tensor.FromArray(v.EnumerateArray().Select(x => (float)x.GetDouble()).ToArray()) : ReadTensor(v)
            : null;

    /// <summary>Builds the loss a fixture case describes and computes it.</summary>
    private static (LossFunction Fn, Loss Loss) Run(JsonElement c, Reduction reduction)
    {
        var input = ReadTensor(c.GetProperty("input"));
        string kind = c.GetProperty("loss").GetString()!;
        Tensor? weight = OptionalTensor(c, "weight");
        switch (kind)
        {
            case "CrossEntropyLoss":
            case "NLLLoss":
            {
                var target = IntTensor.FromArray(c.GetProperty("target").EnumerateArray().Select(v => v.GetInt32()).ToArray());
                int ignore = c.GetProperty("ignore_index").GetInt32();
                if (kind == "NLLLoss")
                {
                    var nll = new NLLLoss(weight, ignore, reduction);
                    return (nll, nll.Forward(input, target));
                }
                var ce = new CrossEntropyLoss(weight, ignore, reduction, (float)c.GetProperty("label_smoothing").GetDouble());
                return (ce, ce.Forward(input, target));
            }
            default:
            {
                var target = ReadTensor(c.GetProperty("target"));
                ElementwiseLoss fn = kind switch
                {
                    "MSELoss" => new MSELoss(reduction),
                    "L1Loss" => new L1Loss(reduction),
                    "HuberLoss" => new HuberLoss(reduction, (float)c.GetProperty("delta").GetDouble()),
                    "SmoothL1Loss" => new SmoothL1Loss(reduction, (float)c.GetProperty("beta").GetDouble()),
                    "BCELoss" => new BCELoss(weight, reduction),
                    "BCEWithLogitsLoss" => new BCEWithLogitsLoss(weight, reduction, OptionalTensor(c, "pos_weight")),
                    _ => throw new ArgumentException(kind),
                };
                return (fn, fn.Forward(input, target));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Loss_values_and_gradients_match_PyTorch(string name, string reduction)
    {
        var c = Fixture.Value.GetProperty("losses").EnumerateArray()
            .Single(e => e.GetProperty("name").GetString() == name && e.GetProperty("reduction").GetString() == reduction);
        var r = reduction switch { "mean" => Reduction.Mean, "sum" => Reduction.Sum, _ => Reduction.None };
        var (fn, loss) = Run(c, r);
        Tensor? upstream = null;
        if (r == Reduction.None)
        {
            var values = loss.ToTensor();
            var expected = ReadTensor(c.GetProperty("value"));
            Assert.Equal(expected.Shape.ToArray(), values.Shape.ToArray());
            Check.Close($"{name} none: values", values.AsSpan(), Doubles(c.GetProperty("value")), Rtol, Atol);
            upstream = ReadTensor(c.GetProperty("upstream"));
        }
        else
        {
            double expected = c.GetProperty("value").GetDouble();
            Check.Close($"{name} {reduction}: value", [loss.Item()], [expected], Rtol, Atol);
            output.WriteLine($"value {loss.Item():R}, PyTorch {expected:R}");
        }
        double worst = Check.Close($"{name} {reduction}: input gradient", fn.InputGradFor(upstream), Doubles(c.GetProperty("grad")), Rtol, Atol);
        output.WriteLine($"input gradient: largest relative error {worst:E2}");
    }

    [Fact]
    public void Fixture_covers_every_new_loss_in_every_reduction()
    {
        var kinds = Fixture.Value.GetProperty("losses").EnumerateArray()
            .Select(c => (c.GetProperty("loss").GetString(), c.GetProperty("reduction").GetString())).ToHashSet();
        foreach (string loss in new[] { "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss" })
        {
            foreach (string reduction in new[] { "mean", "sum", "none" })
            {
                Assert.Contains((loss, reduction), kinds);
            }
        }
    }

    /// <summary>A generated model ending in LogSoftmax, with NLLLoss (class weights, an ignored row): output, loss and parameter gradients.</summary>
    [Fact]
    public void LogSoftmax_model_with_NLLLoss_matches_PyTorch()
    {
        var f = Fixture.Value.GetProperty("logsoftmax_net");
        var net = new LogSoftmaxNet();
        var dict = new StateDict();
        foreach (var p in f.GetProperty("state_dict").EnumerateObject())
        {
            dict.Add(p.Name, ReadTensor(p.Value));
        }
        net.LoadStateDict(dict);
        var x = ReadTensor(f.GetProperty("input"));
        var y = IntTensor.FromArray(f.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToArray());
        var lossFn = new NLLLoss(weight: Tensor.FromArray(f.GetProperty("weight").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()));
        var outp = net.Forward(x);
        Check.Close("log-probabilities", outp.AsSpan(), Doubles(f.GetProperty("output")), Rtol, Atol);
        var loss = lossFn.Forward(outp, y);
        Check.Close("loss", [loss.Item()], [f.GetProperty("loss").GetDouble()], Rtol, Atol);
        loss.Backward();
        foreach (var (name, p) in net.NamedParameters())
        {
            double worst = Check.Close(name + ".grad", p.Grad, Doubles(f.GetProperty("grads").GetProperty(name)), Rtol, Atol);
            output.WriteLine($"{name}.grad: largest relative error {worst:E2}");
        }
    }

    public static TheoryData<int> ClipCases()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Fixture.Value.GetProperty("clipping").GetProperty("norm").GetArrayLength(); i++)
        {
            data.Add(i);
        }
        return data;
    }

    private static Parameter[] ClipParameters()
    {
        var f = Fixture.Value.GetProperty("clipping");
        var grads = f.GetProperty("grads").EnumerateArray().Select(ReadTensor).ToArray();
        return grads.Select(g =>
        {
            var p = new Parameter(g.Shape.ToArray());
            g.AsSpan().CopyTo(p.Grad);
            return p;
        }).ToArray();
    }

    [Theory]
    [MemberData(nameof(ClipCases))]
    public void ClipGradNorm_matches_PyTorch(int index)
    {
        var c = Fixture.Value.GetProperty("clipping").GetProperty("norm")[index];
        var parameters = ClipParameters();
        var normJson = c.GetProperty("norm_type");
        float normType = normJson.ValueKind == JsonValueKind.String ? float.PositiveInfinity : (float)normJson.GetDouble();
        float total = NNUtils.ClipGradNorm(parameters, (float)c.GetProperty("max_norm").GetDouble(), normType);
        Check.Close($"total norm (p={normType})", [total], [c.GetProperty("total_norm").GetDouble()], Rtol, Atol);
        var expected = c.GetProperty("grads").EnumerateArray().ToArray();
        for (int i = 0; i < parameters.Length; i++)
        {
            Check.Close($"grad {i} (p={normType})", parameters[i].Grad, Doubles(expected[i]), Rtol, Atol);
        }
    }

    [Fact]
    public void ClipGradValue_matches_PyTorch()
    {
        var c = Fixture.Value.GetProperty("clipping").GetProperty("value");
        var parameters = ClipParameters();
        NNUtils.ClipGradValue(parameters, (float)c.GetProperty("clip_value").GetDouble());
        var expected = c.GetProperty("grads").EnumerateArray().ToArray();
        for (int i = 0; i < parameters.Length; i++)
        {
            Check.Close($"grad {i}", parameters[i].Grad, Doubles(expected[i]), 0, 0);
        }
    }
}
