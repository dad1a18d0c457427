using System.Globalization;

namespace CompiledNets.Data;

/// <summary>
/// Splitting helpers (PyTorch: <c>torch.utils.data.random_split</c>; scikit-learn: <c>train_test_split</c>).
/// </summary>
public static class Dataset
{
    /// <summary>
    /// Splits a data set at random into non-overlapping subsets of the given sizes
    /// (PyTorch: <c>random_split(dataset, lengths, generator)</c>).
    /// </summary>
    /// <param name="dataset">The data set to split.</param>
    /// <param name="lengths">The size of each subset, each ≥ 0, adding up to <c>dataset.Count</c>.</param>
    /// <param name="seed">The seed of the permutation; <see langword="null"/> (default): drawn from <see cref="Generator.Default"/>.</param>
    /// <returns>One <see cref="Subset{TItem}"/> per length, in order; together they hold every item once.</returns>
    /// <exception cref="ArgumentException">A length is negative, or the lengths do not add up to the data set's size.</exception>
    public static Subset<TItem>[] RandomSplit<TItem>(Dataset<TItem> dataset, ReadOnlySpan<int> lengths, ulong? seed = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        long total = 0;
        foreach (int length in lengths)
        {
            if (length < 0)
            {
                throw new ArgumentException($"Split lengths must be ≥ 0; got [{Join(lengths)}].", nameof(lengths));
            }
            total += length;
        }
        if (total != dataset.Count)
        {
            throw new ArgumentException(
                $"Split lengths [{Join(lengths)}] add up to {total} but the data set has {dataset.Count} items.", nameof(lengths));
        }
        var permutation = new int[dataset.Count];
        NewGenerator(seed).RandPerm(permutation);
        var result = new Subset<TItem>[lengths.Length];
        int start = 0;
        for (int i = 0; i < lengths.Length; i++)
        {
            result[i] = new Subset<TItem>(dataset, permutation.AsSpan(start, lengths[i]));
            start += lengths[i];
        }
        return result;
    }

    /// <summary>
    /// Splits a data set at random into subsets holding the given fractions of it, as PyTorch does:
    /// each gets <c>floor(fraction · Count)</c> items and the remaining items go one each to the first subsets.
    /// </summary>
    /// <param name="dataset">The data set to split.</param>
    /// <param name="fractions">Fractions in [0, 1] that add up to 1 (within 1e-6).</param>
    /// <param name="seed">The seed of the permutation; <see langword="null"/> (default): drawn from <see cref="Generator.Default"/>.</param>
    /// <exception cref="ArgumentException">A fraction is outside [0, 1], or they do not add up to 1.</exception>
    public static Subset<TItem>[] RandomSplit<TItem>(Dataset<TItem> dataset, ReadOnlySpan<double> fractions, ulong? seed = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        double sum = 0;
        foreach (double f in fractions)
        {
            if (!(f >= 0 && f <= 1))
            {
                throw new ArgumentException($"Split fractions must lie in [0, 1]; got [{Join(fractions)}].", nameof(fractions));
            }
            sum += f;
        }
        if (Math.Abs(sum - 1) > 1e-6)
        {
            throw new ArgumentException($"Split fractions must add up to 1; [{Join(fractions)}] add up to {sum.ToString(CultureInfo.InvariantCulture)}.", nameof(fractions));
        }
        int n = dataset.Count;
        var lengths = new int[fractions.Length];
        int assigned = 0;
        for (int i = 0; i < lengths.Length; i++)
        {
            lengths[i] = (int)Math.Floor(n * fractions[i]);
            assigned += lengths[i];
        }
        for (int i = 0; assigned < n && lengths.Length > 0; i = (i + 1) % lengths.Length)
        {
            lengths[i]++;
            assigned++;
        }
        return RandomSplit(dataset, lengths, seed);
    }

