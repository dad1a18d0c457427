namespace CompiledNets.Data;

/// <summary>
/// The result of <see cref="Dataset.TrainTestSplit(Tensor, IntTensor, double, ulong?, bool)"/>; deconstructs in scikit-learn's order:
/// <c>var (xTrain, xTest, yTrain, yTest) = Dataset.TrainTestSplit(x, y);</c>.
/// </summary>
/// <param name="XTrain">Training features, <c>[nTrain, …]</c> (a copy).</param>
/// <param name="XTest">Test features, <c>[nTest, …]</c> (a copy).</param>
/// <param name="YTrain">Training labels, <c>[nTrain]</c> (a copy).</param>
/// <param name="YTest">Test labels, <c>[nTest]</c> (a copy).</param>
public sealed record TrainTestData(Tensor XTrain, Tensor XTest, IntTensor YTrain, IntTensor YTest)
{
    /// <summary>For each training row, its row in the original data.</summary>
    public required int[] TrainIndices { get; init; }

    /// <summary>For each test row, its row in the original data.</summary>
    public required int[] TestIndices { get; init; }
}

/// <summary>
/// The result of <see cref="Dataset.TrainTestSplit(Tensor, Tensor, double, ulong?)"/> for float targets; deconstructs in
/// scikit-learn's order: <c>var (xTrain, xTest, yTrain, yTest) = Dataset.TrainTestSplit(x, y);</c>.
/// </summary>
/// <param name="XTrain">Training features, <c>[nTrain, …]</c> (a copy).</param>
/// <param name="XTest">Test features, <c>[nTest, …]</c> (a copy).</param>
/// <param name="YTrain">Training targets, <c>[nTrain, …]</c> (a copy).</param>
/// <param name="YTest">Test targets, <c>[nTest, …]</c> (a copy).</param>
public sealed record RegressionTrainTestData(Tensor XTrain, Tensor XTest, Tensor YTrain, Tensor YTest)
{
    /// <summary>For each training row, its row in the original data.</summary>
    public required int[] TrainIndices { get; init; }

    /// <summary>For each test row, its row in the original data.</summary>
    public required int[] TestIndices { get; init; }
}
