using BenchmarkDotNet.Attributes;
using CompiledNets;

namespace CompiledNets.Benchmarks;

/// <summary>The residual MLP: 64 → 128, three residual blocks from a layer array, dropout, → 10, as a [Forward] method.</summary>
[Model]
public partial class ResidualMlp
{
    [Layer] readonly Linear inp = new(64, 128);
    [Layer] readonly Linear[] blocks = [new(128, 128), new(128, 128), new(128, 128)];
    [Layer] readonly Dropout drop = new(0.1f);
    [Layer] readonly Linear head = new(128, 10);

    [Forward]
    Tensor Define(Tensor x)
    {
        var h = F.Relu(inp.Forward(x));
        foreach (var block in blocks)
        {
            h = h + F.Relu(block.Forward(h));
        }
        return head.Forward(drop.Forward(h));
    }
}

/// <summary>The same layers in field order, without the residual adds: the twin <see cref="ResidualMlp"/> is compared with.</summary>
[Model]
public partial class PlainTwinMlp
{
    [Layer] readonly Linear inp = new(64, 128);
    [Layer] readonly ReLU relu0 = new();
    [Layer] readonly Linear block0 = new(128, 128);
    [Layer] readonly ReLU relu1 = new();
    [Layer] readonly Linear block1 = new(128, 128);
    [Layer] readonly ReLU relu2 = new();
    [Layer] readonly Linear block2 = new(128, 128);
    [Layer] readonly ReLU relu3 = new();
    [Layer] readonly Dropout drop = new(0.1f);
    [Layer] readonly Linear head = new(128, 10);
}

/// <summary>
/// One training step (forward, cross-entropy, backward, Adam, zero_grad) of the residual model with a custom forward
/// against its field-order twin (Ratio = residual / twin; the bar is 1.15), CompiledNets only, batch 64, train mode.
/// </summary>
[MemoryDiagnoser]
public class ResidualStep
{
    private const int Batch = 64;
    private readonly CrossEntropyLoss _lossFn = new();
    private ResidualMlp _residual = null!;
    private PlainTwinMlp _twin = null!;
    private Adam _residualOpt = null!;
    private Adam _twinOpt = null!;
    private Tensor _x = null!;
    private IntTensor _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        Generator.Default.ManualSeed(1);
        _residual = new ResidualMlp();
        _twin = new PlainTwinMlp();
        _residualOpt = new Adam(_residual.Parameters(), lr: CaseData.BenchmarkLearningRate);
        _twinOpt = new Adam(_twin.Parameters(), lr: CaseData.BenchmarkLearningRate);
        var rng = new Random(1234);
        _x = Tensor.FromArray(Enumerable.Range(0, Batch * 64).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), Batch, 64);
        _y = IntTensor.FromArray(Enumerable.Range(0, Batch).Select(_ => rng.Next(10)).ToArray());
    }

    [Benchmark(Baseline = true)]
    public float FieldOrderTwin()
    {
        var loss = _lossFn.Forward(_twin.Forward(_x), _y);
        loss.Backward();
        _twinOpt.Step();
        _twinOpt.ZeroGrad();
        return loss.Item();
    }

    [Benchmark]
    public float ResidualCustomForward()
    {
        var loss = _lossFn.Forward(_residual.Forward(_x), _y);
        loss.Backward();
        _residualOpt.Step();
        _residualOpt.ZeroGrad();
        return loss.Item();
    }
}

/// <summary>
/// <c>--residual</c>: the two steps of <see cref="ResidualStep"/> interleaved, 400 steps each per round, 30 rounds;
/// prints the fastest round of each and their ratio. Interleaving makes the ratio robust on a machine whose load
/// changes from second to second (BenchmarkDotNet runs one benchmark after the other).
/// </summary>
public static class ResidualInterleaved
{
    public static void Run()
    {
        var bench = new ResidualStep();
        bench.Setup();
        double bestTwin = double.MaxValue, bestResidual = double.MaxValue;
        for (int round = 0; round < 30; round++)
        {
            bestTwin = Math.Min(bestTwin, Time(() => bench.FieldOrderTwin()));
            bestResidual = Math.Min(bestResidual, Time(() => bench.ResidualCustomForward()));
        }
        Console.WriteLine($"field-order twin: {bestTwin:0.0} us/step; residual, custom forward: {bestResidual:0.0} us/step; ratio {bestResidual / bestTwin:0.000}");
    }

    private static double Time(Func<float> step)
    {
        for (int i = 0; i < 20; i++)
        {
            step();
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 400; i++)
        {
            step();
        }
        return clock.Elapsed.TotalMilliseconds * 1000 / 400;
    }
}