    /// <summary>
    /// Splits features and labels at random into train and test parts (scikit-learn:
    /// <c>train_test_split(X, y, test_size, random_state, stratify=y)</c>), with scikit-learn's sizes:
    /// <c>nTest = ceil(testSize · n)</c>, <c>nTrain = n − nTest</c> (112/38 for the 150 rows of Iris).
    /// </summary>
    /// <param name="features">Features, <c>[n, …]</c>.</param>
    /// <param name="labels">Class indices, <c>[n]</c>, each ≥ 0.</param>
    /// <param name="testSize">The fraction of rows for the test part, in (0, 1); default 0.25.</param>
    /// <param name="seed">The seed of the split; <see langword="null"/> (default): drawn from <see cref="Generator.Default"/>.</param>
    /// <param name="stratify">
    /// Whether each class keeps its share in both parts (scikit-learn's <c>stratify=y</c>); the per-class
    /// counts are rounded as scikit-learn's <c>StratifiedShuffleSplit</c> rounds them.
    /// </param>
    /// <returns>Copies of the rows of each part, the rows of each in random order, and their original row indices.</returns>
    /// <exception cref="ArgumentException">
    /// The row counts differ, a label is negative, there are fewer than 2 rows, <paramref name="testSize"/> is
    /// outside (0, 1) or leaves a part empty, or (with <paramref name="stratify"/>) a class has fewer than
    /// 2 rows or a part would have fewer rows than there are classes.
    /// </exception>
    public static TrainTestData TrainTestSplit(Tensor features, IntTensor labels, double testSize = 0.25, ulong? seed = null, bool stratify = false)
    {
        var all = new TensorDataset(features, labels); // validates shapes and labels ≥ 0
        int n = all.Count;
        var (nTrain, nTest) = SplitSizes(n, testSize);
        var rng = NewGenerator(seed);
        int[] train, test;
        if (!stratify)
        {
            var permutation = new int[n];
            rng.RandPerm(permutation);
            test = permutation[..nTest];
            train = permutation[nTest..];
        }
        else
        {
            (train, test) = StratifiedIndices(all, nTrain, nTest, rng);
        }
        return new TrainTestData(Rows(features, train), Rows(features, test), Rows(labels, train), Rows(labels, test))
        {
            TrainIndices = train,
            TestIndices = test,
        };
    }

    /// <summary>scikit-learn's split sizes: <c>nTest = ceil(testSize · n)</c>, <c>nTrain = n − nTest</c>, both at least 1.</summary>
    /// <exception cref="ArgumentException"><paramref name="testSize"/> is outside (0, 1) or leaves a part empty.</exception>
    private static (int Train, int Test) SplitSizes(int n, double testSize)
    {
        if (!(testSize > 0 && testSize < 1))
        {
            throw new ArgumentException($"testSize must be a fraction in (0, 1); got {testSize.ToString(CultureInfo.InvariantCulture)}.", nameof(testSize));
        }
        int nTest = (int)Math.Ceiling(testSize * n);
        int nTrain = n - nTest;
        if (nTrain <= 0 || nTest <= 0)
        {
            throw new ArgumentException(
                $"With {n} rows and testSize {testSize.ToString(CultureInfo.InvariantCulture)} the split would be {nTrain} train / {nTest} test; both parts need at least one row.",
                nameof(testSize));
        }
        return (nTrain, nTest);
    }

    /// <summary>
    /// Splits features and float targets at random into train and test parts (scikit-learn:
    /// <c>train_test_split(X, y, test_size, random_state)</c> for regression), with scikit-learn's sizes:
    /// <c>nTest = ceil(testSize · n)</c>, <c>nTrain = n − nTest</c>.
    /// </summary>
    /// <param name="features">Features, <c>[n, …]</c>.</param>
    /// <param name="targets">Targets, <c>[n]</c> or <c>[n, k, …]</c>.</param>
    /// <param name="testSize">The fraction of rows for the test part, in (0, 1); default 0.25.</param>
    /// <param name="seed">The seed of the split; <see langword="null"/> (default): drawn from <see cref="Generator.Default"/>.</param>
    /// <returns>Copies of the rows of each part, in random order, and their original row indices.</returns>
    /// <exception cref="ArgumentException">
    /// The row counts differ, a target is not finite, <paramref name="testSize"/> is outside (0, 1) or leaves a part empty.
    /// </exception>
    public static RegressionTrainTestData TrainTestSplit(Tensor features, Tensor targets, double testSize = 0.25, ulong? seed = null)
    {
        var all = new RegressionDataset(features, targets); // validates shapes and values
        int n = all.Count;
        var (nTrain, nTest) = SplitSizes(n, testSize);
        var permutation = new int[n];
        NewGenerator(seed).RandPerm(permutation);
        int[] test = permutation[..nTest], train = permutation[nTest..];
        return new RegressionTrainTestData(Rows(features, train), Rows(features, test), Rows(targets, train), Rows(targets, test))
        {
            TrainIndices = train,
            TestIndices = test,
        };
    }

