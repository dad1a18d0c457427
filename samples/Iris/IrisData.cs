using CompiledNets.Data;

namespace CompiledNets.Samples.Iris;

/// <summary>Fisher's Iris data bundled with the sample (iris.csv: 150 rows, 4 features in cm, species).</summary>
public static class IrisData
{
    /// <summary>The class names, in label order.</summary>
    public static readonly string[] Species = ["setosa", "versicolor", "virginica"];

    /// <summary>Reads the CSV next to the program: features <c>[150, 4]</c> and labels <c>[150]</c>.</summary>
    /// <exception cref="DataFormatException">A row is malformed; the message names the row and the column.</exception>
    public static (Tensor Features, IntTensor Labels) Load(string? path = null)
    {
        var data = CsvLoader.Load(path ?? Path.Combine(AppContext.BaseDirectory, "iris.csv"), labelColumn: "species");
        if (!data.ClassNames.SequenceEqual(Species))
        {
            throw new DataFormatException(
                $"iris.csv: expected the species {string.Join(", ", Species)}; found {string.Join(", ", data.ClassNames)}.", column: "species");
        }
        return (data.Features, data.Labels);
    }

    /// <summary>Splits rows at random into train and test (a quarter, rounded up, to test: 112/38 for Iris).</summary>
    public static (Tensor XTrain, IntTensor YTrain, Tensor XTest, IntTensor YTest) Split(Tensor x, IntTensor y, ulong seed)
    {
        var (xTrain, xTest, yTrain, yTest) = Dataset.TrainTestSplit(x, y, testSize: 0.25, seed: seed);
        return (xTrain, yTrain, xTest, yTest);
    }
}
