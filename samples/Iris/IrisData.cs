using System.Globalization;

namespace CompiledNets.Samples.Iris;

/// <summary>Fisher's Iris data bundled with the sample (iris.csv: 150 rows, 4 features in cm, species).</summary>
public static class IrisData
{
    /// <summary>The class names, in label order.</summary>
    public static readonly string[] Species = ["setosa", "versicolor", "virginica"];

    /// <summary>Reads the CSV next to the program: features <c>[150, 4]</c> and labels <c>[150]</c>.</summary>
    /// <exception cref="InvalidDataException">A row is malformed; the message names the line.</exception>
    public static (Tensor Features, IntTensor Labels) Load(string? path = null)
    {
        path ??= Path.Combine(AppContext.BaseDirectory, "iris.csv");
        var lines = File.ReadAllLines(path).Skip(1).Where(l => l.Length > 0).ToArray();
        var x = new float[lines.Length * 4];
        var y = new int[lines.Length];
        for (int r = 0; r < lines.Length; r++)
        {
            var cells = lines[r].Split(',');
            if (cells.Length != 5)
            {
                throw new InvalidDataException($"{path}: line {r + 2} has {cells.Length} cells; expected 5.");
            }
            for (int c = 0; c < 4; c++)
            {
                if (!float.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out x[r * 4 + c]))
                {
                    throw new InvalidDataException($"{path}: line {r + 2}, column {c + 1}: '{cells[c]}' is not a number.");
                }
            }
            y[r] = Array.IndexOf(Species, cells[4].Trim());
            if (y[r] < 0)
            {
                throw new InvalidDataException($"{path}: line {r + 2}: unknown species '{cells[4]}'.");
            }
        }
        return (Tensor.FromArray(x, lines.Length, 4), IntTensor.FromArray(y));
    }

    /// <summary>Splits rows at random into train and test (a quarter, rounded up, to test: 112/38 for Iris).</summary>
    public static (Tensor XTrain, IntTensor YTrain, Tensor XTest, IntTensor YTest) Split(Tensor x, IntTensor y, ulong seed)
    {
        int n = x.Size(0), features = x.Size(1), nTest = (int)Math.Ceiling(n * 0.25);
        var order = new int[n];
        new Generator(seed).RandPerm(order);
        Tensor Rows(ReadOnlySpan<int> idx)
        {
            var t = new Tensor(idx.Length, features);
            for (int i = 0; i < idx.Length; i++)
            {
                x.AsSpan().Slice(idx[i] * features, features).CopyTo(t.AsSpan().Slice(i * features, features));
            }
            return t;
        }
        IntTensor Labels(ReadOnlySpan<int> idx)
        {
            var t = new int[idx.Length];
            for (int i = 0; i < idx.Length; i++)
            {
                t[i] = y[idx[i]];
            }
            return IntTensor.FromArray(t);
        }
        var train = order.AsSpan(nTest);
        var test = order.AsSpan(0, nTest);
        return (Rows(train), Labels(train), Rows(test), Labels(test));
    }
}
