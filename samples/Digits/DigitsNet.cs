namespace CompiledNets.Samples.Digits;

/// <summary>A multilayer perceptron for 8×8 digits: 64 pixels → 128 (ReLU) → 64 (ReLU) → 10 classes.</summary>
[Model]
public partial class DigitsNet
{
    [Layer] readonly Linear hidden1 = new(64, 128);
    [Layer] readonly ReLU relu1 = new();
    [Layer] readonly Linear hidden2 = new(128, 64);
    [Layer] readonly ReLU relu2 = new();
    [Layer] readonly Linear @out = new(64, 10);
}
