using CompiledNets.Data;
using Xunit;

namespace CompiledNets.Tests.Data;

public class StandardScalerTests
{
    [Fact]
    public void FitLearnsMeanAndPopulationStd()
    {
        // Columns: 1,2,3,4 (mean 2.5, population std sqrt(1.25)); constant 7.
        var x = Tensor.FromArray([1f, 7, 2, 7, 3, 7, 4, 7], 4, 2);
        var scaler = new StandardScaler().Fit(x);
        Assert.Equal(2.5f, scaler.Mean[0]);
        Assert.Equal(7f, scaler.Mean[1]);
        Assert.Equal(MathF.Sqrt(1.25f), scaler.Std[0], 6);
        Assert.Equal(0f, scaler.Std[1]);
        Assert.Equal(1f, scaler.Scale[1]); // zero variance: centred only, as scikit-learn
        var z = scaler.Transform(x).ToArray();
        Assert.Equal(-1.5f / MathF.Sqrt(1.25f), z[0], 6);
        Assert.Equal(0f, z[1]);
        Assert.Equal(1.5f / MathF.Sqrt(1.25f), z[6], 6);
    }

    [Fact]
    public void TransformedTrainingColumnsHaveMeanZeroAndStdOne()
    {
        var iris = CsvLoader.Load(DataTestHelpers.DataPath("iris.csv"));
        var split = Dataset.TrainTestSplit(iris.Features, iris.Labels, seed: 0);
        var scaler = new StandardScaler();
        var z = scaler.FitTransform(split.XTrain);
        for (int c = 0; c < 4; c++)
        {
            var column = Enumerable.Range(0, z.Size(0)).Select(r => (double)z[r, c]).ToArray();
            double mean = column.Average();
            Assert.Equal(0, mean, 5);
            Assert.Equal(1, Math.Sqrt(column.Select(v => (v - mean) * (v - mean)).Average()), 5);
        }
        var back = scaler.InverseTransform(scaler.Transform(split.XTest)).ToArray();
        var original = split.XTest.ToArray();
        for (int i = 0; i < back.Length; i++)
        {
            Assert.Equal(original[i], back[i], 5);
        }
    }

    [Fact]
    public void UsingItUnfittedOrOnAnotherWidthIsRejected()
    {
        var scaler = new StandardScaler();
        Assert.Contains("not fitted", Assert.Throws<InvalidOperationException>(() => scaler.Transform(new Tensor(2, 3))).Message);
        scaler.Fit(Tensor.FromArray([1f, 2, 3, 4, 5, 6], 2, 3));
        var e = Assert.Throws<ArgumentException>(() => scaler.Transform(new Tensor(2, 4)));
        Assert.Contains("[n, 3]", e.Message);
        Assert.Contains("[2, 4]", e.Message);
        Assert.Throws<ArgumentException>(() => new StandardScaler().Fit(new Tensor(0, 3)));
    }
}
