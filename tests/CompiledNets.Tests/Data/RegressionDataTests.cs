using CompiledNets.Data;
using Xunit;

namespace CompiledNets.Tests.Data;

/// <summary>Float targets: <see cref="CsvLoader.LoadRegression(TextReader, string?, IReadOnlyList{string}?, bool, char, string)"/>, <see cref="RegressionDataset"/>, <see cref="RegressionDataLoader"/>.</summary>
public class RegressionDataTests
{
    /// <summary>n rows: features (i, i + 0.5), target (k values) i·10 + j·0.25 for j &lt; k; targets [n] when k is null.</summary>
    private static RegressionDataset Numbered(int n, int? k = null)
    {
        var x = new float[n * 2];
        int width = k ?? 1;
        var t = new float[n * width];
        for (int i = 0; i < n; i++)
        {
            x[i * 2] = i;
            x[i * 2 + 1] = i + 0.5f;
            for (int j = 0; j < width; j++)
            {
                t[i * width + j] = i * 10 + j * 0.25f;
            }
        }
        var targets = k is int kk ? Tensor.FromArray(t, n, kk) : Tensor.FromArray(t, n);
        return new RegressionDataset(Tensor.FromArray(x, n, 2), targets);
    }

    [Fact]
    public void The_issue_s_float_targets_are_an_error_for_Load_and_numbers_for_LoadRegression()
    {
        const string text = "a,b,y\n1,2,3.5\n3,4,10.25\n5,6,3.5\n7,8,-1.5\n";
        var e = Assert.Throws<DataFormatException>(() => CsvLoader.Load(new StringReader(text), sourceName: "reg.csv"));
        Assert.Equal(
            "reg.csv: the label column 'y' holds numbers that are not class indices ('3.5' at data row 1). To read it as a numeric target " +
            "for regression, use CsvLoader.LoadRegression(path, targetColumn: \"y\"); if it holds classes, write them as integers (0, 1, 2, …) or names.",
            e.Message);

        var data = CsvLoader.LoadRegression(new StringReader(text), sourceName: "reg.csv");
        Assert.Equal([3.5f, 10.25f, 3.5f, -1.5f], data.Targets.ToArray());
        Assert.Equal([4], data.Targets.Shape.ToArray());
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f], data.Features.ToArray());
        Assert.Equal("RegressionData(4 rows; features: a, b; target: y)", data.ToString());
        Assert.Equal(4, data.ToDataset().Count);

        // Integer labels (even negative ones) and names are still classes.
        Assert.Equal(["-1", "1"], CsvLoader.Load(new StringReader("a,y\n1,-1\n2,1\n")).ClassNames);
        Assert.Equal(["0", "1", "2"], CsvLoader.Load(new StringReader("a,y\n1,2\n2,0\n")).ClassNames);
    }

    [Fact]
    public void LoadRegression_reads_iris_petal_width_from_chosen_columns()
    {
        string path = DataTestHelpers.DataPath("iris.csv");
        var e = Assert.Throws<DataFormatException>(() => CsvLoader.LoadRegression(path, targetColumn: "petal_width"));
        Assert.Contains("column 'species' (5): 'setosa' is not a number", e.Message);
        Assert.Contains("To leave column 'species' out, pass featureColumns:", e.Message);

        var data = CsvLoader.LoadRegression(path, targetColumn: "petal_width", featureColumns: ["sepal_length", "sepal_width", "petal_length"]);
        Assert.Equal([150, 3], data.Features.Shape.ToArray());
        Assert.Equal([150], data.Targets.Shape.ToArray());
        Assert.Equal([5.1f, 3.5f, 1.4f], data.Features.ToArray()[..3]);
        Assert.Equal(0.2f, data.Targets[0]);
        Assert.Equal(1.8f, data.Targets[149]);
        Assert.Equal("petal_width", data.TargetName);
    }

    [Fact]
    public void LoadRegression_errors_name_the_cell_or_the_column()
    {
        Assert.Contains("column 'y' (2): the target 'x' is not a number",
            Assert.Throws<DataFormatException>(() => CsvLoader.LoadRegression(new StringReader("a,y\n1,x\n"))).Message);
        Assert.Contains("column 'y' (2): the target is empty",
            Assert.Throws<DataFormatException>(() => CsvLoader.LoadRegression(new StringReader("a,y\n1,\n"))).Message);
        Assert.Contains("the target '1e39' is not a finite number",
            Assert.Throws<DataFormatException>(() => CsvLoader.LoadRegression(new StringReader("a,y\n1,1e39\n"))).Message);
        Assert.Contains("column 'y' is the target and cannot also be a feature",
            Assert.Throws<DataFormatException>(() => CsvLoader.LoadRegression(new StringReader("a,y\n1,2\n"), featureColumns: ["a", "y"])).Message);
        Assert.Contains("no column is named 'z'; the columns are 'a', 'y'",
            Assert.Throws<DataFormatException>(() => CsvLoader.LoadRegression(new StringReader("a,y\n1,2\n"), featureColumns: ["z"])).Message);
    }

    [Fact]
    public void RegressionDataset_checks_its_tensors()
    {
        var x = new Tensor(3, 2);
        Assert.Contains("same number of rows",
            Assert.Throws<ArgumentException>(() => new RegressionDataset(x, new Tensor(4))).Message);
        Assert.Contains("Target NaN at row 1 is not a finite number",
            Assert.Throws<ArgumentException>(() => new RegressionDataset(x, Tensor.FromArray([0f, 1f, 2f, float.NaN, 0f, 0f], 3, 2))).Message);
        Assert.Contains("Features must be [n, features]",
            Assert.Throws<ArgumentException>(() => new RegressionDataset(new Tensor(3), new Tensor(3))).Message);

        var data = Numbered(5, k: 2);
        var (features, target) = data[3];
        Assert.Equal([3f, 3.5f], features.ToArray());
        Assert.Equal([30f, 30.25f], target.ToArray());
        Assert.Equal([2], data.TargetShape.ToArray());
        Assert.Equal(0, Numbered(5)[3].Target.Rank);
    }

    [Fact]
    public void Batches_keep_each_target_with_its_row_for_targets_n_and_n_by_k()
    {
        foreach (int? k in new int?[] { null, 3 })
        {
            var loader = new RegressionDataLoader(Numbered(112, k), batchSize: 32, shuffle: true, seed: 1);
            var sizes = new List<int>();
            var seen = new List<int>();
            foreach (var (x, y) in loader)
            {
                int rows = x.Size(0);
                sizes.Add(rows);
                Assert.Equal(k is null ? [rows] : [rows, 3], y.Shape.ToArray());
                ReadOnlySpan<float> t = y.AsSpan();
                for (int r = 0; r < rows; r++)
                {
                    int id = (int)x[r, 0];
                    seen.Add(id);
                    Assert.Equal(id + 0.5f, x[r, 1]);
                    for (int j = 0; j < (k ?? 1); j++)
                    {
                        Assert.Equal(id * 10 + j * 0.25f, t[r * (k ?? 1) + j]);
                    }
                }
            }
            Assert.Equal([32, 32, 32, 16], sizes);
            Assert.Equal(Enumerable.Range(0, 112), seen.Order());
            Assert.NotEqual(Enumerable.Range(0, 112), seen);
        }
    }

    [Fact]
    public void DropLast_shuffle_seed_and_index_order_behave_as_for_class_labels()
    {
        Assert.Equal(3, new RegressionDataLoader(Numbered(112), batchSize: 32, dropLast: true).BatchCount);
        Assert.Equal([32, 32, 32], new RegressionDataLoader(Numbered(112), batchSize: 32, dropLast: true).Select(b => b.X.Size(0)));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i * 10f), Targets(new RegressionDataLoader(Numbered(10), batchSize: 4)));
        Assert.Equal(Targets(new RegressionDataLoader(Numbered(50), 8, shuffle: true, seed: 9)), Targets(new RegressionDataLoader(Numbered(50), 8, shuffle: true, seed: 9)));
        Assert.NotEqual(Targets(new RegressionDataLoader(Numbered(50), 8, shuffle: true, seed: 9)), Targets(new RegressionDataLoader(Numbered(50), 8, shuffle: true, seed: 10)));
    }

    private static List<float> Targets(RegressionDataLoader loader)
    {
        var all = new List<float>();
        foreach (var (_, y) in loader)
        {
            all.AddRange(y.ToArray());
        }
        return all;
    }

    [Fact]
    public void Restoring_the_loader_s_generator_resumes_the_same_order()
    {
        var uninterrupted = new RegressionDataLoader(Numbered(40), 8, shuffle: true, seed: 5);
        var epochs = Enumerable.Range(0, 4).Select(_ => Targets(uninterrupted)).ToList();

        var first = new RegressionDataLoader(Numbered(40), 8, shuffle: true, seed: 5);
        Targets(first);
        Targets(first);
        ulong[] state = first.Generator.GetState();
        var resumed = new RegressionDataLoader(Numbered(40), 8, shuffle: true, seed: 123);
        resumed.Generator.SetState(state);
        Assert.Equal(epochs[2], Targets(resumed));
        Assert.Equal(epochs[3], Targets(resumed));
    }

    [Fact]
    public void An_epoch_allocates_nothing_per_batch()
    {
        var loader = new RegressionDataLoader(Numbered(112, k: 2), batchSize: 32, shuffle: true, seed: 3);
        float checksum = 0;
        long perEpoch = Allocations.PerCall(() => checksum += SumEpoch(loader), calls: 10);
        Assert.Equal(0, perEpoch);
        Assert.True(checksum > 0);

        static float SumEpoch(RegressionDataLoader loader)
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
    public void Subsets_concatenations_and_kept_LINQ_batches()
    {
        var a = Numbered(10);
        var parts = Dataset.RandomSplit(a, [6, 4], seed: 2);
        var joined = parts[1] + parts[0];
        var targets = Targets(new RegressionDataLoader(joined, batchSize: 3));
        Assert.Equal(parts[1].Concat(parts[0]).Select(item => item.Target.ToArray()[0]), targets);

        var kept = new RegressionDataLoader(a, batchSize: 4).ToList();
        Assert.Throws<InvalidOperationException>(() => kept[0].Y.ToArray());
        Assert.Equal([80f, 90f], kept[^1].Y.ToArray());

        // Mixed target shapes cannot be batched together.
        Assert.Contains("All targets must have the same shape",
            Assert.Throws<ArgumentException>(() => new RegressionDataLoader(Numbered(4) + Numbered(4, k: 2))).Message);
    }

    [Fact]
    public void A_custom_data_set_is_read_through_its_indexer()
    {
        var loader = new RegressionDataLoader(new Squares(7), batchSize: 3);
        var all = new List<(float X, float Y)>();
        foreach (var (x, y) in loader)
        {
            Assert.Equal([x.Size(0), 1], y.Shape.ToArray());
            for (int r = 0; r < x.Size(0); r++)
            {
                all.Add((x[r, 0], y.AsSpan()[r]));
            }
        }
        Assert.Equal(Enumerable.Range(0, 7).Select(i => ((float)i, (float)(i * i))), all);
    }

    private sealed class Squares(int n) : Dataset<(Tensor Features, Tensor Target)>
    {
        public override int Count => n;

        public override (Tensor Features, Tensor Target) this[int index] =>
            (Tensor.FromArray([index], 1), Tensor.FromArray([index * index], 1));
    }
}
