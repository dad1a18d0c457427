using BenchmarkDotNet.Attributes;

namespace CompiledNets.Benchmarks;

/// <summary>What <see cref="FrozenTrainingStep"/> freezes.</summary>
public enum Frozen
{
    /// <summary>Nothing: every parameter trains (the plain training step).</summary>
    None,

    /// <summary>Everything but the last layer (<c>hidden1</c>, <c>hidden2</c>): fine-tuning the head.</summary>
    Body,
}

/// <summary>
/// A CompiledNets training step on the large MLP (784→1024→1024→10, batch 256) with and without a frozen body
/// (<c>Module.RequiresGrad(false)</c> on <c>hidden1</c> and <c>hidden2</c>): the generated backward skips the frozen
/// layers' weight and bias gradients (two of the three GEMMs of each) and Adam skips their update. Ratio = frozen / plain.
/// CompiledNets only: needs no LibTorch.
/// </summary>
[MemoryDiagnoser]
public class FrozenTrainingStep
{
    private LargeMlp _net = null!;
    private Tensor _x = null!;
    private IntTensor _y = null!;
    private readonly CrossEntropyLoss _lossFn = new();
    private Adam _opt = null!;

    /// <summary>The parameters frozen.</summary>
    [Params(Frozen.None, Frozen.Body)]
    public Frozen Frozen { get; set; }

    /// <summary>Builds the model and the batch of <see cref="Case.Mlp784_b256"/>.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Generator.Default.ManualSeed(42);
        var data = CaseData.For(Case.Mlp784_b256);
        _net = new LargeMlp();
        if (Frozen == Frozen.Body)
        {
            foreach (var (name, child) in _net.NamedChildren())
            {
                child.RequiresGrad(name == "out");
            }
        }
        _x = Tensor.FromArray(data.X, data.Batch, data.Widths[0]);
        _y = IntTensor.FromArray(data.Y);
        _opt = new Adam(_net.Parameters(), lr: CaseData.BenchmarkLearningRate);
    }

    /// <summary>Forward, cross-entropy, backward, Adam step, zero_grad.</summary>
    [Benchmark]
    public void Step()
    {
        _net.Train();
        var loss = _lossFn.Forward(_net.Forward(_x), _y);
        loss.Backward();
        _opt.Step();
        _opt.ZeroGrad();
    }
}
