using Xunit;

namespace CompiledNets.Tests.Serialization;

public class CheckpointTests
{
    /// <summary>
    /// One simulated epoch of the hand-written net: the loader's generator shuffles, dropout draws from
    /// <see cref="Generator.Default"/>, gradients depend on both, Adam steps.
    /// </summary>
    private static void Epoch(HandNet net, Optimizer opt, Generator loader)
    {
        var perm = new int[8];
        loader.RandPerm(perm);
        net.Train();
        for (int step = 0; step < 4; step++)
        {
            var x = Tensor.FromArray([perm[2 * step], perm[2 * step + 1], 0.5f, -1f, 1f, perm[step], -0.25f, 2f], 2, 4);
            float s = net.Forward(x).ToArray().Sum();
            opt.ZeroGrad();
            foreach (var p in net.Parameters())
            {
                var g = p.Grad;
                for (int i = 0; i < g.Length; i++)
                {
                    g[i] = s * 1e-2f * ((i % 7) - 3) + Generator.Default.NextFloat() - 0.5f;
                }
            }
            opt.Step();
        }
    }

    [Fact]
    public void Resume_ContinuesBitForBit_LikeTheUninterruptedRun()
    {
        using var dir = new TempDir();
        string path = dir.File("run.ckpt");
        const int epochs = 6, stopAfter = 2;

        // The run that never stops.
        Generator.Default.ManualSeed(42);
        var net = new HandNet();
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        var loader = new Generator(7);
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            Epoch(net, opt, loader);
            if (epoch == stopAfter)
            {
                Checkpoint.Save(path, net, opt, epoch, loader, new Dictionary<string, string> { ["note"] = "x" });
            }
        }

        ulong[] finalDefault = Generator.Default.GetState();

        // A new process, in effect: other seeds, fresh objects, then resume.
        Generator.Default.ManualSeed(999);
        var net2 = new HandNet();
        var opt2 = new Adam(net2.Parameters(), lr: 0.01f);
        var loader2 = new Generator(1234);
        Assert.True(Checkpoint.TryResume(path, net2, opt2, loader2, out var info));
        Assert.Equal(stopAfter, info.Epoch);
        Assert.Equal(stopAfter + 1, info.NextEpoch);
        Assert.Equal(4L * (stopAfter + 1), info.Step);
        Assert.Equal("x", info.Metadata["note"]);
        for (int epoch = info.NextEpoch; epoch < epochs; epoch++)
        {
            Epoch(net2, opt2, loader2);
        }

