using Xunit;

namespace CompiledNets.Tests.Runtime;

/// <summary>Initialisers follow PyTorch's formulas: bounds and moments over many draws.</summary>
public class InitTests
{
    private static (double Mean, double Std, float Min, float Max) Stats(Parameter p)
    {
        var v = p.Data.ToArray();
        double mean = v.Average();
        double std = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Length);
        return (mean, std, v.Min(), v.Max());
    }

    [Fact]
    public void XavierUniformBound()
    {
        var p = new Parameter(300, 200);
        Init.XavierUniform(p, generator: new Generator(1));
        float bound = MathF.Sqrt(6f / 500f);
        var (mean, std, min, max) = Stats(p);
        Assert.InRange(min, -bound, -bound * 0.99f);
        Assert.InRange(max, bound * 0.99f, bound);
        Assert.InRange(mean, -0.002, 0.002);
        Assert.InRange(std, bound / Math.Sqrt(3) * 0.98, bound / Math.Sqrt(3) * 1.02);
    }

    [Fact]
    public void KaimingUniformAsLinearUsesIt()
    {
        // a = √5 gives gain √(1/3), bound √3·gain/√fan_in = 1/√fan_in.
        var p = new Parameter(400, 100);
        Init.KaimingUniform(p, a: MathF.Sqrt(5f), generator: new Generator(2));
        var (_, _, min, max) = Stats(p);
        Assert.InRange(min, -0.1f, -0.099f);
        Assert.InRange(max, 0.099f, 0.1f);

        Init.KaimingUniform(p, nonlinearity: "relu", mode: "fan_out", generator: new Generator(3));
        float bound = MathF.Sqrt(3f) * MathF.Sqrt(2f) / MathF.Sqrt(400f);
        (_, _, min, max) = Stats(p);
        Assert.InRange(max, bound * 0.99f, bound);
    }

    [Fact]
    public void NormalMoments()
    {
        var p = new Parameter(200, 200);
        Init.Normal(p, mean: 0.5f, std: 2f, generator: new Generator(4));
        var (mean, std, _, _) = Stats(p);
        Assert.InRange(mean, 0.47, 0.53);
        Assert.InRange(std, 1.97, 2.03);
        Init.XavierNormal(p, generator: new Generator(5));
        (_, std, _, _) = Stats(p);
        Assert.InRange(std, Math.Sqrt(2.0 / 400) * 0.98, Math.Sqrt(2.0 / 400) * 1.02);
    }

    [Fact]
    public void ConstantZerosOnesAndGains()
    {
        var p = new Parameter(3, 2);
        Assert.All(Init.Constant(p, 0.1f).Data.ToArray(), v => Assert.Equal(0.1f, v));
        Assert.All(Init.Zeros(p).Data.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(Init.Ones(p).Data.ToArray(), v => Assert.Equal(1f, v));
        Assert.Equal(MathF.Sqrt(2f), Init.CalculateGain("relu"));
        Assert.Equal(5f / 3f, Init.CalculateGain("tanh"));
        Assert.Throws<ArgumentException>(() => Init.CalculateGain("swish"));
        Assert.Throws<ArgumentException>(() => Init.XavierUniform(new Parameter(5)));
        Assert.Throws<ArgumentException>(() => Init.KaimingUniform(p, mode: "fan_avg"));
    }
}
