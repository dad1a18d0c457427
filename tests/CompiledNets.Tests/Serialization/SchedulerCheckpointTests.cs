using CompiledNets.Tests.Models;
using Xunit;

namespace CompiledNets.Tests.Serialization;

/// <summary>Scheduler state in <c>StateDict()</c> and in checkpoints: a resumed run equals the uninterrupted one bit for bit.</summary>
public sealed class SchedulerCheckpointTests
{
    private const int Epochs = 6, StepsPerEpoch = 4, Batch = 8;

    public static TheoryData<string> Kinds() => new() { "OneCycleLR+Adam", "SequentialLR+SGD", "ReduceLROnPlateau+AdamW", "StepLR+SGD" };

    private static (Optimizer Opt, LRScheduler Scheduler) Make(string kind, Module net) => kind switch
    {
        "OneCycleLR+Adam" => Build(new Adam(net.Parameters(), lr: 0.01f), o => new OneCycleLR(o, 0.05, Epochs * StepsPerEpoch)),
        "SequentialLR+SGD" => Build(new SGD(net.Parameters(), lr: 0.1f, momentum: 0.9f),
            o => new SequentialLR(o, [new LinearLR(o, 0.1, totalIters: 5), new CosineAnnealingLR(o, 19, 1e-3)], [5])),
        "ReduceLROnPlateau+AdamW" => Build(new AdamW(net.Parameters(), lr: 0.02f), o => new ReduceLROnPlateau(o, factor: 0.5, patience: 0, threshold: 0.5)),
        _ => Build(new SGD(net.Parameters(), lr: 0.1f), o => new StepLR(o, 3, 0.7)),
    };

    private static (Optimizer, LRScheduler) Build(Optimizer opt, Func<Optimizer, LRScheduler> scheduler) => (opt, scheduler(opt));

    /// <summary>One epoch: shuffled mini-batches, dropout from Generator.Default, a scheduler step per batch (per epoch with the loss for ReduceLROnPlateau).</summary>
    private static void Epoch(TutorialNet net, Optimizer opt, LRScheduler scheduler, Generator loader, Tensor x, IntTensor y)
    {
        var perm = new int[Batch * StepsPerEpoch];
        loader.RandPerm(perm);
        var lossFn = new CrossEntropyLoss(labelSmoothing: 0.1f);
        double total = 0;
        net.Train();
        for (int s = 0; s < StepsPerEpoch; s++)
        {
            var xb = new float[Batch * 4];
            var yb = new int[Batch];
            for (int r = 0; r < Batch; r++)
            {
                int row = perm[s * Batch + r];
                x.AsSpan().Slice(row * 4, 4).CopyTo(xb.AsSpan(r * 4));
                yb[r] = y.AsSpan()[row];
            }
            var loss = lossFn.Forward(net.Forward(Tensor.FromArray(xb, Batch, 4)), IntTensor.FromArray(yb));
            total += loss.Item();
            loss.Backward();
            NNUtils.ClipGradNorm(net.Parameters(), 1f);
            opt.Step();
            opt.ZeroGrad();
            if (scheduler is not ReduceLROnPlateau)
            {
                scheduler.Step();
            }
        }
        if (scheduler is ReduceLROnPlateau plateau)
        {
            plateau.Step(total);
        }
    }

