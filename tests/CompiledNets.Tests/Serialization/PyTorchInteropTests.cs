using Xunit;

namespace CompiledNets.Tests.Serialization;

/// <summary>
/// Fixtures made once with PyTorch 1.13 by tools/make_safetensors_fixture.py (which writes safetensors by
/// hand from the spec): the tutorial net's state_dict (torch.manual_seed(0)), 16 inputs and PyTorch's
/// eval-mode logits.
/// </summary>
public class PyTorchInteropTests
{
    private static readonly string StatePath = TestData.FixturePath("irisnet_pytorch.safetensors");
    private static readonly string IoPath = TestData.FixturePath("irisnet_pytorch_io.safetensors");

    [Fact]
    public void PyTorchStateDict_Loads_AndGivesPyTorchsLogits()
    {
        var dict = StateDict.Load(StatePath);
        Assert.Equal("1.13.0a0", dict.Metadata["torch_version"]);
        var net = new HandNet();
        net.LoadStateDict(dict);
        net.Eval();
        var io = StateDict.Load(IoPath);

        var logits = net.Forward(io["x"]);

        float[] expected = io["logits"].ToArray(), actual = logits.ToArray();
        Assert.Equal([16, 3], logits.Shape.ToArray());
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6f, $"logit {i}: PyTorch {expected[i]:R}, CompiledNets {actual[i]:R}");
        }
    }

    [Fact]
    public void SavingThePyTorchFile_ReproducesItByteForByte()
    {
        // The reference layout (keys sorted, compact JSON, space padding) is what our writer emits for
        // the same order, so a load/save cycle is lossless down to the byte.
        using var dir = new TempDir();
        string path = dir.File("again.safetensors");
        StateDict.Load(StatePath).Save(path);
        Assert.Equal(File.ReadAllBytes(StatePath), File.ReadAllBytes(path));
    }
}
