namespace CompiledNets.Samples.Iris;

/// <summary>The tutorial's network: 4 features → 10 hidden units (ReLU, dropout 0.2) → 3 classes.</summary>
[Model]
public partial class IrisNet
{
    [Layer] readonly Linear hidden = new(4, 10);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Dropout drop = new(0.2f);
    [Layer] readonly Linear @out = new(10, 3);
}
