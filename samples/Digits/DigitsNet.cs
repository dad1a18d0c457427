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

/// <summary>
/// A residual network for 8×8 digits with a forward of its own: 64 pixels → 128 (ReLU), two residual blocks
/// <c>h = h + relu(block(h))</c> from a layer array, dropout, → 10 classes. <c>--model residual</c>.
/// </summary>
[Model]
public partial class DigitsResidualNet
{
    [Layer] readonly Linear inp = new(64, 128);
    [Layer] readonly Linear[] blocks = [new(128, 128), new(128, 128)];
    [Layer] readonly Dropout drop = new(0.1f);
    [Layer] readonly Linear @out = new(128, 10);

    [Forward]
    Tensor Define(Tensor x)
    {
        var h = F.Relu(inp.Forward(x));
        foreach (var block in blocks)
        {
            h = h + F.Relu(block.Forward(h));
        }
        return @out.Forward(drop.Forward(h));
    }
}
