namespace CompiledNets.Samples.Regression;

/// <summary>A small MLP from three measurements (cm, standardised) to the petal width (cm): <c>[batch, 3] → [batch, 1]</c>.</summary>
[Model]
public partial class PetalWidthNet
{
    [Layer] readonly Linear hidden = new(3, 16);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Linear @out = new(16, 1);
}
