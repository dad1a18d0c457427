using CompiledNets.Data;
using Xunit;

namespace CompiledNets.Tests.Data;

internal static class DataTestHelpers
{
    /// <summary>The path of a data file copied next to the test assembly (from samples/data).</summary>
    public static string DataPath(string fileName) => Path.Combine(AppContext.BaseDirectory, "data", fileName);

    /// <summary>n rows of <paramref name="features"/> values; row i holds i, i + 0.5, …; label i % classes.</summary>
    public static TensorDataset Numbered(int n, int features = 4, int classes = 3)
    {
        var x = new float[n * features];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            for (int f = 0; f < features; f++)
            {
                x[i * features + f] = i + f * 0.5f;
            }
            y[i] = i % classes;
        }
        return new TensorDataset(Tensor.FromArray(x, n, features), IntTensor.FromArray(y), classes);
    }

    /// <summary>The row ids (the first feature) of every batch of one epoch, in order.</summary>
    public static List<int> EpochRowIds(DataLoader loader)
    {
        var ids = new List<int>();
        foreach (var (x, y) in loader)
        {
            int features = x.Size(1);
            for (int r = 0; r < x.Size(0); r++)
            {
                int id = (int)x[r, 0];
                ids.Add(id);
                Assert.Equal(id + 0.5f, x[r, 1]);
            }
        }
        return ids;
    }
}
