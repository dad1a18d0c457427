using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace CompiledNets.Tests.Parity;

/// <summary>Reading the JSON fixtures written by the scripts under <c>tools/</c> and comparing against them.</summary>
internal static class PyTorchFixture
{
    /// <summary>A fixture tensor <c>{"shape": [...], "data": [...]}</c> as a <see cref="Tensor"/>.</summary>
    public static Tensor ReadTensor(JsonElement e) => Tensor.FromArray(
        e.GetProperty("data").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray(),
        e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray());

    /// <summary>
    /// Asserts <c>|actual − expected| ≤ rtol·|expected| + atol</c> element by element (naming the first element that
    /// fails) and returns the largest relative error over the values of magnitude ≥ 1e-3, which it also logs.
    /// </summary>
    public static double Match(ITestOutputHelper output, string what, ReadOnlySpan<float> actual, JsonElement expected, double rtol, double atol)
    {
        double[] e = expected.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(e.Length, actual.Length);
        double worst = 0;
        for (int i = 0; i < e.Length; i++)
        {
            double err = Math.Abs(actual[i] - e[i]);
            Assert.True(err <= rtol * Math.Abs(e[i]) + atol, $"{what}[{i}]: CompiledNets {actual[i]:R}, PyTorch {e[i]:R}, error {err:E2}");
            if (Math.Abs(e[i]) >= 1e-3)
            {
                worst = Math.Max(worst, err / Math.Abs(e[i]));
            }
        }
        output.WriteLine($"{what}: largest relative error {worst:E2} (values ≥ 1e-3)");
        return worst;
    }
}
