using BenchmarkDotNet.Attributes;

namespace CompiledNets.Benchmarks;

/// <summary>Both frameworks on the same data: builds and frees the two runners around each case.</summary>
public abstract class PairedBenchmark
{
    /// <summary>The CompiledNets runner of the current case.</summary>
    protected IStepRunner CompiledNetsRunner { get; private set; } = null!;

    /// <summary>The TorchSharp runner of the current case.</summary>
    protected IStepRunner TorchSharpRunner { get; private set; } = null!;

    /// <summary>The network and batch size (each subclass lists its cases with <c>[Params]</c>).</summary>
    public abstract Case Case { get; set; }

    /// <summary>Builds both models on the same data.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var data = CaseData.For(Case);
        CompiledNetsRunner = new CompiledNetsRunner(data, CaseData.BenchmarkLearningRate);
        TorchSharpRunner = new TorchSharpRunner(data, CaseData.BenchmarkLearningRate);
    }

    /// <summary>Frees LibTorch's tensors.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        CompiledNetsRunner.Dispose();
        TorchSharpRunner.Dispose();
    }
}

/// <summary>
/// One training step (forward, cross-entropy, backward, Adam step, zero_grad) on the same batch in
/// CompiledNets and in TorchSharp (the baseline: Ratio = CompiledNets / TorchSharp), both on one thread,
/// Adam at <see cref="CaseData.BenchmarkLearningRate"/>.
/// </summary>
[MemoryDiagnoser]
public class TrainingStep : PairedBenchmark
{
    /// <inheritdoc/>
    [Params(Case.Iris_b32, Case.Iris_b112, Case.Digits_b32, Case.Mlp784_b256)]
    public override Case Case { get; set; }

    /// <summary>TorchSharp 0.107.0 (LibTorch 2.10.0), <c>torch.set_num_threads(1)</c>.</summary>
    [Benchmark(Baseline = true)]
    public void TorchSharp() => TorchSharpRunner.TrainStep();

    /// <summary>The generated CompiledNets model.</summary>
    [Benchmark]
    public void CompiledNets() => CompiledNetsRunner.TrainStep();
}

/// <summary>Inference: an eval-mode forward (dropout off; TorchSharp under <c>no_grad</c>), same batch in both.</summary>
[MemoryDiagnoser]
public class Inference : PairedBenchmark
{
    /// <inheritdoc/>
    [Params(Case.Iris_b32, Case.Iris_b112, Case.Mlp784_b256)]
    public override Case Case { get; set; }

    /// <summary>TorchSharp 0.107.0 (LibTorch 2.10.0), <c>torch.set_num_threads(1)</c>.</summary>
    [Benchmark(Baseline = true)]
    public void TorchSharp() => TorchSharpRunner.Infer();

    /// <summary>The generated CompiledNets model.</summary>
    [Benchmark]
    public void CompiledNets() => CompiledNetsRunner.Infer();
}
