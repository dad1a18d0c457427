using CompiledNets.Data;
using Xunit;

namespace CompiledNets.Tests.Data;

public class DataLoaderTests
{
    [Fact]
    public void BatchesOf32Over112RowsAre32_32_32_16()
    {
        var loader = new DataLoader(DataTestHelpers.Numbered(112), batchSize: 32, shuffle: true, seed: 1);
        var sizes = new List<int>();
        foreach (var (x, y) in loader)
        {
            Assert.Equal(2, x.Rank);
            Assert.Equal(4, x.Size(1));
            Assert.Equal(x.Size(0), y.Size(0));
            sizes.Add(x.Size(0));
        }
        Assert.Equal([32, 32, 32, 16], sizes);
        Assert.Equal(4, loader.BatchCount);
    }

    [Fact]
    public void DropLastSkipsTheShortBatch()
    {
        var loader = new DataLoader(DataTestHelpers.Numbered(112), batchSize: 32, shuffle: true, dropLast: true, seed: 1);
        var sizes = new List<int>();
        foreach (var (x, _) in loader)
        {
            sizes.Add(x.Size(0));
        }
        Assert.Equal([32, 32, 32], sizes);
        Assert.Equal(3, loader.BatchCount);
    }

    [Fact]
    public void BatchLargerThanTheDataSetGivesOneBatchOrNoneWithDropLast()
    {
        Assert.Equal([10], Sizes(new DataLoader(DataTestHelpers.Numbered(10), batchSize: 32)));
        Assert.Empty(Sizes(new DataLoader(DataTestHelpers.Numbered(10), batchSize: 32, dropLast: true)));
        Assert.Equal([5, 5], Sizes(new DataLoader(DataTestHelpers.Numbered(10), batchSize: 5)));

        static List<int> Sizes(DataLoader loader)
        {
            var sizes = new List<int>();
            foreach (var (x, _) in loader)
            {
                sizes.Add(x.Size(0));
            }
            return sizes;
        }
    }

