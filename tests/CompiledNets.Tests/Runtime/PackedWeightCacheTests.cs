using CompiledNets.Kernels.Cpu;
using Xunit;
using static CompiledNets.Tests.Kernels.KernelTestData;

namespace CompiledNets.Tests.Runtime;

/// <summary>Two layers large enough for the packed GEMM at batch 20 (≥ 16 K multiply-adds each).</summary>
[Model]
public partial class PackedCacheNet
{
    [Layer] readonly Linear hidden = new(40, 48);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Linear @out = new(48, 33);
}

/// <summary>
/// Packed weights kept between inference forwards (<see cref="PackedWeightCache"/>): reused while the weights stay,
/// repacked after every kind of change, never used in training; results bitwise equal to packing on each call.
/// </summary>
public sealed class PackedWeightCacheTests
{
    private const int Batch = 20;

    /// <summary>The eval forward, and the same forward in training mode (no dropout here: same math, packed per call).</summary>
    private static (float[] Eval, float[] Train) Both(PackedCacheNet net, Tensor x)
    {
        float[] eval = net.Eval().Forward(x).ToArray();
        float[] train = net.Train().Forward(x).ToArray();
        net.Eval();
        return (eval, train);
    }

    [Fact]
    public void Inference_packs_each_weight_once_and_matches_packing_on_every_call()
    {
        Assert.True(LinearKernels.ForwardUsesGemm(Batch, 40, 48) && LinearKernels.ForwardUsesGemm(Batch, 48, 33));
        var net = new PackedCacheNet();
        var x = Tensor.FromArray(Normal(Batch * 40, 1), Batch, 40);
        var (eval, train) = Both(net, x);
        Assert.Equal(train, eval);
        Assert.Equal(2, net.PackedWeights!.Packs);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(eval, net.Forward(x).ToArray());
        }
        Assert.Equal(2, net.PackedWeights.Packs);   // reused
        net.Train().Forward(x);
        Assert.Equal(2, net.PackedWeights.Packs);   // training never packs into the cache
    }

    [Fact]
    public void A_write_through_Data_an_optimizer_step_or_a_state_dict_load_repacks()
    {
        var net = new PackedCacheNet();
        var x = Tensor.FromArray(Normal(Batch * 40, 2), Batch, 40);
        var (before, _) = Both(net, x);

        net.NamedParameters().First(p => p.Name == "hidden.weight").Parameter.Data[5] += 0.5f;
        var (afterWrite, reference) = Both(net, x);
        Assert.Equal(reference, afterWrite);
        Assert.NotEqual(before, afterWrite);

        var opt = new SGD(net.Parameters(), lr: 0.1f);
        var lossFn = new MSELoss();
        lossFn.Forward(net.Train().Forward(x), new Tensor(Batch, 33)).Backward();
        opt.Step();
        var (afterStep, reference2) = Both(net, x);
        Assert.Equal(reference2, afterStep);
        Assert.NotEqual(afterWrite, afterStep);

        var other = new PackedCacheNet();
        net.LoadStateDict(other.StateDict());
        var (afterLoad, reference3) = Both(net, x);
        Assert.Equal(reference3, afterLoad);
        Assert.Equal(other.Eval().Forward(x).ToArray(), afterLoad);
    }

    [Fact]
    public void Inference_does_not_allocate_once_packed_except_the_output_view()
    {
        var net = new PackedCacheNet();
        net.Eval();
        var x = Tensor.FromArray(Normal(Batch * 40, 3), Batch, 40);
        long perCall = Allocations.PerCall(() => net.Forward(x));
        Assert.True(perCall <= 64, $"{perCall} bytes per forward");
    }
}
