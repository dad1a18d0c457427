using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Xunit;

namespace CompiledNets.Tests.Serialization;

public class SafeTensorsTests
{
    [Fact]
    public void RoundTrip_KeepsKeysInOrder_ShapesBitsAndMetadata()
    {
        using var dir = new TempDir();
        var dict = new StateDict
        {
            { "z.weight", Tensor.FromArray([1f, -0f, float.NaN, float.PositiveInfinity, float.Epsilon, -3.25e-38f], 2, 3) },
            { "a.bias", Tensor.FromArray([0.1f, 0.2f, 0.3f]) },
            { "scalar", new Tensor() },
            { "empty", new Tensor(0, 4) },
            { "ünïcode \"quoted\"", Tensor.FromArray([42f], 1, 1, 1) },
        };
        dict["scalar"].AsSpan()[0] = 7.5f;
        dict.Metadata["epoch"] = "3";
        dict.Metadata["note"] = "héllo \"world\"";
        string path = dir.File("dict.safetensors");

        dict.Save(path);
        var back = StateDict.Load(path);

        Assert.Equal(dict.Keys, back.Keys);
        foreach (var (key, t) in dict)
        {
            Assert.Equal(t.Shape.ToArray(), back[key].Shape.ToArray());
            TestData.AssertBitEqual(t.AsSpan(), back[key].AsSpan());
        }
        Assert.Equal(dict.Metadata, back.Metadata);
    }

    [Fact]
    public void WrittenFile_FollowsTheSpec_PaddedHeaderThenRawLittleEndianData()
    {
        using var dir = new TempDir();
        var dict = new StateDict { { "w", Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3) }, { "b", Tensor.FromArray([-1f]) } };
        dict.Metadata["k"] = "v";
        string path = dir.File("x.safetensors");
        dict.Save(path);

        byte[] bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.StartsWith("{\"__metadata__\":{\"k\":\"v\"}", header);
        Assert.EndsWith("}", header.TrimEnd(' '));
        using var doc = JsonDocument.Parse(header);
        var w = doc.RootElement.GetProperty("w");
        Assert.Equal("F32", w.GetProperty("dtype").GetString());
        Assert.Equal([2, 3], w.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([0, 24], w.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([24, 28], doc.RootElement.GetProperty("b").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(8 + (int)n + 28, bytes.Length);
        Assert.Equal(3f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + (int)n + 8)));
        Assert.Equal(-1f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + (int)n + 24)));
    }

    [Fact]
    public void Save_ReplacesTheFile_AndLeavesNoTemporaryFile()
    {
        using var dir = new TempDir();
        string path = dir.File("m.safetensors");
        new StateDict { { "a", Tensor.FromArray([1f]) } }.Save(path);
        new StateDict { { "b", Tensor.FromArray([2f, 3f]) } }.Save(path);

        Assert.Equal(["b"], StateDict.Load(path).Keys);
        Assert.Equal(["m.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Save_IntoAMissingFolder_ThrowsAndWritesNothing()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "no-such-folder", "m.safetensors");
        Assert.ThrowsAny<IOException>(() => new StateDict { { "a", Tensor.FromArray([1f]) } }.Save(path));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Save_RejectsTheReservedMetadataKeyAsATensorName()
    {
        using var dir = new TempDir();
        var dict = new StateDict { { "__metadata__", Tensor.FromArray([1f]) } };
        Assert.Throws<ArgumentException>(() => dict.Save(dir.File("m.safetensors")));
    }

    [Fact]
    public void Load_MissingFile_ThrowsFileNotFound()
    {
        using var dir = new TempDir();
        Assert.Throws<FileNotFoundException>(() => StateDict.Load(dir.File("absent.safetensors")));
    }
}
