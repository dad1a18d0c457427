using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using CompiledNets.Kernels.Cpu;
using Xunit;

namespace CompiledNets.Tests.Kernels;

/// <summary>
/// <see cref="VectorMathF.Exp"/> (float Cephes exp, used by the cross-entropy blocks) against <see cref="Math.Exp"/> in
/// float64: a dense sweep of [−110, 92] (steps of 2⁻⁸ plus random points), the clamp and range edges, ±0, ±∞ and NaN,
/// each value in every one of the 16 lanes. Normal results within 2 ulp, subnormal ones within 2⁻¹⁴⁹, overflow +∞.
/// <see cref="VectorMathF.Log"/> likewise against <see cref="Math.Log(double)"/> over the positive normals, with the
/// special values (0, negatives, subnormals, ∞, NaN) beside normal lanes.
/// </summary>
public sealed class VectorMathFTests
{
    [Fact]
    public void Exp_is_within_two_ulp_of_float64_everywhere()
    {
        if (!Avx512F.IsSupported)
        {
            return; // the kernel is only called behind the same check
        }
        var values = new List<float>();
        for (double v = -110; v <= 92; v += 1.0 / 256)
        {
            values.Add((float)v);
        }
        var rng = new Random(7);
        for (int i = 0; i < 20000; i++)
        {
            values.Add((float)(rng.NextDouble() * 202 - 110));
        }
        values.AddRange([0f, -0f, 1e-30f, -1e-30f, float.Epsilon, -87.33654f, -87.3366f, -88.7f, -103.27893f, -103.97208f, -104f, -104.1f,
            88.72283f, 88.72284f, 89f, 89.1f, float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity]);
        double worstUlp = 0;
        Span<float> lanes = stackalloc float[16];
        foreach (float x in values)
        {
            for (int lane = 0; lane < 16; lane++)
            {
                lanes.Fill(1f);
                lanes[lane] = x;
                float y = VectorMathF.Exp(Vector512.Create<float>(lanes))[lane];
                double exact = Math.Exp(x);
                if (exact > float.MaxValue)
                {
                    Assert.True(float.IsPositiveInfinity(y), $"exp({x:R}) = {y:R}; expected +∞");
                }
                else if (exact < Math.Pow(2, -126))
                {
                    Assert.True(Math.Abs(y - exact) <= Math.Pow(2, -149), $"exp({x:R}) = {y:R}; expected {exact:R} (subnormal)");
                }
                else
                {
                    double ulp = Math.Pow(2, Math.Floor(Math.Log2(exact)) - 23);
                    double errUlp = Math.Abs(y - exact) / ulp;
                    worstUlp = Math.Max(worstUlp, errUlp);
                    Assert.True(errUlp <= 2, $"exp({x:R}) = {y:R}; expected {exact:R}: {errUlp:F2} ulp");
                }
            }
        }
        Assert.True(worstUlp > 0.3, $"worst error {worstUlp} ulp: the sweep did not exercise rounding"); // the check can fail
        var nan = VectorMathF.Exp(Vector512.Create(float.NaN));
        Assert.True(float.IsNaN(nan[0]) && float.IsNaN(nan[15]));
    }

    [Fact]
    public void Log_is_within_two_ulp_of_float64_everywhere()
    {
        if (!Avx512F.IsSupported)
        {
            return;
        }
        var values = new List<float>();
        for (double v = 0.25; v <= 32; v += 1.0 / 512)
        {
            values.Add((float)v); // the cross-entropy range [1, 16] and around, densely
        }
        for (int i = 1; i < 4096; i++)
        {
            values.Add(1f + i * 1.1920929e-7f); // just above 1: results near 0
            values.Add(1f - i * 5.9604645e-8f);                        // just below 1
        }
        var rng = new Random(11);
        for (int i = 0; i < 20000; i++)
        {
            values.Add(MathF.Pow(2f, (float)(rng.NextDouble() * 252 - 126))); // every exponent of the normals
        }
        values.AddRange([1f, 2f, 1.4142135f, 1.4142137f, 0.70710677f, 1.17549435e-38f, float.MaxValue]);
        double worstUlp = 0;
        Span<float> lanes = stackalloc float[16];
        foreach (float x in values)
        {
            for (int lane = 0; lane < 16; lane += 5)
            {
                lanes.Fill(3f);
                lanes[lane] = x;
                float y = VectorMathF.Log(Vector512.Create<float>(lanes))[lane];
                double exact = Math.Log(x);
                if (exact == 0)
                {
                    Assert.Equal(0f, y);
                    continue;
                }
                double ulp = Math.Pow(2, Math.Floor(Math.Log2(Math.Abs(exact))) - 23);
                double errUlp = Math.Abs(y - exact) / ulp;
                worstUlp = Math.Max(worstUlp, errUlp);
                Assert.True(errUlp <= 2, $"log({x:R}) = {y:R}; expected {exact:R}: {errUlp:F2} ulp");
            }
        }
        Assert.True(worstUlp > 0.3, $"worst error {worstUlp} ulp: the sweep did not exercise rounding");
        // Outside the positive normals: .NET's log, lane by lane, beside normal lanes.
        float[] special = [0f, -0f, -1f, float.Epsilon, 1e-40f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 2f, 1f, 0.5f, 10f, 3f, 4f, 5f, 6f];
        var got = VectorMathF.Log(Vector512.Create<float>(special));
        for (int i = 0; i < 16; i++)
        {
            double exact = Math.Log(special[i]);
            Assert.True(double.IsNaN(exact) ? float.IsNaN(got[i]) : Math.Abs(got[i] - exact) <= Math.Abs(exact) * 3e-7 || got[i] == (float)exact,
                $"log({special[i]:R}) = {got[i]:R}; expected {exact:R}");
        }
    }
}

/// <summary>
/// <c>LossFunction.SumAsDouble</c> (the float64 sum behind every loss reduction) against a serial float64 sum at every
/// length edge of its 16-wide vector loop and its 4-wide scalar loop.
/// </summary>
public sealed class LossSumTests
{
    [Theory]
    [MemberData(nameof(ElementwiseKernelTests.AllLengths), MemberType = typeof(ElementwiseKernelTests))]
    [InlineData(47)]
    [InlineData(48)]
    [InlineData(49)]
    [InlineData(112)]
    public void The_float64_sum_matches_a_serial_sum(int n)
    {
        float[] v = KernelTestData.Normal(n, (ulong)n + 31, scale: 1000);
        double expected = 0, magnitude = 0;
        foreach (float x in v)
        {
            expected += x;
            magnitude += Math.Abs(x);
        }
        double got = LossFunction.SumAsDouble(v);
        Assert.True(Math.Abs(got - expected) <= 1e-14 * magnitude, $"n {n}: {got:R} vs {expected:R}");
        if (n > 0)
        {
            v[^1] += 1f; // every element counts, the last included
            Assert.NotEqual(got, LossFunction.SumAsDouble(v));
        }
    }
}
