using CompiledNets.Tests.Models;
using CompiledNets.Data;
using Xunit;

namespace CompiledNets.Tests.Serialization;

/// <summary>End to end with a generated <c>[Model]</c>: PyTorch's weights and logits, and exact resume of training.</summary>
public class GeneratedModelCheckpointTests
{
    [Fact]
    public void PyTorchStateDict_ThroughTheGeneratedModel_GivesPyTorchsLogits()
    {
        var net = new TutorialNet();
        net.LoadStateDict(StateDict.Load(TestData.FixturePath("irisnet_pytorch.safetensors")));
        net.Eval();
        var io = StateDict.Load(TestData.FixturePath("irisnet_pytorch_io.safetensors"));

        float[] actual = net.Forward(io["x"]).ToArray(), expected = io["logits"].ToArray();

        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6f, $"logit {i}: PyTorch {expected[i]:R}, CompiledNets {actual[i]:R}");
        }
    }

    [Fact]
    public void GeneratedModel_StateDictKeys_ArePyTorchs()
    {
        using var dir = new TempDir();
        string path = dir.File("net.safetensors");
        new TutorialNet().StateDict().Save(path);
        var dict = StateDict.Load(path);
        Assert.Equal(["hidden.weight", "hidden.bias", "out.weight", "out.bias"], dict.Keys);
        Assert.Equal([10, 4], dict["hidden.weight"].Shape.ToArray());
        Assert.Equal([3, 10], dict["out.weight"].Shape.ToArray());
    }

    /// <summary>A small three-class problem: 64 rows of 4 features drawn from a fixed generator.</summary>
    private static (float[] X, int[] Y) Data()
    {
        var g = new Generator(2024);
        var x = new float[64 * 4];
        var y = new int[64];
        for (int i = 0; i < 64; i++)
        {
            y[i] = i % 3;
            for (int j = 0; j < 4; j++)
            {
                x[i * 4 + j] = (float)g.NextNormal() + (j == y[i] ? 2f : 0f);
            }
        }
        return (x, y);
    }

    private static DataLoader Loader(float[] x, int[] y, ulong seed) =>
        new(new TensorDataset(Tensor.FromArray(x, y.Length, 4), IntTensor.FromArray(y), numClasses: 3), batchSize: 16, shuffle: true, seed: seed);

    /// <summary>
    /// One epoch: the data loader shuffles the rows (its own generator), then mini-batches of 16 train with
    /// dropout (drawing from <see cref="Generator.Default"/>), cross-entropy and Adam.
    /// </summary>
    private static void Epoch(TutorialNet net, Adam opt, DataLoader loader)
    {
        var lossFn = new CrossEntropyLoss();
        net.Train();
        foreach (var (xb, yb) in loader)
        {
            var loss = lossFn.Forward(net.Forward(xb), yb);
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
        }
    }

    [Fact]
    public void Resume_WithAdamDropoutAndShuffling_ContinuesBitForBit()
    {
        using var dir = new TempDir();
        string path = dir.File("tutorial.ckpt");
        var (x, y) = Data();
        const int epochs = 8, stopAfter = 3;

        Generator.Default.ManualSeed(42);
        var net = new TutorialNet();
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        var loader = Loader(x, y, seed: 7);
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            Epoch(net, opt, loader);
            if (epoch == stopAfter)
            {
                Checkpoint.Save(path, net, opt, epoch, loader.Generator);
            }
        }
        float[] expected = TestData.Flatten(net);
        ulong[] expectedRng = Generator.Default.GetState();

        // As a new process would: other seed, fresh model, optimizer and loader, then resume.
        Generator.Default.ManualSeed(7777);
        var net2 = new TutorialNet();
        var opt2 = new Adam(net2.Parameters(), lr: 0.01f);
        var loader2 = Loader(x, y, seed: 1);
        Assert.True(Checkpoint.TryResume(path, net2, opt2, loader2.Generator, out var info));
        Assert.Equal(stopAfter + 1, info.NextEpoch);
        Assert.Equal(4L * (stopAfter + 1), info.Step);
        for (int epoch = info.NextEpoch; epoch < epochs; epoch++)
        {
            Epoch(net2, opt2, loader2);
        }

        TestData.AssertBitEqual(expected, TestData.Flatten(net2));
        for (int i = 0; i < 4; i++)
        {
            TestData.AssertBitEqual(opt.ExpAvg(i), opt2.ExpAvg(i));
            TestData.AssertBitEqual(opt.ExpAvgSq(i), opt2.ExpAvgSq(i));
        }
        Assert.Equal(expectedRng, Generator.Default.GetState());
        Assert.NotEqual(TestData.Flatten(new TutorialNet()), expected); // the run did train
    }

    [Fact]
    public void Resume_WithoutTheRngState_WouldDiverge()
    {
        // The control for the test above: restoring weights and optimizer but not the dropout generator
        // (the tutorial's torch.save recipe) does not reproduce the uninterrupted run.
        var (x, y) = Data();
        Generator.Default.ManualSeed(42);
        var net = new TutorialNet();
        var opt = new Adam(net.Parameters(), lr: 0.01f);
        var loader = Loader(x, y, seed: 7);
        Epoch(net, opt, loader);
        var weights = net.StateDict();
        var state = opt.StateDict();
        ulong[] loaderState = loader.Generator.GetState();
        Epoch(net, opt, loader);

        Generator.Default.ManualSeed(5);
        var net2 = new TutorialNet();
        var opt2 = new Adam(net2.Parameters(), lr: 0.01f);
        net2.LoadStateDict(weights);
        opt2.LoadStateDict(state);
        var loader2 = Loader(x, y, seed: 1);
        loader2.Generator.SetState(loaderState);
        Epoch(net2, opt2, loader2);

        Assert.NotEqual(TestData.Flatten(net), TestData.Flatten(net2));
    }
}
