using CompiledNets.Data;
using Xunit;

namespace CompiledNets.Tests.Data;

public class DatasetTests
{
    [Fact]
    public void TensorDatasetGivesOneRowAndItsLabel()
    {
        var data = DataTestHelpers.Numbered(112);
        Assert.Equal(112, data.Count);
        Assert.Equal(3, data.NumClasses);
        var (x, y) = data[10];
        Assert.Equal([10f, 10.5f, 11f, 11.5f], x.ToArray());
        Assert.Equal([4], x.Shape.ToArray());
        Assert.Equal(1, y);
    }

    [Fact]
    public void TensorDatasetInfersTheClassCountFromTheLargestLabel()
    {
        var data = new TensorDataset(new Tensor(3, 2), IntTensor.FromArray([0, 4, 2]));
        Assert.Equal(5, data.NumClasses);
    }

    [Fact]
    public void FeaturesAndLabelsOfDifferentLengthsAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new TensorDataset(new Tensor(5, 4), new IntTensor(4)));
        Assert.Contains("same number of rows", e.Message);
        Assert.Contains("[5, 4] (5 rows)", e.Message);
        Assert.Contains("[4] (4 rows)", e.Message);
    }

    [Fact]
    public void FeaturesMustHaveRowsAndLabelsMustBeOneDimensional()
    {
        Assert.Contains("[n, features]", Assert.Throws<ArgumentException>(() => new TensorDataset(new Tensor(5), new IntTensor(5))).Message);
        Assert.Contains("Labels must be [n]", Assert.Throws<ArgumentException>(() => new TensorDataset(new Tensor(5, 2), new IntTensor(5, 1))).Message);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(-1)]
    public void ALabelOutsideTheClassesIsRejected(int label)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(
            () => new TensorDataset(new Tensor(3, 2), IntTensor.FromArray([0, label, 1]), numClasses: 3));
        Assert.Contains($"Label {label} at row 1 is outside [0, 3)", e.Message);
    }

    [Fact]
    public void ANegativeLabelIsRejectedWithoutAClassCount()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new TensorDataset(new Tensor(2, 2), IntTensor.FromArray([0, -2])));
        Assert.Contains("Label -2 at row 1", e.Message);
    }

    [Fact]
    public void IndexingOutsideTheDataSetSaysTheRange()
    {
        var data = DataTestHelpers.Numbered(5);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => data[5]);
        Assert.Contains("[0, 5)", e.Message);
    }

    [Fact]
    public void ConcatDatasetIndexesAcrossTheBoundary()
    {
        var first = DataTestHelpers.Numbered(3);
        var empty = new TensorDataset(new Tensor(0, 4), new IntTensor(0), 3);
        var second = DataTestHelpers.Numbered(5);
        var all = new ConcatDataset<(Tensor Features, int Label)>([first, empty, second]);
        Assert.Equal(8, all.Count);
        Assert.Equal([3, 3, 8], all.CumulativeSizes.ToArray());
        Assert.Equal(2f, all[2].Features[0]);   // last row of the first part
        Assert.Equal(0f, all[3].Features[0]);   // first row of the second part (the empty part is skipped)
        Assert.Equal(0, all[3].Label);
        Assert.Equal(4f, all[7].Features[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => all[8]);
        Assert.Throws<ArgumentOutOfRangeException>(() => all[-1]);
        Assert.Equal(8, (first + second).Count);
    }

    [Fact]
    public void ConcatDatasetNeedsAtLeastOnePart()
    {
        var e = Assert.Throws<ArgumentException>(() => new ConcatDataset<int>([]));
        Assert.Contains("at least one", e.Message);
    }

    [Fact]
    public void SubsetMapsIndicesAndRejectsOutOfRangeOnes()
    {
        var data = DataTestHelpers.Numbered(10);
        var subset = new Subset<(Tensor Features, int Label)>(data, [7, 2, 7]);
        Assert.Equal(3, subset.Count);
        Assert.Equal([7f, 2f, 7f], subset.Select(item => item.Features[0]).ToArray());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Subset<(Tensor Features, int Label)>(data, [1, 10]));
        Assert.Contains("Index 10 at position 1", e.Message);
    }

    [Fact]
    public void RandomSplitPartitionsTheDataSetReproducibly()
    {
        var data = DataTestHelpers.Numbered(150);
        var parts = Dataset.RandomSplit(data, [112, 38], seed: 0);
        Assert.Equal([112, 38], parts.Select(p => p.Count));
        var all = parts.SelectMany(p => p.Indices.ToArray()).Order();
        Assert.Equal(Enumerable.Range(0, 150), all);
        Assert.Equal(parts[1].Indices.ToArray(), Dataset.RandomSplit(data, [112, 38], seed: 0)[1].Indices.ToArray());
        Assert.NotEqual(parts[1].Indices.ToArray(), Dataset.RandomSplit(data, [112, 38], seed: 1)[1].Indices.ToArray());
    }

    [Fact]
    public void RandomSplitByFractionsRoundsAsPyTorch()
    {
        var parts = Dataset.RandomSplit(DataTestHelpers.Numbered(10), [0.3, 0.3, 0.4], seed: 0);
        // floor: 3, 3, 4 = 10. With 11 rows: 3, 3, 4 then one more to the first.
        Assert.Equal([3, 3, 4], parts.Select(p => p.Count));
        Assert.Equal([4, 3, 4], Dataset.RandomSplit(DataTestHelpers.Numbered(11), [0.3, 0.3, 0.4], seed: 0).Select(p => p.Count));
    }

    [Fact]
    public void RandomSplitRejectsLengthsThatDoNotAddUp()
    {
        var e = Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(DataTestHelpers.Numbered(10), [5, 4], seed: 0));
        Assert.Contains("add up to 9 but the data set has 10", e.Message);
        Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(DataTestHelpers.Numbered(10), [0.5, 0.6], seed: 0));
    }

    [Fact]
    public void TrainTestSplitOfIrisIs112And38()
    {
        var iris = CsvLoader.Load(DataTestHelpers.DataPath("iris.csv"));
        var (xTrain, xTest, yTrain, yTest) = Dataset.TrainTestSplit(iris.Features, iris.Labels, testSize: 0.25, seed: 42);
        Assert.Equal([112, 4], xTrain.Shape.ToArray());
        Assert.Equal([38, 4], xTest.Shape.ToArray());
        Assert.Equal(112, yTrain.Size(0));
        Assert.Equal(38, yTest.Size(0));
    }

    [Fact]
    public void TrainTestSplitCopiesDisjointRowsWithTheirLabels()
    {
        var data = DataTestHelpers.Numbered(150);
        var split = Dataset.TrainTestSplit(data.Features, data.Labels, seed: 1);
        Assert.Equal(Enumerable.Range(0, 150), split.TrainIndices.Concat(split.TestIndices).Order());
        for (int i = 0; i < split.TestIndices.Length; i++)
        {
            int row = split.TestIndices[i];
            Assert.Equal(row, split.XTest[i, 0]);
            Assert.Equal(row % 3, split.YTest[i]);
        }
        Assert.Equal(split.TestIndices, Dataset.TrainTestSplit(data.Features, data.Labels, seed: 1).TestIndices);
        Assert.NotEqual(split.TestIndices, Dataset.TrainTestSplit(data.Features, data.Labels, seed: 2).TestIndices);
    }

    [Fact]
    public void StratifiedSplitKeepsEachClassShare()
    {
        var iris = CsvLoader.Load(DataTestHelpers.DataPath("iris.csv"));
        var split = Dataset.TrainTestSplit(iris.Features, iris.Labels, seed: 3, stratify: true);
        var testCounts = split.YTest.ToArray().GroupBy(y => y).Select(g => g.Count()).Order().ToArray();
        var trainCounts = split.YTrain.ToArray().GroupBy(y => y).Select(g => g.Count()).Order().ToArray();
        Assert.Equal([12, 13, 13], testCounts);   // 38 over three classes of 50
        Assert.Equal([37, 37, 38], trainCounts);
    }

    [Fact]
    public void TrainTestSplitRejectsBadInput()
    {
        var data = DataTestHelpers.Numbered(10);
        Assert.Contains("(0, 1)", Assert.Throws<ArgumentException>(() => Dataset.TrainTestSplit(data.Features, data.Labels, testSize: 1.0)).Message);
        Assert.Contains("same number of rows", Assert.Throws<ArgumentException>(() => Dataset.TrainTestSplit(new Tensor(4, 2), new IntTensor(5))).Message);
        Assert.Contains("both parts", Assert.Throws<ArgumentException>(() => Dataset.TrainTestSplit(new Tensor(1, 2), new IntTensor(1))).Message);
        var single = new TensorDataset(new Tensor(5, 2), IntTensor.FromArray([0, 0, 1, 1, 2]));
        Assert.Contains("Class 2 has only 1 row", Assert.Throws<ArgumentException>(() => Dataset.TrainTestSplit(single.Features, single.Labels, stratify: true)).Message);
    }
}
