using System.Text.Json;
using Xunit;

namespace CompiledNets.Tests.Serialization;

public class OptimizerStateTests
{
    private static void Steps(Module net, Optimizer opt, Generator grads, int n)
    {
        for (int i = 0; i < n; i++)
        {
            opt.ZeroGrad();
            TestData.RandomGrads(net, grads);
            opt.Step();
        }
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void RoundTrip_ThroughAFile_ContinuesBitForBit(string kind)
    {
        using var dir = new TempDir();
        Optimizer Make(Module m) => kind switch
        {
            "adam" => new Adam(m.Parameters(), lr: 0.01f),
            "adamw" => new AdamW(m.Parameters(), lr: 0.01f),
            _ => new SGD(m.Parameters(), lr: 0.05f, momentum: 0.9f, nesterov: true),
        };
        Generator.Default.ManualSeed(6);
        var net = new HandNet();
        var opt = Make(net);
        var grads = new Generator(11);
        Steps(net, opt, grads, 5);
        string modelPath = dir.File("net.safetensors"), optPath = dir.File("opt.safetensors");
        net.StateDict().Save(modelPath);
        opt.StateDict().Save(optPath);
        ulong[] gradState = grads.GetState();
        Steps(net, opt, grads, 5);

        var net2 = new HandNet(); // other initial weights
        var opt2 = Make(net2);
        net2.LoadStateDict(StateDict.Load(modelPath));
        opt2.LoadStateDict(StateDict.Load(optPath));
        Assert.Equal(5, opt2.StepCount);
        var grads2 = new Generator();
        grads2.SetState(gradState);
        Steps(net2, opt2, grads2, 5);

        TestData.AssertBitEqual(TestData.Flatten(net), TestData.Flatten(net2));
    }

    [Fact]
    public void AdamStateDict_UsesPyTorchsLayout()
    {
        var net = new HandNet();
        var opt = new Adam(net.Parameters(), lr: 0.01f, beta1: 0.8f);
        Assert.Empty(opt.StateDict()); // PyTorch keeps no state before the first step
        TestData.RandomGrads(net, new Generator(1));
        opt.Step();
        opt.Step();

        var dict = opt.StateDict();

        Assert.Equal(
            ["state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.1.step", "state.1.exp_avg", "state.1.exp_avg_sq",
             "state.2.step", "state.2.exp_avg", "state.2.exp_avg_sq", "state.3.step", "state.3.exp_avg", "state.3.exp_avg_sq"],
            dict.Keys);
        Assert.Equal([10, 4], dict["state.0.exp_avg"].Shape.ToArray());
        Assert.Equal(0, dict["state.0.step"].Rank);
        Assert.Equal(2f, dict["state.0.step"].Item());
        TestData.AssertBitEqual(opt.ExpAvgSq(2), dict["state.2.exp_avg_sq"].AsSpan());
        Assert.Equal("Adam", dict.Metadata["type"]);
        Assert.Equal("2", dict.Metadata["step"]);
        using var groups = JsonDocument.Parse(dict.Metadata["param_groups"]);
        var g = Assert.Single(groups.RootElement.EnumerateArray().ToArray());
        Assert.Equal(0.01f, (float)g.GetProperty("lr").GetDouble());
        Assert.Equal([0.8f, 0.999f], g.GetProperty("betas").EnumerateArray().Select(b => (float)b.GetDouble()));
        Assert.Equal([0, 1, 2, 3], g.GetProperty("params").EnumerateArray().Select(p => p.GetInt32()));
    }

    [Fact]
    public void SgdStateDict_HasMomentumBuffers()
    {
        var net = new HandNet();
        var opt = new SGD(net.Parameters(), lr: 0.1f, momentum: 0.5f);
        TestData.RandomGrads(net, new Generator(1));
        opt.Step();
        var dict = opt.StateDict();
        Assert.Equal(["state.0.momentum_buffer", "state.1.momentum_buffer", "state.2.momentum_buffer", "state.3.momentum_buffer"], dict.Keys);
        TestData.AssertBitEqual(opt.MomentumBuffer(1), dict["state.1.momentum_buffer"].AsSpan());
    }

    [Fact]
    public void LoadStateDict_RestoresTheLearningRate()
    {
        var net = new HandNet();
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        opt.LearningRate = 0.003f;
        var opt2 = new Adam(net.Parameters(), lr: 0.01f);
        opt2.LoadStateDict(opt.StateDict());
        Assert.Equal(0.003f, opt2.LearningRate);
    }

    [Fact]
    public void LoadStateDict_OfAnotherOptimizerOrModel_ListsEveryProblem_AndChangesNothing()
    {
        var net = new HandNet();
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        TestData.RandomGrads(net, new Generator(2));
        opt.Step();
        float[] expAvg = opt.ExpAvg(0).ToArray();

        var sgd = new SGD(net.Parameters(), lr: 0.1f, momentum: 0.9f);
        var e1 = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(sgd.StateDict()));
        Assert.Contains("the state was saved by SGD, this optimizer is Adam", e1.Message);

        var otherBetas = new Adam(net.Parameters(), lr: 0.01f, beta2: 0.99f);
        var e2 = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(otherBetas.StateDict()));
        Assert.Contains("param group 'betas' is [0.9,0.99], this optimizer has [0.9,0.999]", e2.Message);

        var small = new HandNet(hidden: 6);
        var smallOpt = new Adam(small.Parameters().Take(3), lr: 0.01f);
        TestData.RandomGrads(small, new Generator(3));
        smallOpt.Step();
        var e3 = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(smallOpt.StateDict()));
        Assert.Contains("the state is for parameters [0,1,2], this optimizer has 4", e3.Message);
        Assert.Contains("size mismatch for state.0.exp_avg: expected shape [10, 4], found [6, 4]", e3.Message);
        Assert.Contains("missing key: state.3.exp_avg_sq", e3.Message);

        Assert.Equal(1, opt.StepCount);
        TestData.AssertBitEqual(expAvg, opt.ExpAvg(0));
    }
}
