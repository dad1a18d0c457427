using System.Text;
using Xunit;

namespace CompiledNets.Tests.Serialization;

/// <summary>
/// Files of another kind given to <see cref="StateDict.Load"/> (PyTorch checkpoints from <c>torch.save</c>, text, NumPy),
/// and a non-strict load that matches nothing: the error says what the file looks like and how to convert it.
/// </summary>
public class WrongFileTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    [Fact]
    public void A_torch_save_zip_checkpoint_is_named_and_the_conversion_given()
    {
        // Written by tools/make_foreign_fixtures.py: torch.save(net.state_dict(), "torch_save_zip.pt").
        string path = Fixture("torch_save_zip.pt");
        var e = Assert.Throws<SafeTensorsFormatException>(() => StateDict.Load(path));
        Assert.StartsWith($"'{path}' is not a valid safetensors file: the header length is ", e.Message);
        Assert.Contains("it looks like a zip archive, which is what torch.save writes", e.Message);
        Assert.Contains("from safetensors.torch import save_file; save_file(torch.load(\"torch_save_zip.pt\", map_location=\"cpu\"), \"torch_save_zip.safetensors\")", e.Message);
    }

    [Fact]
    public void Resuming_from_a_torch_save_file_says_the_same()
    {
        var net = new HandNet();
        var e = Assert.Throws<SafeTensorsFormatException>(() => Checkpoint.TryResume(Fixture("torch_save_zip.pt"), net, null, null, out _));
        Assert.Contains("it looks like a zip archive, which is what torch.save writes", e.Message);
    }

    [Fact]
    public void A_legacy_torch_save_pickle_is_named_and_the_conversion_given()
    {
        string path = Fixture("torch_save_legacy.pt");
        var e = Assert.Throws<SafeTensorsFormatException>(() => StateDict.Load(path));
        Assert.Contains("it looks like a Python pickle (protocol 2), e.g. a checkpoint written by torch.save in the legacy format", e.Message);
        Assert.Contains("save_file(torch.load(\"torch_save_legacy.pt\"", e.Message);
    }

    [Theory]
    [InlineData("hidden.weight,1,2,3\n0.1,0.2\n")]
    [InlineData("{\"hidden.weight\": [[0.1, 0.2]]}")]
    [InlineData("hi")]
    public void A_text_file_is_named_with_its_first_line(string text)
    {
        using var dir = new TempDir();
        string path = dir.File("weights.txt");
        File.WriteAllText(path, text);
        var e = Assert.Throws<SafeTensorsFormatException>(() => StateDict.Load(path));
        Assert.Contains($"it looks like a text file (it starts with \"{text.Split('\n')[0]}\"): a safetensors file is binary", e.Message);
        Assert.Contains("StateDict.Save", e.Message);
    }

    [Fact]
    public void A_numpy_array_is_named()
    {
        using var dir = new TempDir();
        string path = dir.File("w.npy");
        File.WriteAllBytes(path, [0x93, .. "NUMPY"u8, 1, 0, 118, 0, .. Encoding.ASCII.GetBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }")]);
        var e = Assert.Throws<SafeTensorsFormatException>(() => StateDict.Load(path));
        Assert.Contains("it looks like a NumPy .npy array", e.Message);
    }

    [Fact]
    public void A_damaged_safetensors_file_gets_no_guess()
    {
        using var dir = new TempDir();
        string path = dir.File("bad.safetensors");
        File.WriteAllBytes(path, [200, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}']);
        var e = Assert.Throws<SafeTensorsFormatException>(() => StateDict.Load(path));
        Assert.DoesNotContain("looks like", e.Message);
    }

    [Fact]
    public void A_non_strict_load_that_matches_no_key_fails_and_changes_nothing()
    {
        Generator.Default.ManualSeed(11);
        var net = new HandNet();
        float[] before = TestData.Flatten(net);
        var other = new StateDict();
        foreach (var (key, t) in new HandNet().StateDict())
        {
            other.Add("encoder." + key.Replace("hidden", "fc1"), t);
        }

        var e = Assert.Throws<ArgumentException>(() => net.LoadStateDict(other, strict: false));
        Assert.Contains("strict: false, but none of the model's 4 key(s) (hidden.weight, hidden.bias, out.weight, out.bias) is in the state dict, " +
                        "so nothing would be loaded; its 4 key(s) are encoder.fc1.weight, encoder.fc1.bias, encoder.out.weight, encoder.out.bias", e.Message);
        TestData.AssertBitEqual(before, TestData.Flatten(net));

        var empty = Assert.Throws<ArgumentException>(() => net.LoadStateDict(new StateDict(), strict: false));
        Assert.Contains("the state dict is empty", empty.Message);

        // Under a prefix of exactly this model's keys, the existing hint says how to fix it.
        var prefixed = new StateDict();
        foreach (var (key, t) in new HandNet().StateDict())
        {
            prefixed.Add("module." + key, t);
        }
        Assert.Contains("strip the prefix 'module.'", Assert.Throws<ArgumentException>(() => net.LoadStateDict(prefixed, strict: false)).Message);

        // One matching key is enough: the rest is reported, as in PyTorch.
        var one = new StateDict();
        one.Add("out.bias", new HandNet().StateDict()["out.bias"]);
        Assert.Equal(3, net.LoadStateDict(one, strict: false).MissingKeys.Count);
    }
}