    [Fact]
    public void EveryRowIsSeenExactlyOncePerEpochWithItsLabel()
    {
        var loader = new DataLoader(DataTestHelpers.Numbered(112), batchSize: 32, shuffle: true, seed: 7);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var seen = new int[112];
            foreach (var (x, y) in loader)
            {
                for (int r = 0; r < x.Size(0); r++)
                {
                    int id = (int)x[r, 0];
                    seen[id]++;
                    Assert.Equal(id % 3, y[r]);
                    Assert.Equal(id + 1.5f, x[r, 3]);
                }
            }
            Assert.All(seen, count => Assert.Equal(1, count));
        }
    }

    [Fact]
    public void WithoutShuffleTheOrderIsTheIndexOrder()
    {
        var loader = new DataLoader(DataTestHelpers.Numbered(50), batchSize: 8);
        Assert.Equal(Enumerable.Range(0, 50), DataTestHelpers.EpochRowIds(loader));
        Assert.Equal(Enumerable.Range(0, 50), DataTestHelpers.EpochRowIds(loader));
    }

    [Fact]
    public void SameSeedGivesSameOrderOtherSeedOtherOrderAndEachEpochDiffers()
    {
        var data = DataTestHelpers.Numbered(112);
        var a = new DataLoader(data, batchSize: 32, shuffle: true, seed: 42);
        var b = new DataLoader(data, batchSize: 32, shuffle: true, seed: 42);
        var c = new DataLoader(data, batchSize: 32, shuffle: true, seed: 43);
        var a1 = DataTestHelpers.EpochRowIds(a);
        var a2 = DataTestHelpers.EpochRowIds(a);
        Assert.Equal(a1, DataTestHelpers.EpochRowIds(b));
        Assert.Equal(a2, DataTestHelpers.EpochRowIds(b));
        Assert.NotEqual(a1, a2);
        Assert.NotEqual(a1, DataTestHelpers.EpochRowIds(c));
        Assert.NotEqual(Enumerable.Range(0, 112), a1);
    }

    [Fact]
    public void RestoringTheGeneratorStateResumesTheSameEpochOrder()
    {
        var data = DataTestHelpers.Numbered(112);
        var run = new DataLoader(data, batchSize: 32, shuffle: true, seed: 5);
        DataTestHelpers.EpochRowIds(run);
        ulong[] state = run.Generator.GetState();
        var expected = DataTestHelpers.EpochRowIds(run);

        var resumed = new DataLoader(data, batchSize: 32, shuffle: true, seed: 999);
        resumed.Generator.SetState(state);
        Assert.Equal(expected, DataTestHelpers.EpochRowIds(resumed));
    }

    [Fact]
    public void BatchesKeptFromToListThrowWhenReadInsteadOfAllShowingTheLastBatch()
    {
        var loader = new DataLoader(DataTestHelpers.Numbered(10), batchSize: 4);
        var batches = loader.ToList();
        Assert.Equal(3, batches.Count);
        Assert.Equal([4, 4], batches[0].X.Shape.ToArray());
        Assert.Equal([2, 4], batches[2].X.Shape.ToArray());

        // The last batch is current and holds rows 8 and 9.
        Assert.True(batches[2].X.IsCurrent);
        Assert.Equal(8f, batches[2].X[0, 0]);
        Assert.Equal([2, 0], batches[2].Y.ToArray());

        // The earlier ones were overwritten: reading them throws, with a message that says what to do.
        Assert.False(batches[0].X.IsCurrent);
        Assert.False(batches[0].Y.IsCurrent);
        var ex = Assert.Throws<InvalidOperationException>(() => batches[0].X[0, 0]);
        Assert.Contains("overwritten by a later batch", ex.Message);
        Assert.Contains("Clone()", ex.Message);
        Assert.Contains("foreach", ex.Message);
        var yEx = Assert.Throws<InvalidOperationException>(() => batches[1].Y[0]);
        Assert.Equal(ex.Message, yEx.Message);
        Assert.Throws<InvalidOperationException>(() => batches[0].Y.ToArray());
        Assert.Throws<InvalidOperationException>(() => batches[0].X.AsSpan());
        Assert.Throws<InvalidOperationException>(() => batches[1].X.Clone());
        Assert.Equal("tensor(<overwritten by the DataLoader's next batch>, shape=[4, 4])", batches[0].X.ToString());
        Assert.Equal("tensor(<overwritten by the DataLoader's next batch>, shape=[4])", batches[0].Y.ToString());

        // A stale batch cannot be trained on either.
        Assert.Throws<InvalidOperationException>(() => new CrossEntropyLoss().Forward(new Tensor(4, 3), batches[0].Y));

        // A foreach after ToList moves the buffer on: the kept last batch goes stale too.
        foreach (var _ in loader)
        {
        }
        Assert.False(batches[2].X.IsCurrent);
    }

    [Fact]
    public void BatchesClonedThroughLinqKeepTheirOwnValues()
    {
        var loader = new DataLoader(DataTestHelpers.Numbered(10), batchSize: 4);
        var kept = loader.Select(b => (X: b.X.Clone(), Y: b.Y.Clone())).ToList();
        Assert.Equal([0f, 4f, 8f], kept.Select(b => b.X[0, 0]).ToArray());
        Assert.Equal([0, 1, 2, 0], kept[0].Y.ToArray());
        Assert.Equal([1, 2, 0, 1], kept[1].Y.ToArray());

        // LINQ that reads each batch as it comes sees every batch.
        Assert.Equal([0f, 4f, 8f], loader.Select(b => b.X[0, 0]).ToArray());
    }

    [Fact]
    public void ForeachBatchesStayReadableUntilTheNextBatch()
    {
        var loader = new DataLoader(DataTestHelpers.Numbered(10), batchSize: 4);
        var firsts = new List<float>();
        foreach (var (x, y) in loader)
        {
            Assert.True(x.IsCurrent && y.IsCurrent);
            firsts.Add(x[0, 0] + y[0]);
        }
        Assert.Equal([0f, 5f, 10f], firsts);
    }

    [Fact]
    public void AnEpochAllocatesNothingPerBatch()
    {
        var loader = new DataLoader(DataTestHelpers.Numbered(112), batchSize: 32, shuffle: true, seed: 3);
        float checksum = 0;
        long perEpoch = Allocations.PerCall(() => checksum += SumEpoch(loader), calls: 10);
        Assert.Equal(0, perEpoch);
        Assert.True(checksum > 0);

        static float SumEpoch(DataLoader loader)
        {
            float sum = 0;
            foreach (var (x, y) in loader)
            {
                sum += x.AsSpan()[0] + y.AsSpan()[^1];
            }
            return sum;
        }
    }

    [Fact]
    public void BatchesAreContiguousCopiesFromSubsetsAndConcatenations()
    {
        var first = DataTestHelpers.Numbered(10);
        var second = DataTestHelpers.Numbered(30);
        var dataset = new ConcatDataset<(Tensor Features, int Label)>([new Subset<(Tensor Features, int Label)>(first, [9, 8, 7]), second]);
        var loader = new DataLoader(dataset, batchSize: 4);
        var ids = DataTestHelpers.EpochRowIds(loader);
        Assert.Equal([9, 8, 7, .. Enumerable.Range(0, 30)], ids);
    }

    [Fact]
    public void ACustomDataSetIsReadThroughItsIndexer()
    {
        var loader = new DataLoader(new Squares(7), batchSize: 3);
        var xs = new List<float>();
        var ys = new List<int>();
        foreach (var (x, y) in loader)
        {
            Assert.Equal(1, x.Size(1));
            xs.AddRange(x.ToArray());
            ys.AddRange(y.ToArray());
        }
        Assert.Equal([0f, 1, 4, 9, 16, 25, 36], xs);
        Assert.Equal([0, 1, 0, 1, 0, 1, 0], ys);
    }

    [Fact]
    public void RowsWithMoreDimensionsKeepTheirShape()
    {
        var x = Tensor.FromArray(Enumerable.Range(0, 5 * 2 * 3).Select(i => (float)i).ToArray(), 5, 2, 3);
        var loader = new DataLoader(new TensorDataset(x, IntTensor.FromArray([0, 1, 0, 1, 0])), batchSize: 2);
        var shapes = new List<string>();
        foreach (var (xb, _) in loader)
        {
            shapes.Add(string.Join("x", xb.Shape.ToArray()));
        }
        Assert.Equal(["2x2x3", "2x2x3", "1x2x3"], shapes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void ABatchSizeBelowOneIsRejected(int batchSize)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(DataTestHelpers.Numbered(10), batchSize));
        Assert.Contains("batch size must be ≥ 1", e.Message);
        Assert.Contains(batchSize.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
    }

    [Fact]
    public void AnEmptyDataSetIsRejected()
    {
        var empty = new TensorDataset(new Tensor(0, 4), new IntTensor(0), numClasses: 3);
        var e = Assert.Throws<ArgumentException>(() => new DataLoader(empty, batchSize: 4));
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void ALabelChangedAfterConstructionIsCaughtWhenBatched()
    {
        var data = DataTestHelpers.Numbered(10);
        data.Labels[4] = 3; // the data set has 3 classes
        var loader = new DataLoader(data, batchSize: 4);
        var e = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var _ in loader)
            {
            }
        });
        Assert.Contains("Item 4 has label 3, outside [0, 3)", e.Message);
    }

    [Fact]
    public void StartingASecondEpochInvalidatesTheFirst()
    {
        var loader = new DataLoader(DataTestHelpers.Numbered(10), batchSize: 4);
        var first = loader.GetEnumerator();
        Assert.True(first.MoveNext());
        var second = loader.GetEnumerator();
        Assert.True(second.MoveNext());
        Assert.Throws<InvalidOperationException>(() => first.MoveNext());
    }

    private sealed class Squares(int count) : Dataset<(Tensor Features, int Label)>
    {
        public override int Count => count;

        public override (Tensor Features, int Label) this[int index]
        {
            get
            {
                CheckIndex(index);
                return (Tensor.FromArray([index * (float)index]), index % 2);
            }
        }
    }
}
