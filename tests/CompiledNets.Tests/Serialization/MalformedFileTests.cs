using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace CompiledNets.Tests.Serialization;

/// <summary>Each bad file is written byte by byte; loading must fail with a clear message naming the problem and the path.</summary>
public class MalformedFileTests
{
    /// <summary>A file with the given header length field, header text and data bytes.</summary>
    private static byte[] File(ulong headerLength, string header, int dataBytes = 0)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength);
        h.CopyTo(bytes, 8);
        for (int i = 0; i < dataBytes; i++)
        {
            bytes[8 + h.Length + i] = (byte)i;
        }
        return bytes;
    }

    private static byte[] File(string header, int dataBytes = 0) => File((ulong)Encoding.UTF8.GetByteCount(header), header, dataBytes);

    private static string T(string name, string shape, int begin, int end, string dtype = "F32") =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    public static TheoryData<string, byte[], string> BadFiles => new()
    {
        { "empty file", [], "8-byte header length" },
        { "truncated length field", [16, 0, 0], "8-byte header length" },
        { "header length beyond the file", File(200, "{}"), "goes beyond the end of the file" },
        { "header length absurdly large", File(ulong.MaxValue, "{}"), "over the limit" },
        { "header length just over the cap", File(100_000_001, "{}"), "over the limit" },
        { "header not JSON", File("{\"a\":"), "not valid JSON" },
        { "header not an object", File("[1, 2]  "), "does not start with '{'" },
        { "header with trailing garbage", File("{}xyz"), "not valid JSON" },
        { "invalid UTF-8 in the header", [.. File(4, "{\"\"}").AsSpan(0, 8), (byte)'{', (byte)'"', 0xff, (byte)'"'], "not valid JSON" },
        { "unknown dtype", File("{" + T("w", "[2]", 0, 8, "Q7") + "}", 8), "unknown dtype 'Q7'" },
        { "known but unsupported dtype", File("{" + T("w", "[2]", 0, 4, "F16") + "}", 4), "dtype F16" },
        { "shape and offsets disagree", File("{" + T("w", "[2, 3]", 0, 16) + "}", 16), "needs 24 bytes" },
        { "negative dimension", File("{" + T("w", "[-1]", 0, 0) + "}"), "expected sizes" },
        { "fractional dimension", File("{" + T("w", "[1.5]", 0, 4) + "}", 4), "expected sizes" },
        { "shape too large for an array", File("{" + T("w", "[2147483647, 2147483647]", 0, 4) + "}", 4), "more elements than an array" },
        { "offsets end before they begin", File("{" + T("w", "[1]", 8, 4) + "}", 8), "end before they begin" },
        { "offsets not two numbers", File("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4), "data_offsets should be" },
        { "offsets negative", File("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4), "data_offsets should be" },
        { "missing dtype", File("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "'dtype'" },
        { "overlapping offsets", File("{" + T("a", "[2]", 0, 8) + "," + T("b", "[2]", 4, 12) + "}", 12), "overlap tensor 'a'" },
        { "offsets out of range", File("{" + T("a", "[2]", 0, 8) + "," + T("b", "[2]", 8, 16) + "}", 12), "go beyond the data section" },
        { "truncated data", File("{" + T("a", "[4]", 0, 16) + "}", 9), "go beyond the data section (9 bytes; truncated file?)" },
        { "gap between tensors", File("{" + T("a", "[1]", 0, 4) + "," + T("b", "[1]", 8, 12) + "}", 12), "leave a gap after tensor 'a'" },
        { "data not starting at 0", File("{" + T("a", "[1]", 4, 8) + "}", 8), "unused" },
        { "trailing bytes after the data", File("{" + T("a", "[1]", 0, 4) + "}", 8), "trailing bytes" },
        { "duplicate tensor name", File("{" + T("a", "[1]", 0, 4) + "," + T("a", "[1]", 4, 8) + "}", 8), "key 'a' twice" },
        { "metadata value not a string", File("{\"__metadata__\":{\"epoch\":3}}"), "expected a string" },
        { "tensor entry not an object", File("{\"a\":[1,2]}"), "expected an object" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Load_BadFile_ThrowsNamingTheProblemAndThePath(string description, byte[] bytes, string expectedProblem)
    {
        using var dir = new TempDir();
        string path = dir.File("bad.safetensors");
        System.IO.File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<SafeTensorsFormatException>(() => StateDict.Load(path));

        Assert.True(e.Message.Contains(expectedProblem, StringComparison.Ordinal), $"{description}: message was \"{e.Message}\"");
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void Load_ValidHandWrittenFile_WithHeaderOrderUnlikeDataOrder()
    {
        using var dir = new TempDir();
        string path = dir.File("ok.safetensors");
        byte[] bytes = File("{" + T("b", "[1]", 4, 8) + "," + T("a", "[1]", 0, 4) + ",\"__metadata__\":{\"x\":\"y\"},"
            + T("empty", "[0]", 8, 8) + "}    ", 8);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(bytes.Length - 8), 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(bytes.Length - 4), -2.5f);
        System.IO.File.WriteAllBytes(path, bytes);

        var dict = StateDict.Load(path);

        Assert.Equal(["b", "a", "empty"], dict.Keys);
        Assert.Equal(-2.5f, dict["b"][0]);
        Assert.Equal(1.5f, dict["a"][0]);
        Assert.Equal(0, dict["empty"].Numel);
        Assert.Equal("y", dict.Metadata["x"]);
    }

    [Fact]
    public void Load_BadFile_LeavesTheModelUntouched()
    {
        using var dir = new TempDir();
        Generator.Default.ManualSeed(1);
        var net = new HandNet();
        float[] before = TestData.Flatten(net);
        string path = dir.File("bad.safetensors");
        var good = net.StateDict();
        foreach (var (_, t) in good)
        {
            t.AsSpan().Fill(9f);
        }
        good.Save(path);
        byte[] bytes = System.IO.File.ReadAllBytes(path);
        System.IO.File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 5).ToArray());

        Assert.Throws<SafeTensorsFormatException>(() => net.LoadStateDict(StateDict.Load(path)));
        Assert.Throws<SafeTensorsFormatException>(() => Checkpoint.TryResume(path, net, null, null, out _));
        TestData.AssertBitEqual(before, TestData.Flatten(net));
    }
}
