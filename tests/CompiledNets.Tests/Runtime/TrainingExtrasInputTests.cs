using Xunit;

namespace CompiledNets.Tests.Runtime;

/// <summary>Bad input to the new losses, Reduction.None's API, clipping and schedulers: clear exceptions, nothing changed.</summary>
public sealed class TrainingExtrasInputTests
{
    [Fact]
    public void Reduction_none_gives_per_element_losses_and_needs_a_gradient()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var ce = new CrossEntropyLoss(reduction: Reduction.None);
        var loss = ce.Forward(x, IntTensor.FromArray([0, 2]));
        Assert.Equal([2], loss.ToTensor().Shape.ToArray());
        Assert.Throws<InvalidOperationException>(() => loss.Item());
        var mse = new MSELoss(Reduction.None).Forward(x, new Tensor(2, 3));
        Assert.Equal([2, 3], mse.ToTensor().Shape.ToArray());
        Assert.Equal(36f, mse.ToTensor().AsSpan()[5]);
        var mean = new MSELoss().Forward(x, new Tensor(2, 3));
        Assert.Equal(91f / 6f, mean.ToTensor().AsSpan()[0], 1e-6f);
        Assert.Equal(0, mean.ToTensor().Rank);
    }

    [Fact]
    public void Backward_of_an_unreduced_loss_checks_its_gradient()
    {
        Generator.Default.ManualSeed(1);
        var net = new Models.TutorialNet();
        var fn = new CrossEntropyLoss(reduction: Reduction.None);
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 0f, 1f, 0f, 1f], 2, 4);
        var loss = fn.Forward(net.Eval().Forward(x), IntTensor.FromArray([0, 2]));
        var ex = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("Backward(gradient)", ex.Message);
        Assert.Throws<ArgumentException>(() => loss.Backward(new Tensor(3)));
        Assert.Throws<ArgumentException>(() => loss.Backward(Tensor.FromArray([1f, float.NaN])));
        Assert.All(net.Parameters(), p => Assert.All(p.Grad.ToArray(), g => Assert.Equal(0f, g)));
        // Per-sample weights (1, 0): the same gradients as a sum-reduced loss over the first row alone.
        loss.Backward(Tensor.FromArray([1f, 0f]));
        var expected = new Models.TutorialNet();
        expected.LoadStateDict(net.StateDict());
        new CrossEntropyLoss(reduction: Reduction.Sum).Forward(expected.Eval().Forward(Tensor.FromArray([1f, 2f, 3f, 4f], 1, 4)), IntTensor.FromArray([0])).Backward();
        foreach (var ((_, p), (_, q)) in net.NamedParameters().Zip(expected.NamedParameters()))
        {
            for (int i = 0; i < p.Numel; i++)
            {
                Assert.Equal(q.Grad[i], p.Grad[i], 1e-6f);
            }
        }
    }

    [Fact]
    public void Losses_reject_bad_shapes_weights_and_values()
    {
        var x = Tensor.FromArray([0.5f, 0.2f, 0.1f, 0.9f], 2, 2);
        Assert.Throws<ArgumentException>(() => new MSELoss().Forward(x, new Tensor(4)));
        Assert.Throws<ArgumentException>(() => new L1Loss().Forward(x, new Tensor(2, 3)));
        var e = Assert.Throws<ArgumentException>(() => new BCELoss().Forward(Tensor.FromArray([1.5f, 0.5f], 2, 1), new Tensor(2, 1)));
        Assert.Contains("outside [0, 1]", e.Message);
        Assert.Throws<ArgumentException>(() => new BCEWithLogitsLoss(posWeight: Tensor.FromArray([1f, 2f, 3f])).Forward(x, new Tensor(2, 2)));
        Assert.Throws<ArgumentException>(() => new BCEWithLogitsLoss(weight: Tensor.FromArray([1f, 2f, 3f])).Forward(x, new Tensor(2, 2)));
        Assert.Throws<ArgumentException>(() => new CrossEntropyLoss(Tensor.FromArray([1f, 2f, 3f])).Forward(x, IntTensor.FromArray([0, 1])));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NLLLoss().Forward(x, IntTensor.FromArray([0, 2])));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropyLoss(labelSmoothing: 1.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HuberLoss(delta: 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmoothL1Loss(beta: -1f));
        Assert.Throws<ArgumentException>(() => new CrossEntropyLoss(Tensor.FromArray([1f, float.NaN])));
        // A regression column: [batch, 1] against [batch] is element for element.
        var column = new MSELoss().Forward(Tensor.FromArray([1f, 2f], 2, 1), Tensor.FromArray([0f, 0f]));
        Assert.Equal(2.5f, column.Item());
    }

    [Fact]
    public void All_rows_ignored_gives_NaN_as_PyTorch()
    {
        var x = Tensor.FromArray([0.5f, 0.2f, 0.1f, 0.9f], 2, 2);
        var fn = new CrossEntropyLoss(ignoreIndex: 1);
        var loss = fn.Forward(x, IntTensor.FromArray([1, 1]));
        Assert.True(float.IsNaN(loss.Item()));
        Assert.All(fn.InputGrad.ToArray(), g => Assert.Equal(0f, g));
        Assert.Equal(0f, new CrossEntropyLoss(ignoreIndex: 1, reduction: Reduction.Sum).Forward(x, IntTensor.FromArray([1, 1])).Item());
    }

    [Fact]
    public void ClipGradNorm_checks_its_arguments_and_nonfinite_norms()
    {
        var p = new Parameter(3);
        p.Grad[0] = float.NaN;
        p.Grad[1] = 1f;
        Assert.Throws<ArgumentOutOfRangeException>(() => NNUtils.ClipGradNorm([p], -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => NNUtils.ClipGradNorm([p], 1f, normType: 0f));
        var ex = Assert.Throws<InvalidOperationException>(() => NNUtils.ClipGradNorm([p], 1f, errorIfNonfinite: true));
        Assert.Contains("NaN", ex.Message);
        Assert.Equal(1f, p.Grad[1]); // unchanged
        Assert.True(float.IsNaN(NNUtils.ClipGradNorm([p], 1f)));
        Assert.True(float.IsNaN(p.Grad[1])); // as PyTorch without error_if_nonfinite
        var q = new Parameter(2);
        q.Grad[0] = -3f;
        q.Grad[1] = 2f;
        Assert.Equal(3f, NNUtils.ClipGradNorm([q], 10f, float.PositiveInfinity));
        Assert.Equal(-3f, q.Grad[0]); // below max_norm: unchanged
    }

    [Fact]
    public void Schedulers_check_their_arguments()
    {
        var opt = new SGD([new Parameter(2)], lr: 0.1f);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLR(opt, 0));
        Assert.Throws<ArgumentException>(() => new MultiStepLR(opt, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearLR(opt, startFactor: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingLR(opt, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(opt, factor: 1));
        _ = new OneCycleLR(opt, 0.1, 10); // SGD created without momentum: switched on, as PyTorch does
        Assert.Equal(0.95f, opt.Momentum);
        var plateau = new ReduceLROnPlateau(opt);
        Assert.Throws<InvalidOperationException>(() => plateau.Step());
        var adam = new Adam([new Parameter(2)]);
        var oneCycle = new OneCycleLR(adam, 0.1, totalSteps: 3);
        oneCycle.Step();
        oneCycle.Step();
        oneCycle.Step();
        Assert.Throws<InvalidOperationException>(() => oneCycle.Step());
        var other = new SGD([new Parameter(1)], lr: 0.1f);
        Assert.Throws<ArgumentException>(() => new SequentialLR(opt, [new StepLR(other, 2)], []));
        Assert.Throws<ArgumentException>(() => new SequentialLR(opt, [new StepLR(opt, 2), new StepLR(opt, 3)], []));
    }
}
