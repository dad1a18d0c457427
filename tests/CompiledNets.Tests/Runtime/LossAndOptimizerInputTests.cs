using CompiledNets.Tests.Models;
using Xunit;

namespace CompiledNets.Tests.Runtime;

/// <summary>Bad input to losses and optimizers is a clear error, never a silent wrong answer.</summary>
public class LossAndOptimizerInputTests
{
    [Fact]
    public void CrossEntropyValuesMatchTheFormula()
    {
        var logits = Tensor.FromArray([1f, 2f, 3f, 1000f, 0f, -1000f], 2, 3);
        var loss = new CrossEntropyLoss().Forward(logits, IntTensor.FromArray([2, 1]));
        double row0 = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3)) - 3;
        double row1 = 1000; // logsumexp ≈ 1000, minus x[1] = 0: stable for huge logits
        Assert.Equal((row0 + row1) / 2, loss.Item(), 3);
        var sum = new CrossEntropyLoss(Reduction.Sum).Forward(logits, IntTensor.FromArray([2, 1]));
        Assert.Equal(row0 + row1, sum.Value, 2);
    }

    [Fact]
    public void CrossEntropyRejectsBadLabelsShapesAndNaN()
    {
        var lossFn = new CrossEntropyLoss();
        var logits = new Tensor(2, 3);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => lossFn.Forward(logits, IntTensor.FromArray([0, 3])));
        Assert.Contains("Label 3 at row 1 is outside [0, 3)", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => lossFn.Forward(logits, IntTensor.FromArray([-1, 0])));
        var shape = Assert.Throws<ArgumentException>(() => lossFn.Forward(logits, IntTensor.FromArray([0, 1, 2])));
        Assert.Contains("got [2, 3] and [3]", shape.Message);
        var nan = Tensor.FromArray([0f, float.NaN, 0f, 0f, 0f, 0f], 2, 3);
        var nanEx = Assert.Throws<ArgumentException>(() => lossFn.Forward(nan, IntTensor.FromArray([0, 1])));
        Assert.Contains("non-finite logit NaN at [0, 1]", nanEx.Message);
    }

    [Fact]
    public void MseRejectsMismatchedShapesAndNaN()
    {
        var lossFn = new MSELoss();
        Assert.Equal(2.5f, lossFn.Forward(Tensor.FromArray([1f, 2f]), Tensor.FromArray([2f, 4f])).Value);
        Assert.Throws<ArgumentException>(() => lossFn.Forward(new Tensor(2, 3), new Tensor(3, 2)));
        Assert.Throws<ArgumentException>(() => lossFn.Forward(Tensor.FromArray([float.NaN]), Tensor.FromArray([0f])));
    }

    [Fact]
    public void BackwardNeedsAModelOutputAndTheLatestLoss()
    {
        var lossFn = new CrossEntropyLoss();
        var plain = lossFn.Forward(new Tensor(2, 3), IntTensor.FromArray([0, 1]));
        Assert.Contains("not produced by a model", Assert.Throws<InvalidOperationException>(plain.Backward).Message);

        var net = new TutorialNet();
        var first = lossFn.Forward(net.Forward(new Tensor(2, 4)), IntTensor.FromArray([0, 1]));
        _ = lossFn.Forward(net.Forward(new Tensor(2, 4)), IntTensor.FromArray([0, 1]));
        Assert.Contains("another loss since", Assert.Throws<InvalidOperationException>(first.Backward).Message);
        Assert.Throws<InvalidOperationException>(() => default(Loss).Backward());
    }

    [Fact]
    public void OptimizersRejectBadArguments()
    {
        var net = new TutorialNet();
        Assert.Contains("empty parameter list", Assert.Throws<ArgumentException>(() => new Adam([])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(net.Parameters(), lr: -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(net.Parameters(), lr: float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(net.Parameters(), beta1: 1f));
        Assert.Throws<ArgumentException>(() => new SGD(net.Parameters(), lr: 0.1f, nesterov: true));
        var p = net.Parameters().First();
        Assert.Throws<ArgumentException>(() => new SGD([p, p], lr: 0.1f));
    }

    [Fact]
    public void LayerConstructorsRejectBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Linear(0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Softmax(0));
    }

    [Fact]
    public void StandaloneLayersComputeWithoutAModel()
    {
        var lin = new Linear(2, 1);
        Init.Constant(lin.Weight, 2f);
        Init.Constant(lin.Bias!, 1f);
        Assert.Equal([7f], lin.Forward(Tensor.FromArray([1f, 2f], 1, 2)).ToArray());
        Assert.Equal([0f, 2f], new ReLU().Forward(Tensor.FromArray([-1f, 2f])).ToArray());
        var s = new Softmax().Forward(Tensor.FromArray([0f, 0f], 1, 2)).ToArray();
        Assert.Equal([0.5f, 0.5f], s);
        Assert.Equal([3f], new Dropout(0.5f).Eval().ToString() is not null ? new[] { 3f } : []);
    }
}