    private static (int[] Train, int[] Test) StratifiedIndices(TensorDataset all, int nTrain, int nTest, Generator rng)
    {
        int n = all.Count, classes = all.NumClasses;
        ReadOnlySpan<int> y = all.Labels.AsSpan();
        var counts = new int[classes];
        foreach (int label in y)
        {
            counts[label]++;
        }
        int present = 0;
        for (int c = 0; c < classes; c++)
        {
            if (counts[c] == 1)
            {
                throw new ArgumentException(
                    $"Class {c} has only 1 row; stratifying needs at least 2 rows of every class.", nameof(all));
            }
            present += counts[c] > 0 ? 1 : 0;
        }
        if (nTrain < present || nTest < present)
        {
            throw new ArgumentException(
                $"A stratified split of {n} rows into {nTrain} train / {nTest} test cannot hold all {present} classes in each part; use a larger testSize or more rows.");
        }
        // scikit-learn: n_i = _approximate_mode(counts, n_train); t_i = _approximate_mode(counts - n_i, n_test).
        int[] trainPerClass = ApproximateMode(counts, nTrain);
        var left = new int[classes];
        for (int c = 0; c < classes; c++)
        {
            left[c] = counts[c] - trainPerClass[c];
        }
        int[] testPerClass = ApproximateMode(left, nTest);

        var byClass = new int[classes][];
        var fill = new int[classes];
        for (int c = 0; c < classes; c++)
        {
            byClass[c] = new int[counts[c]];
        }
        for (int i = 0; i < n; i++)
        {
            byClass[y[i]][fill[y[i]]++] = i;
        }
        var train = new List<int>(nTrain);
        var test = new List<int>(nTest);
        for (int c = 0; c < classes; c++)
        {
            rng.Shuffle(byClass[c]);
            train.AddRange(byClass[c].AsSpan(0, trainPerClass[c]));
            test.AddRange(byClass[c].AsSpan(trainPerClass[c], testPerClass[c]));
        }
        int[] trainArray = train.ToArray(), testArray = test.ToArray();
        rng.Shuffle(trainArray);
        rng.Shuffle(testArray);
        return (trainArray, testArray);
    }

    /// <summary>
    /// scikit-learn's <c>_approximate_mode</c>: <paramref name="draws"/> split over classes in proportion to
    /// <paramref name="counts"/>, floors first, then the leftovers to the largest remainders (ties: lower class first).
    /// </summary>
    private static int[] ApproximateMode(int[] counts, int draws)
    {
        long total = 0;
        foreach (int c in counts)
        {
            total += c;
        }
        var result = new int[counts.Length];
        var remainders = new (double Remainder, int Class)[counts.Length];
        int assigned = 0;
        for (int c = 0; c < counts.Length; c++)
        {
            double exact = (double)counts[c] * draws / total;
            result[c] = (int)Math.Floor(exact);
            remainders[c] = (exact - result[c], c);
            assigned += result[c];
        }
        Array.Sort(remainders, (a, b) => a.Remainder != b.Remainder ? b.Remainder.CompareTo(a.Remainder) : a.Class.CompareTo(b.Class));
        for (int k = 0; assigned < draws; k = (k + 1) % counts.Length)
        {
            int c = remainders[k].Class;
            if (result[c] < counts[c])
            {
                result[c]++;
                assigned++;
            }
        }
        return result;
    }

    /// <summary>Copies the given rows of <paramref name="source"/> (<c>[n, …]</c>) into a new tensor (PyTorch: <c>source[indices]</c>).</summary>
    internal static Tensor Rows(Tensor source, ReadOnlySpan<int> indices)
    {
        int[] shape = source.Shape.ToArray();
        int rowSize = shape[0] == 0 ? 0 : source.Numel / shape[0];
        shape[0] = indices.Length;
        var data = new float[indices.Length * rowSize];
        ReadOnlySpan<float> src = source.AsSpan();
        for (int i = 0; i < indices.Length; i++)
        {
            src.Slice(indices[i] * rowSize, rowSize).CopyTo(data.AsSpan(i * rowSize, rowSize));
        }
        return Tensor.FromArray(data, shape);
    }

    /// <summary>Copies the given elements of a one-dimensional <paramref name="source"/> into a new tensor.</summary>
    internal static IntTensor Rows(IntTensor source, ReadOnlySpan<int> indices)
    {
        ReadOnlySpan<int> src = source.AsSpan();
        var data = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            data[i] = src[indices[i]];
        }
        return IntTensor.FromArray(data);
    }

    private static Generator NewGenerator(ulong? seed) => new(seed ?? Generator.Default.NextUInt64());

    private static string Join<T>(ReadOnlySpan<T> values) where T : IFormattable
    {
        var parts = new string[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            parts[i] = values[i].ToString(null, CultureInfo.InvariantCulture);
        }
        return string.Join(", ", parts);
    }
}