        TestData.AssertBitEqual(TestData.Flatten(net), TestData.Flatten(net2));
        Assert.Equal(opt.StepCount, opt2.StepCount);
        Assert.Equal(finalDefault, Generator.Default.GetState());
        Assert.Equal(loader.GetState(), loader2.GetState());
    }

    [Fact]
    public void File_IsPlainSafetensors_WithPrefixedKeysAndMetadata()
    {
        using var dir = new TempDir();
        string path = dir.File("c.ckpt");
        var net = new HandNet();
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        TestData.RandomGrads(net, new Generator(1));
        opt.Step();
        var loader = new Generator(5);
        Checkpoint.Save(path, net, opt, epoch: 4, loaderGenerator: loader);

        var dict = SafeTensors.Load(path);

        Assert.Contains("model.hidden.weight", dict.Keys);
        Assert.Contains("model.out.bias", dict.Keys);
        Assert.Contains("optimizer.state.0.exp_avg", dict.Keys);
        Assert.Contains("optimizer.state.3.exp_avg_sq", dict.Keys);
        Assert.Equal(Checkpoint.FormatName, dict.Metadata["format"]);
        Assert.Equal("4", dict.Metadata["epoch"]);
        Assert.Equal("1", dict.Metadata["step"]);
        Assert.Equal("HandNet", dict.Metadata["model.type"]);
        Assert.Equal("Adam", dict.Metadata["optimizer.type"]);
        Assert.StartsWith("[{\"lr\":0.01,\"betas\":[0.9,0.999]", dict.Metadata["optimizer.param_groups"]);
        Assert.Equal(string.Join(",", loader.GetState().Select(w => w.ToString("x16"))), dict.Metadata["rng.loader"]);
        Assert.True(dict.Metadata.ContainsKey("rng.default"));
    }

    [Fact]
    public void TryResume_WithoutAFile_ReturnsFalse()
    {
        using var dir = new TempDir();
        Assert.False(Checkpoint.TryResume(dir.File("none.ckpt"), new HandNet(), null, null, out var info));
        Assert.Null(info);
    }

    [Fact]
    public void TryResume_AnotherModelsCheckpoint_ThrowsListingProblems_AndChangesNothing()
    {
        using var dir = new TempDir();
        string path = dir.File("other.ckpt");
        var other = new HandNet(hidden: 5);
        var otherOpt = new SGD(other.Parameters(), lr: 0.1f, momentum: 0.9f);
        TestData.RandomGrads(other, new Generator(1));
        otherOpt.Step();
        Checkpoint.Save(path, other, otherOpt, epoch: 1);

        Generator.Default.ManualSeed(8);
        var net = new HandNet();
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        var loader = new Generator(3);
        float[] before = TestData.Flatten(net);
        ulong[] rngBefore = Generator.Default.GetState(), loaderBefore = loader.GetState();

        var e = Assert.Throws<ArgumentException>(() => Checkpoint.TryResume(path, net, opt, loader, out _));

        Assert.Contains($"Cannot resume HandNet from '{path}'", e.Message);
        Assert.Contains("model: size mismatch for hidden.weight: expected shape [10, 4], found [5, 4]", e.Message);
        Assert.Contains("optimizer: the state was saved by SGD, this optimizer is Adam", e.Message);
        Assert.Contains("no data loader generator state", e.Message);
        TestData.AssertBitEqual(before, TestData.Flatten(net));
        Assert.Equal(0, opt.StepCount);
        Assert.Equal(rngBefore, Generator.Default.GetState());
        Assert.Equal(loaderBefore, loader.GetState());
    }

    [Fact]
    public void TryResume_WithOnlyAnotherOptimizer_NamesTheOptimizerParameter()
    {
        using var dir = new TempDir();
        string path = dir.File("sgd.ckpt");
        var net = new HandNet();
        var sgd = new SGD(net.Parameters(), lr: 0.1f, momentum: 0.9f);
        Checkpoint.Save(path, net, sgd, epoch: 1);

        var e = Assert.Throws<ArgumentException>(() => Checkpoint.TryResume(path, new HandNet(), new Adam(net.Parameters()), null, out _));
        Assert.Equal("optimizer", e.ParamName);
        Assert.Contains("optimizer: the state was saved by SGD, this optimizer is Adam", e.Message);
        Assert.EndsWith("(Parameter 'optimizer')", e.Message);
        Assert.DoesNotContain("a Adam", e.Message);

        var noLoader = Assert.Throws<ArgumentException>(() => Checkpoint.TryResume(path, new HandNet(), null, new Generator(1), out _));
        Assert.Equal("loaderGenerator", noLoader.ParamName);
        var otherModel = Assert.Throws<ArgumentException>(() => Checkpoint.TryResume(path, new HandNet(hidden: 3), null, null, out _));
        Assert.Equal("model", otherModel.ParamName);
    }

    [Fact]
    public void Save_IntoAMissingFolder_NamesThePathAndTheFolder_NotATemporaryFile()
    {
        using var dir = new TempDir();
        string folder = dir.File("no-such-folder");
        string path = System.IO.Path.Combine(folder, "run.ckpt");
        var net = new HandNet();

        var e = Assert.Throws<DirectoryNotFoundException>(() => Checkpoint.Save(path, net, new Adam(net.Parameters())));
        Assert.Equal($"Cannot save '{path}': its folder '{folder}' does not exist. Create the folder first (Directory.CreateDirectory) or save elsewhere.", e.Message);
        Assert.DoesNotContain(".tmp", e.Message);
        var e2 = Assert.Throws<DirectoryNotFoundException>(() => net.StateDict().Save(path));
        Assert.Equal(e.Message, e2.Message);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public void TryResume_APlainStateDictFile_SaysItIsNotACheckpoint()
    {
        using var dir = new TempDir();
        string path = dir.File("weights.safetensors");
        var net = new HandNet();
        net.StateDict().Save(path);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.TryResume(path, net, null, null, out _));
        Assert.Contains($"'{path}' is a safetensors file but not a valid CompiledNets checkpoint: its __metadata__ has no 'format' entry", e.Message);
    }

    [Fact]
    public void TryResume_BadRngMetadata_ThrowsBeforeChangingAnything()
    {
        using var dir = new TempDir();
        string path = dir.File("c.ckpt");
        var net = new HandNet();
        Checkpoint.Save(path, net);
        var dict = SafeTensors.Load(path);
        dict.Metadata["rng.default"] = "0,0,0,0";
        foreach (var (_, t) in dict)
        {
            t.AsSpan().Fill(3f);
        }
        dict.Save(path);
        float[] before = TestData.Flatten(net);

        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.TryResume(path, net, null, null, out _));

        Assert.Contains("'rng.default' is '0,0,0,0'", e.Message);
        TestData.AssertBitEqual(before, TestData.Flatten(net));
    }

    [Fact]
    public void DropoutWithItsOwnGenerator_IsSavedAndRestored()
    {
        using var dir = new TempDir();
        string path = dir.File("c.ckpt");
        var net = new HandNet();
        net.Drop.Generator = new Generator(77);
        net.Drop.Generator.NextUInt64();
        ulong[] saved = net.Drop.Generator.GetState();
        Checkpoint.Save(path, net);
        net.Drop.Generator.NextUInt64();

        Assert.True(Checkpoint.TryResume(path, net, null, null, out _));
        Assert.Equal(saved, net.Drop.Generator.GetState());

        var plain = new HandNet();
        Checkpoint.Save(path, plain);
        var e = Assert.Throws<ArgumentException>(() => Checkpoint.TryResume(path, net, null, null, out _));
        Assert.Contains("dropout layer 'drop'", e.Message);
    }
}
