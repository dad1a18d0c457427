using CompiledNets.Kernels.Gpu;
using Xunit;

namespace CompiledNets.Tests.Devices;

/// <summary><see cref="GpuMath.Exp"/> against float64 <see cref="Math.Exp"/> over its whole range.</summary>
public sealed class GpuMathTests
{
    [Fact]
    public void Exp_is_within_3e_7_relative_over_the_normal_range_and_exact_at_the_edges()
    {
        double worst = 0;
        for (int i = 0; i <= 200_000; i++)
        {
            float x = -87.3f + i * (88.7f + 87.3f) / 200_000;
            double expected = Math.Exp(x);
            double rel = Math.Abs(GpuMath.Exp(x) - expected) / expected;
            worst = Math.Max(worst, rel);
        }
        Assert.True(worst <= 3e-7, $"worst relative error {worst:E2}");
        Assert.Equal(1f, GpuMath.Exp(0f));
        Assert.Equal(1f, GpuMath.Exp(-0f));
        Assert.Equal(float.PositiveInfinity, GpuMath.Exp(89f));
        Assert.Equal(float.PositiveInfinity, GpuMath.Exp(float.PositiveInfinity));
        Assert.Equal(0f, GpuMath.Exp(-104f));
        Assert.Equal(0f, GpuMath.Exp(float.NegativeInfinity));
        Assert.True(float.IsNaN(GpuMath.Exp(float.NaN)));
    }

    [Theory]
    [InlineData(-88f)]
    [InlineData(-95f)]
    [InlineData(-100f)]
    [InlineData(-103.5f)]
    public void Exp_keeps_subnormal_results_to_their_last_bit(float x)
    {
        // Below e^-87.3 results are subnormal: their spacing is 2^-149, so the error is bounded absolutely.
        double expected = Math.Exp(x);
        Assert.True(Math.Abs(GpuMath.Exp(x) - expected) <= Math.Max(3e-7 * expected, float.Epsilon), $"{GpuMath.Exp(x):R} vs {expected:R}");
    }

    [Fact]
    public void Log_is_within_2e_7_relative_from_subnormals_to_the_largest_float_and_next_to_one()
    {
        double worst = 0;
        var g = new Generator(7);
        for (int i = 0; i < 200_000; i++)
        {
            float x = i < 100_000
                ? (float)Math.Pow(2, -149 + 277 * g.NextDouble())  // every binade
                : 1f + (float)((g.NextDouble() - 0.5) * 1e-3);     // next to 1, where ln x is tiny
            double expected = Math.Log(x);
            double err = Math.Abs(GpuMath.Log(x) - expected);
            worst = Math.Max(worst, expected == 0 ? err : err / Math.Abs(expected));
        }
        Assert.True(worst <= 2e-7, $"worst relative error {worst:E2}");
        Assert.Equal(0f, GpuMath.Log(1f));
        Assert.Equal(float.NegativeInfinity, GpuMath.Log(0f));
        Assert.Equal(float.PositiveInfinity, GpuMath.Log(float.PositiveInfinity));
        Assert.True(float.IsNaN(GpuMath.Log(-1f)));
        Assert.True(float.IsNaN(GpuMath.Log(float.NaN)));
    }

    [Fact]
    public void Log1p_is_within_3e_7_relative_from_tiny_values_to_one()
    {
        double worst = 0;
        for (int i = 0; i <= 100_000; i++)
        {
            float x = (float)Math.Pow(10, -30 + 30.0 * i / 100_000);
            double d = x;
            double expected = d < 1e-4 ? d - d * d / 2 + d * d * d / 3 : Math.Log(1 + d); // the series where 1 + x would round
            worst = Math.Max(worst, Math.Abs(GpuMath.Log1p(x) - expected) / expected);
        }
        Assert.True(worst <= 3e-7, $"worst relative error {worst:E2}");
        Assert.Equal(0f, GpuMath.Log1p(0f));
    }
}
