namespace CompiledNets.Tests.Models;

/// <summary>The tutorial's network.</summary>
[Model]
public partial class TutorialNet
{
    [Layer] readonly Linear hidden = new(4, 10);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Dropout drop = new(0.2f);
    [Layer] readonly Linear @out = new(10, 3);
}

/// <summary>A block used as a layer of <see cref="NestedNet"/>.</summary>
[Model]
public partial class HiddenBlock
{
    [Layer] readonly Linear hidden = new(4, 6);
    [Layer] readonly Tanh tanh = new();
}

/// <summary>A model with a nested model: keys <c>block.hidden.weight</c>.</summary>
[Model]
public partial class NestedNet
{
    [Layer] readonly HiddenBlock block = new();
    [Layer] readonly Linear head = new(6, 2, bias: false);
}

/// <summary>The tutorial's logistic regression: a linear map and a softmax.</summary>
[Model]
public partial class LogisticRegression
{
    [Layer] readonly Linear lin = new(4, 3);
    [Layer] readonly Softmax softmax = new(dim: 1);
}