    private static (Tensor X, IntTensor Y) Data()
    {
        var g = new Generator(77);
        int n = Batch * StepsPerEpoch;
        return (Tensor.FromArray(Enumerable.Range(0, n * 4).Select(_ => (float)g.NextNormal()).ToArray(), n, 4),
            IntTensor.FromArray(Enumerable.Range(0, n).Select(_ => g.NextInt(3)).ToArray()));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Resumed_run_with_a_scheduler_equals_the_uninterrupted_one_bit_for_bit(string kind)
    {
        using var dir = new TempDir();
        string path = dir.File("run.ckpt");
        const int stopAfter = 2;
        var (x, y) = Data();

        Generator.Default.ManualSeed(42);
        var net = new TutorialNet();
        var (opt, scheduler) = Make(kind, net);
        var loader = new Generator(7);
        var lrs = new List<double>();
        for (int epoch = 0; epoch < Epochs; epoch++)
        {
            Epoch(net, opt, scheduler, loader, x, y);
            lrs.Add(scheduler.GetLastLr());
            if (epoch == stopAfter)
            {
                Checkpoint.Save(path, net, opt, epoch, loader, scheduler: scheduler);
            }
        }
        Assert.True(lrs.Distinct().Count() > 1, "the schedule should change the rate: " + string.Join(", ", lrs));

        // A new process, in effect: other seeds, fresh objects, then resume.
        Generator.Default.ManualSeed(999);
        var net2 = new TutorialNet();
        var (opt2, scheduler2) = Make(kind, net2);
        var loader2 = new Generator(1234);
        Assert.True(Checkpoint.TryResume(path, net2, opt2, scheduler2, loader2, out var info));
        Assert.Equal(lrs[stopAfter], scheduler2.GetLastLr());
        for (int epoch = info.NextEpoch; epoch < Epochs; epoch++)
        {
            Epoch(net2, opt2, scheduler2, loader2, x, y);
            Assert.Equal(lrs[epoch], scheduler2.GetLastLr());
        }
        TestData.AssertBitEqual(TestData.Flatten(net), TestData.Flatten(net2));
        Assert.Equal(opt.LearningRate, opt2.LearningRate);
        if (opt is Adam adam)
        {
            Assert.Equal(adam.Beta1, ((Adam)opt2).Beta1);
        }
        Assert.Equal(scheduler.LastEpoch, scheduler2.LastEpoch);
    }

    [Fact]
    public void Scheduler_StateDict_round_trip_continues_the_same_rates()
    {
        var opt = new SGD([new Parameter(1)], lr: 0.1f, momentum: 0.9f);
        var s = new OneCycleLR(opt, 0.5, 30, threePhase: true);
        for (int i = 0; i < 11; i++)
        {
            s.Step();
        }
        var state = s.StateDict();
        Assert.Equal("OneCycleLR", state.Metadata["type"]);
        Assert.Contains("\"last_epoch\":11", state.Metadata["state"]);
        var opt2 = new SGD([new Parameter(1)], lr: 0.1f, momentum: 0.9f);
        var s2 = new OneCycleLR(opt2, 0.5, 30, threePhase: true);
        s2.LoadStateDict(state);
        Assert.Equal(opt.LearningRate, opt2.LearningRate);
        Assert.Equal(((SGD)opt).Momentum, opt2.Momentum);
        for (int i = 0; i < 19; i++)
        {
            s.Step();
            s2.Step();
            Assert.Equal(s.GetLastLr(), s2.GetLastLr());
            Assert.Equal(s.Momentum, s2.Momentum);
        }
    }

    [Fact]
    public void Loading_another_schedulers_state_throws_and_changes_nothing()
    {
        var opt = new SGD([new Parameter(1)], lr: 0.1f);
        var step = new StepLR(opt, 3, 0.5);
        step.Step();
        var other = new StepLR(new SGD([new Parameter(1)], lr: 0.1f), 4, 0.5);
        var ex = Assert.Throws<ArgumentException>(() => step.LoadStateDict(other.StateDict()));
        Assert.Contains("'step_size' is 4, this scheduler has 3", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => step.LoadStateDict(new ExponentialLR(new SGD([new Parameter(1)], lr: 0.1f), 0.9).StateDict()));
        Assert.Contains("saved by ExponentialLR", ex.Message);
        Assert.Equal(1, step.LastEpoch);

        using var dir = new TempDir();
        string path = dir.File("noscheduler.ckpt");
        Generator.Default.ManualSeed(3);
        var net = new TutorialNet();
        var adam = new Adam(net.Parameters(), lr: 0.01f);
        Checkpoint.Save(path, net, adam);
        var net2 = new TutorialNet();
        var before = TestData.Flatten(net2);
        var adam2 = new Adam(net2.Parameters(), lr: 0.01f);
        var ex2 = Assert.Throws<ArgumentException>(() => Checkpoint.TryResume(path, net2, adam2, new ExponentialLR(adam2, 0.9), null, out _));
        Assert.Equal("scheduler", ex2.ParamName);
        Assert.Contains("no scheduler state", ex2.Message);
        TestData.AssertBitEqual(before, TestData.Flatten(net2));
    }
}
