using System.Text.Json;
using Xunit;

namespace CompiledNets.Tests.Runtime;

/// <summary>
/// <see cref="Tensor.ToString"/> and <see cref="IntTensor.ToString"/> against what PyTorch 1.13's <c>print(tensor)</c>
/// wrote for the same values (Fixtures/tensor_print.json, from tools/make_print_fixture.py).
/// </summary>
public class TensorPrintTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Load().RootElement.GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("name").GetString()!);
        }
        return data;
    }

    private static JsonDocument Load() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "tensor_print.json")));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Prints_as_PyTorch_does(string name)
    {
        using var doc = Load();
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        int[] shape = c.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        string expected = c.GetProperty("expected").GetString()!;
        string actual;
        if (c.TryGetProperty("bits", out var bits))
        {
            float[] values = bits.EnumerateArray().Select(e => BitConverter.UInt32BitsToSingle(e.GetUInt32())).ToArray();
            // A scalar (shape []) is a view: FromArray reads an empty shape as [n].
            actual = (shape.Length == 0 ? Tensor.View(values, 0, shape) : Tensor.FromArray(values, shape)).ToString();
        }
        else
        {
            int[] values = c.GetProperty("ints").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            actual = IntTensor.FromArray(values, shape).ToString();
        }
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void The_fixture_covers_summarising_scientific_and_wrapped_output()
    {
        using var doc = Load();
        var expected = doc.RootElement.GetProperty("cases").EnumerateArray().Select(e => e.GetProperty("expected").GetString()!).ToList();
        Assert.True(expected.Count >= 40);
        Assert.Contains(expected, e => e.Contains("..."));
        Assert.Contains(expected, e => e.Contains("e+08"));
        Assert.Contains(expected, e => e.Contains("e-05"));
        Assert.Contains(expected, e => e.Split('\n').Length > 20);
    }

    [Theory]
    [InlineData(0.03125, "0.0312")] // ties go to even, on the exact binary value (as Python's format)
    [InlineData(0.09375, "0.0938")]
    [InlineData(-0.00001, "-0.0000")]
    [InlineData(1234.56789, "1234.5679")]
    public void Fixed_rounds_like_Python(double value, string expected) =>
        Assert.Equal(expected, TensorFormatter.Fixed(value, 4));

    [Theory]
    [InlineData(-1.0438e8, "-1.0438e+08")]
    [InlineData(9.99995e-5, "9.9999e-05")] // just below the tie in binary
    [InlineData(0.0, "0.0000e+00")]
    [InlineData(3.4028234663852886e38, "3.4028e+38")]
    [InlineData(1.401298464324817e-45, "1.4013e-45")]
    public void Scientific_rounds_like_Python(double value, string expected) =>
        Assert.Equal(expected, TensorFormatter.Scientific(value));
}
