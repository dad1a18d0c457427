using BenchmarkDotNet.Attributes;

namespace CompiledNets.Benchmarks;

/// <summary>
/// One training step (forward, cross-entropy, backward, Adam step, zero_grad) on the same batch in
/// CompiledNets and in TorchSharp (the baseline: Ratio = CompiledNets / TorchSharp), both on one thread,
/// Adam at <see cref="CaseData.BenchmarkLearningRate"/>.
/// </summary>
[MemoryDiagnoser]
public class TrainingStep
{
    private IStepRunner _compiledNets = null!;
    private IStepRunner _torchSharp = null!;

    /// <summary>The network and batch size.</summary>
    [Params(Case.Iris_b32, Case.Iris_b112, Case.Digits_b32, Case.Mlp784_b256)]
    public Case Case { get; set; }

    /// <summary>Builds both models on the same data.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var data = CaseData.For(Case);
        _compiledNets = new CompiledNetsRunner(data, CaseData.BenchmarkLearningRate);
        _torchSharp = new TorchSharpRunner(data, CaseData.BenchmarkLearningRate);
    }

    /// <summary>Frees LibTorch's tensors.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _compiledNets.Dispose();
        _torchSharp.Dispose();
    }

    /// <summary>TorchSharp 0.107.0 (LibTorch 2.10.0), <c>torch.set_num_threads(1)</c>.</summary>
    [Benchmark(Baseline = true)]
    public void TorchSharp() => _torchSharp.TrainStep();

    /// <summary>The generated CompiledNets model.</summary>
    [Benchmark]
    public void CompiledNets() => _compiledNets.TrainStep();
}

/// <summary>Inference: an eval-mode forward (dropout off; TorchSharp under <c>no_grad</c>), same batch in both.</summary>
[MemoryDiagnoser]
public class Inference
{
    private IStepRunner _compiledNets = null!;
    private IStepRunner _torchSharp = null!;

    /// <summary>The network and batch size.</summary>
    [Params(Case.Iris_b32, Case.Iris_b112, Case.Mlp784_b256)]
    public Case Case { get; set; }

    /// <summary>Builds both models on the same data.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var data = CaseData.For(Case);
        _compiledNets = new CompiledNetsRunner(data, CaseData.BenchmarkLearningRate);
        _torchSharp = new TorchSharpRunner(data, CaseData.BenchmarkLearningRate);
    }

    /// <summary>Frees LibTorch's tensors.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _compiledNets.Dispose();
        _torchSharp.Dispose();
    }

    /// <summary>TorchSharp 0.107.0 (LibTorch 2.10.0), <c>torch.set_num_threads(1)</c>.</summary>
    [Benchmark(Baseline = true)]
    public void TorchSharp() => _torchSharp.Infer();

    /// <summary>The generated CompiledNets model.</summary>
    [Benchmark]
    public void CompiledNets() => _compiledNets.Infer();
}
