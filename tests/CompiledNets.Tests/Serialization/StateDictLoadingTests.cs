using Xunit;

namespace CompiledNets.Tests.Serialization;

public class StateDictLoadingTests
{
    [Fact]
    public void ModelRoundTrip_ThroughAFile_RestoresEveryParameterBitForBit()
    {
        using var dir = new TempDir();
        Generator.Default.ManualSeed(3);
        var a = new HandNet();
        var b = new HandNet();
        string path = dir.File("net.safetensors");

        a.StateDict().Save(path);
        var result = b.LoadStateDict(StateDict.Load(path));

        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        TestData.AssertBitEqual(TestData.Flatten(a), TestData.Flatten(b));
        Assert.Equal(["hidden.weight", "hidden.bias", "out.weight", "out.bias"], StateDict.Load(path).Keys);
        Assert.Equal([10, 4], StateDict.Load(path)["hidden.weight"].Shape.ToArray());
    }

    [Fact]
    public void Strict_ListsEveryMissingUnexpectedAndMisshapenKey_AndChangesNothing()
    {
        using var dir = new TempDir();
        Generator.Default.ManualSeed(4);
        var net = new HandNet();
        float[] before = TestData.Flatten(net);
        var other = new HandNet(hidden: 7).StateDict(); // hidden.weight [7, 4], hidden.bias [7], out.weight [3, 7]
        other.Remove("out.bias");
        other.Add("extra.weight", new Tensor(2, 2));
        string path = dir.File("other.safetensors");
        other.Save(path);

        var e = Assert.Throws<ArgumentException>(() => net.LoadStateDict(StateDict.Load(path)));

        Assert.Contains($"from '{path}' for HandNet", e.Message);
        Assert.Contains("size mismatch for hidden.weight: expected shape [10, 4], found [7, 4]", e.Message);
        Assert.Contains("size mismatch for hidden.bias: expected shape [10], found [7]", e.Message);
        Assert.Contains("size mismatch for out.weight: expected shape [3, 10], found [3, 7]", e.Message);
        Assert.Contains("missing key: out.bias", e.Message);
        Assert.Contains("unexpected key: extra.weight", e.Message);
        TestData.AssertBitEqual(before, TestData.Flatten(net));
    }

    [Fact]
    public void NonStrict_ReportsMissingAndUnexpectedKeys_AndLoadsTheRest()
    {
        Generator.Default.ManualSeed(5);
        var net = new HandNet();
        float[] outBiasBefore = net.Out.Bias!.Data.ToArray();
        var dict = new HandNet().StateDict();
        dict.Remove("out.bias");
        dict.Add("head.weight", new Tensor(1));

        var result = net.LoadStateDict(dict, strict: false);

        Assert.Equal(["out.bias"], result.MissingKeys);
        Assert.Equal(["head.weight"], result.UnexpectedKeys);
        TestData.AssertBitEqual(dict["hidden.weight"].AsSpan(), net.Hidden.Weight.Data);
        TestData.AssertBitEqual(dict["out.weight"].AsSpan(), net.Out.Weight.Data);
        TestData.AssertBitEqual(outBiasBefore, net.Out.Bias!.Data);
    }

    [Fact]
    public void Result_PrintsLikePyTorch()
    {
        var net = new HandNet();
        Assert.Equal("<All keys matched successfully>", net.LoadStateDict(new HandNet().StateDict()).ToString());

        var dict = new HandNet().StateDict();
        dict.Remove("out.bias");
        dict.Remove("hidden.bias");
        dict.Add("head.weight", new Tensor(1));
        Assert.Equal("_IncompatibleKeys(missing_keys=['hidden.bias', 'out.bias'], unexpected_keys=['head.weight'])",
            net.LoadStateDict(dict, strict: false).ToString());
        Assert.Equal("_IncompatibleKeys(missing_keys=[], unexpected_keys=['it\\'s'])",
            new LoadStateDictResult([], ["it's"]).ToString());
    }

    [Fact]
    public void Strict_LoadingACheckpointFile_HintsAtTryResumeOrStrippingThePrefix()
    {
        using var dir = new TempDir();
        string path = dir.File("run.ckpt");
        var saved = new HandNet();
        Checkpoint.Save(path, saved, new Adam(saved.Parameters()), epoch: 3);

        var net = new HandNet();
        var e = Assert.Throws<ArgumentException>(() => net.LoadStateDict(StateDict.Load(path)));
        Assert.Contains("missing key: hidden.weight", e.Message);
        Assert.Contains("unexpected key: model.hidden.weight", e.Message);
        Assert.Contains(
            "hint: the unexpected keys under 'model.' are exactly this model's keys, so the file looks like a training checkpoint (Checkpoint.Save): " +
            "resume a checkpoint with Checkpoint.TryResume, or strip the prefix 'model.' from the keys before LoadStateDict.", e.Message);

        // Any prefix, without checkpoint metadata (e.g. a wrapped model's state).
        var wrapped = new StateDict();
        foreach (var (key, t) in saved.StateDict())
        {
            wrapped.Add("module.net." + key, t);
        }
        var w = Assert.Throws<ArgumentException>(() => net.LoadStateDict(wrapped));
        Assert.Contains("hint: the unexpected keys under 'module.net.' are exactly this model's keys, so the file looks like a checkpoint or a wrapped model's state", w.Message);

        // No hint when the prefixed keys are not exactly the model's.
        wrapped.Remove("module.net.out.bias");
        Assert.DoesNotContain("hint:", Assert.Throws<ArgumentException>(() => net.LoadStateDict(wrapped)).Message);
    }

    [Fact]
    public void NonStrict_StillRejectsShapeMismatches()
    {
        var net = new HandNet();
        var dict = new HandNet(hidden: 5).StateDict();
        var e = Assert.Throws<ArgumentException>(() => net.LoadStateDict(dict, strict: false));
        Assert.Contains("size mismatch for hidden.weight", e.Message);
        Assert.DoesNotContain("missing key", e.Message);
    }
}
