using CompiledNets.Tests.Models;
using Xunit;

namespace CompiledNets.Tests.Gradients;

/// <summary>PyTorch's gradient bookkeeping: accumulation until <c>ZeroGrad</c>, and backward only from the latest forward.</summary>
public sealed class GradientAccumulationTests
{
    private static (ModelUnderTest Model, Problem Problem) Setup(string name, int batch, LossKind kind = LossKind.CrossEntropy)
    {
        Generator.Default.ManualSeed(99);
        var m = ModelUnderTest.Create(name);
        m.SeedDropouts(5);
        m.Model.Train();
        return (m, Problem.Create(m, batch, kind, seed: 17));
    }

    private static float[][] Step(ModelUnderTest m, Problem problem)
    {
        m.ReseedDropouts();
        problem.LossOf(m.Forward(problem.Input)).Backward();
        return m.Model.Parameters().Select(p => p.Grad.ToArray()).ToArray();
    }

    [Theory]
    [InlineData(nameof(TutorialNet))]
    [InlineData(nameof(NestedMiddleNet))]
    [InlineData(nameof(NestedTwiceNet))]
    public void Gradients_accumulate_over_backward_calls_until_ZeroGrad(string name)
    {
        var (m, problem) = Setup(name, batch: 5);
        float[][] once = Step(m, problem);
        Assert.All(once, g => Assert.Contains(g, v => v != 0f));
        float[][] twice = Step(m, problem);
        for (int j = 0; j < once.Length; j++)
        {
            Check.Close($"parameter {j} after two backward calls", twice[j], once[j].Select(v => 2.0 * v).ToArray(), 1e-6, 1e-7);
        }

        m.Model.ZeroGrad();
        Assert.All(m.Model.Parameters(), p => Assert.All(p.Grad.ToArray(), v => Assert.Equal(0f, v)));
        float[][] again = Step(m, problem);
        for (int j = 0; j < once.Length; j++)
        {
            Assert.Equal(once[j], again[j]);
        }

        var opt = new SGD(m.Model.Parameters(), lr: 0.1f);
        opt.ZeroGrad();
        Assert.All(m.Model.Parameters(), p => Assert.All(p.Grad.ToArray(), v => Assert.Equal(0f, v)));
    }

    [Fact]
    public void Backward_after_a_second_forward_throws_and_leaves_gradients_alone()
    {
        var (m, problem) = Setup(nameof(TutorialNet), batch: 4);
        var loss = problem.LossOf(m.Forward(problem.Input));
        m.Forward(problem.Input);
        var ex = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("latest Forward", ex.Message);
        Assert.All(m.Model.Parameters(), p => Assert.All(p.Grad.ToArray(), v => Assert.Equal(0f, v)));
    }

    [Theory]
    [InlineData(nameof(TutorialNet))]
    [InlineData(nameof(NestedTwiceNet))]
    public void A_second_Backward_on_the_same_loss_throws_and_leaves_gradients_alone(string name)
    {
        var (m, problem) = Setup(name, batch: 3);
        m.ReseedDropouts();
        var loss = problem.LossOf(m.Forward(problem.Input));
        loss.Backward();
        float[][] once = m.Model.Parameters().Select(p => p.Grad.ToArray()).ToArray();

        var ex = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("Backward was already called on this", ex.Message);
        Assert.Contains("backpropagates once", ex.Message);
        Assert.Equal(once, m.Model.Parameters().Select(p => p.Grad.ToArray()).ToArray());

        // Also after an optimizer step (PyTorch raises there too, instead of using the updated weights).
        new SGD(m.Model.Parameters(), lr: 0.1f).Step();
        Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Equal(once, m.Model.Parameters().Select(p => p.Grad.ToArray()).ToArray());
    }

    [Fact]
    public void A_stale_output_cannot_be_scored()
    {
        var (m, problem) = Setup(nameof(NestedLastNet), batch: 4);
        var first = m.Forward(problem.Input);
        m.Forward(problem.Input);
        Assert.False(first.IsCurrent);
        Assert.Throws<InvalidOperationException>(() => problem.LossOf(first));
    }

    [Fact]
    public void Backward_of_an_older_loss_throws()
    {
        var (m, problem) = Setup(nameof(TanhNet), batch: 2);
        var y = m.Forward(problem.Input);
        var older = problem.LossOf(y);
        problem.LossOf(y).Backward();
        Assert.Throws<InvalidOperationException>(() => older.Backward());
    }

    [Fact]
    public void Buffers_reused_across_batch_sizes_give_the_same_gradients_as_fresh_models()
    {
        var (reused, _) = Setup(nameof(NestedMiddleNet), batch: 1);
        foreach (int batch in new[] { 3, 17, 1, 17, 3 })
        {
            var (fresh, problem) = Setup(nameof(NestedMiddleNet), batch);
            float[][] expected = Step(fresh, problem);
            reused.Model.ZeroGrad();
            reused.SeedDropouts(5);
            float[][] actual = Step(reused, problem);
            for (int j = 0; j < expected.Length; j++)
            {
                Assert.Equal(expected[j], actual[j]);
            }
        }
    }

    [Fact]
    public void A_vector_input_is_a_batch_of_one()
    {
        var (m, problem) = Setup(nameof(TutorialNet), batch: 1, LossKind.Mse);
        float[][] batched = Step(m, problem);
        m.Model.ZeroGrad();
        m.ReseedDropouts();
        var y = m.Forward(problem.Input.Reshape(m.InFeatures));
        Assert.Equal(1, y.Rank);
        var mse = new MSELoss();
        mse.Forward(y, Tensor.FromArray(problem.Target)).Backward();
        float[][] vector = m.Model.Parameters().Select(p => p.Grad.ToArray()).ToArray();
        for (int j = 0; j < batched.Length; j++)
        {
            Assert.Equal(batched[j], vector[j]);
        }
    }
}
