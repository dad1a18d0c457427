using Xunit;

namespace CompiledNets.Tests.Runtime;

/// <summary>The random number generator: reproducible, restorable, unbiased enough for shuffling and dropout.</summary>
public class GeneratorTests
{
    [Fact]
    public void SameSeedSameSequenceAndStateRestoresExactly()
    {
        var a = new Generator(123);
        var b = new Generator(123);
        Assert.Equal(Enumerable.Range(0, 10).Select(_ => a.NextUInt64()), Enumerable.Range(0, 10).Select(_ => b.NextUInt64()));
        var state = a.GetState();
        var next = Enumerable.Range(0, 5).Select(_ => a.NextFloat()).ToArray();
        var c = new Generator(999);
        c.SetState(state);
        Assert.Equal(next, Enumerable.Range(0, 5).Select(_ => c.NextFloat()));
        Assert.NotEqual(new Generator(1).NextUInt64(), new Generator(2).NextUInt64());
    }

    [Fact]
    public void RangesAndMoments()
    {
        var g = new Generator(7);
        var counts = new int[5];
        double sum = 0, sumSq = 0;
        for (int i = 0; i < 100_000; i++)
        {
            float f = g.NextFloat();
            Assert.InRange(f, 0f, 0.99999994f);
            counts[g.NextInt(5)]++;
            double n = g.NextNormal();
            sum += n;
            sumSq += n * n;
        }
        Assert.All(counts, c => Assert.InRange(c, 19_000, 21_000));
        Assert.InRange(sum / 100_000, -0.02, 0.02);
        Assert.InRange(sumSq / 100_000, 0.98, 1.02);
    }

    [Fact]
    public void RandPermIsAPermutation()
    {
        var perm = new int[50];
        new Generator(3).RandPerm(perm);
        Assert.Equal(Enumerable.Range(0, 50), perm.Order());
        Assert.NotEqual(Enumerable.Range(0, 50), perm);
    }

    [Fact]
    public void BadStatesAreRejected()
    {
        var g = new Generator();
        Assert.Throws<ArgumentException>(() => g.SetState([1UL, 2UL]));
        Assert.Throws<ArgumentException>(() => g.SetState([0UL, 0UL, 0UL, 0UL]));
        Assert.Throws<ArgumentOutOfRangeException>(() => g.NextInt(0));
        Assert.Equal(Generator.DefaultSeed, new Generator().InitialSeed);
    }
}
