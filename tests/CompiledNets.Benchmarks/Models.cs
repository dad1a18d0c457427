using CompiledNets;

namespace CompiledNets.Benchmarks;

/// <summary>The PyTorch tutorial's Iris net: 4 → 10 (ReLU, Dropout 0.2) → 3.</summary>
[Model]
public partial class IrisNet
{
    [Layer] readonly Linear hidden = new(4, 10);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Dropout drop = new(0.2f);
    [Layer] readonly Linear @out = new(10, 3);
}

/// <summary>The Digits sample's MLP: 64 → 128 (ReLU) → 64 (ReLU) → 10.</summary>
[Model]
public partial class DigitsNet
{
    [Layer] readonly Linear hidden1 = new(64, 128);
    [Layer] readonly ReLU relu1 = new();
    [Layer] readonly Linear hidden2 = new(128, 64);
    [Layer] readonly ReLU relu2 = new();
    [Layer] readonly Linear @out = new(64, 10);
}

/// <summary>A larger MLP (MNIST-sized): 784 → 1024 (ReLU) → 1024 (ReLU) → 10.</summary>
[Model]
public partial class LargeMlp
{
    [Layer] readonly Linear hidden1 = new(784, 1024);
    [Layer] readonly ReLU relu1 = new();
    [Layer] readonly Linear hidden2 = new(1024, 1024);
    [Layer] readonly ReLU relu2 = new();
    [Layer] readonly Linear @out = new(1024, 10);
}
