using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace CompiledNets.Tests.Parity;

/// <summary>
/// 100 steps of each learning-rate scheduler against PyTorch 1.13 (<c>tools/make_loss_scheduler_fixture.py</c>): the
/// float64 rates (<see cref="LRScheduler.GetLastLr"/>), the float32 rate the optimizer holds, and OneCycleLR's momentum.
/// </summary>
/// <remarks>Tolerance 1e-13 relative: both sides use the same float64 formulas in the same order; only <c>cos</c> and <c>pow</c> may differ in the last bit.</remarks>
public sealed class SchedulerParityTests(ITestOutputHelper output)
{
    private static readonly Lazy<JsonElement> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "parity_schedulers.json"))).RootElement);

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in Fixture.Value.GetProperty("schedulers").EnumerateArray())
        {
            data.Add(c.GetProperty("name").GetString()!);
        }
        return data;
    }

    internal static Optimizer MakeOptimizer(JsonElement c, Parameter p) => c.GetProperty("optimizer").GetString() switch
    {
        "SGD" => new SGD([p], lr: (float)c.GetProperty("lr").GetDouble(), momentum: (float)c.GetProperty("momentum").GetDouble()),
        _ => new Adam([p], lr: (float)c.GetProperty("lr").GetDouble()),
    };

    internal static LRScheduler MakeScheduler(string name, JsonElement c, Optimizer opt)
    {
        double D(string key) => c.GetProperty(key).GetDouble();
        int I(string key) => c.GetProperty(key).GetInt32();
        return name switch
        {
            "StepLR" => new StepLR(opt, I("step_size"), D("gamma")),
            "MultiStepLR" => new MultiStepLR(opt, c.GetProperty("milestones").EnumerateArray().Select(v => v.GetInt32()), D("gamma")),
            "ExponentialLR" => new ExponentialLR(opt, D("gamma")),
            "CosineAnnealingLR" => new CosineAnnealingLR(opt, I("T_max"), D("eta_min")),
            "LinearLR" or "LinearLR_decay" => new LinearLR(opt, D("start_factor"), D("end_factor"), I("total_iters")),
            "OneCycleLR" or "OneCycleLR_sgd_without_momentum" => new OneCycleLR(opt, D("max_lr"), I("total_steps")),
            "OneCycleLR_sgd_linear_three_phase" => new OneCycleLR(opt, D("max_lr"), I("total_steps"), pctStart: D("pct_start"),
                annealStrategy: AnnealStrategy.Linear, threePhase: true),
            "ReduceLROnPlateau" => new ReduceLROnPlateau(opt, PlateauMode.Min, D("factor"), I("patience"), D("threshold"), cooldown: I("cooldown"), minLr: D("min_lr")),
            "SequentialLR" => new SequentialLR(opt, [new LinearLR(opt, 0.1, totalIters: 10), new CosineAnnealingLR(opt, 90, 1e-4)], [10]),
            "SequentialLR_exp_step" => new SequentialLR(opt, [new ExponentialLR(opt, 0.9), new StepLR(opt, 10, 0.5)], [30]),
            _ => throw new ArgumentException(name),
        };
    }

    internal static void StepOnce(LRScheduler scheduler, JsonElement c, int k)
    {
        if (scheduler is ReduceLROnPlateau plateau)
        {
            plateau.Step(c.GetProperty("metrics")[k - 1].GetDouble());
        }
        else
        {
            scheduler.Step();
        }
    }

    private static double Momentum(Optimizer opt) => opt switch
    {
        Adam adam => adam.Beta1,
        SGD sgd => sgd.Momentum,
        _ => double.NaN,
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Hundred_steps_of_learning_rates_match_PyTorch(string name)
    {
        var c = Fixture.Value.GetProperty("schedulers").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var p = new Parameter(2);
        var opt = MakeOptimizer(c, p);
        var scheduler = MakeScheduler(name, c, opt);
        double[] lrs = c.GetProperty("lrs").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        double[] momenta = c.GetProperty("momenta").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        bool withParams = c.TryGetProperty("params", out var paramsJson);
        Assert.Equal(withParams ? 20 : 100, lrs.Length);
        double worst = 0;
        for (int k = 0; k < lrs.Length; k++)
        {
            if (k > 0)
            {
                if (withParams)
                {
                    p.Grad[0] = (float)(1.0 * (1 + 0.1 * k));
                    p.Grad[1] = (float)(-2.0 * (1 + 0.1 * k));
                }
                opt.Step();
                StepOnce(scheduler, c, k);
                if (withParams)
                {
                    var expected = paramsJson[k - 1].EnumerateArray().Select(v => v.GetDouble()).ToArray();
                    Gradients.Check.Close($"{name} parameters after step {k}", p.Data, expected, 1e-5, 1e-6);
                }
            }
            double lr = scheduler.GetLastLr();
            double err = Math.Abs(lr - lrs[k]) / Math.Max(lrs[k], 1e-300);
            worst = Math.Max(worst, err);
            Assert.True(err <= 1e-13, $"{name} step {k}: lr {lr:R}, PyTorch {lrs[k]:R}");
            Assert.Equal((float)lrs[k], opt.LearningRate);
            Assert.Equal((float)momenta[k], (float)Momentum(opt));
            if (scheduler is OneCycleLR oneCycle)
            {
                Assert.True(Math.Abs(oneCycle.Momentum - momenta[k]) <= 1e-13 * momenta[k], $"{name} step {k}: momentum {oneCycle.Momentum:R}, PyTorch {momenta[k]:R}");
            }
        }
        output.WriteLine($"{name}: largest relative error of the 100 rates {worst:E2}");
    }
}
