namespace CompiledNets.Data;

/// <summary>
/// The result of <see cref="Dataset.TrainTestSplit"/>; deconstructs in scikit-learn's order:
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
