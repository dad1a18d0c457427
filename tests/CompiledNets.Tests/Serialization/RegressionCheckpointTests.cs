using CompiledNets.Data;
using CompiledNets.Tests.Samples;
using Xunit;

namespace CompiledNets.Tests.Serialization;

/// <summary>A <see cref="RegressionDataLoader"/>'s shuffling generator goes into checkpoints like a <see cref="DataLoader"/>'s.</summary>
public class RegressionCheckpointTests
{
    private static RegressionDataset Data()
    {
        var rng = new Generator(8);
        var x = Enumerable.Range(0, 60).Select(_ => rng.NextFloat()).ToArray();
        var y = Enumerable.Range(0, 30).Select(i => x[2 * i] - 2 * x[2 * i + 1]).ToArray();
        return new RegressionDataset(Tensor.FromArray(x, 30, 2), Tensor.FromArray(y, 30, 1));
    }

    private static void Train(LinearRegressor net, Adam opt, RegressionDataLoader loader, int fromEpoch, int toEpoch, string? checkpoint)
    {
        var lossFn = new MSELoss();
        for (int epoch = fromEpoch; epoch <= toEpoch; epoch++)
        {
            foreach (var (xb, yb) in loader)
            {
                lossFn.Forward(net.Forward(xb), yb).Backward();
                opt.Step();
                opt.ZeroGrad();
            }
            if (checkpoint is not null)
            {
                Checkpoint.Save(checkpoint, net, opt, epoch, loader.Generator);
            }
        }
    }

    [Fact]
    public void A_resumed_regression_run_matches_an_uninterrupted_one_bit_for_bit()
    {
        Generator.Default.ManualSeed(2);
        var full = new LinearRegressor();
        var fullOpt = new Adam(full.Parameters(), lr: 0.05f);
        Train(full, fullOpt, new RegressionDataLoader(Data(), batchSize: 7, shuffle: true, seed: 4), 1, 6, null);

        using var dir = new TempDir();
        string path = dir.File("reg.ckpt");
        Generator.Default.ManualSeed(2);
        var first = new LinearRegressor();
        var firstOpt = new Adam(first.Parameters(), lr: 0.05f);
        Train(first, firstOpt, new RegressionDataLoader(Data(), batchSize: 7, shuffle: true, seed: 4), 1, 3, path);

        Generator.Default.ManualSeed(99);
        var resumed = new LinearRegressor();
        var resumedOpt = new Adam(resumed.Parameters(), lr: 0.05f);
        var loader = new RegressionDataLoader(Data(), batchSize: 7, shuffle: true, seed: 77);
        Assert.True(Checkpoint.TryResume(path, resumed, resumedOpt, loader.Generator, out var info));
        Assert.Equal(4, info.NextEpoch);
        Train(resumed, resumedOpt, loader, info.NextEpoch, 6, null);

        TestData.AssertBitEqual(TestData.Flatten(full), TestData.Flatten(resumed));
    }
}
