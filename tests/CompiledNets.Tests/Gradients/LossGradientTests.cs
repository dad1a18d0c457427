using CompiledNets.Tests.Models;
using Xunit;

namespace CompiledNets.Tests.Gradients;

/// <summary>The gradients losses hand to the model, against float64 references and finite differences.</summary>
public sealed class LossGradientTests
{
    public static TheoryData<string, LossKind> Cases()
    {
        var data = new TheoryData<string, LossKind>();
        foreach (string model in new[] { nameof(TutorialNet), nameof(TwoActivationsSoftmaxNet), nameof(SoftmaxMiddleDropoutLastNet), nameof(NestedLastNet) })
        {
            data.Add(model, LossKind.CrossEntropy);
            data.Add(model, LossKind.Mse);
        }
        return data;
    }

    /// <summary>
    /// <c>InputGrad</c> after <c>Backward</c> is d loss / d output, also when the model's last layer
    /// (a Softmax, a Dropout, a nested model ending in Tanh) runs its backward in place on that gradient.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void InputGrad_after_Backward_is_the_gradient_of_the_loss(string model, LossKind kind)
    {
        Generator.Default.ManualSeed(3);
        var m = ModelUnderTest.Create(model);
        m.SeedDropouts(11);
        var problem = Problem.Create(m, batch: 6, kind, seed: 8);
        m.ReseedDropouts();
        var y = m.Forward(problem.Input);
        float[] expected = problem.LossGradient(y.ToArray());
        problem.LossOf(y).Backward();
        Check.Close($"{model} {kind} InputGrad", problem.LossFunction.InputGrad, expected.Select(v => (double)v).ToArray(), 1e-5, 1e-7);
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(4, 1)]
    [InlineData(5, 7)]
    [InlineData(17, 9)]
    [InlineData(3, 15)]   // the last class count on CrossEntropyLoss's scalar row loops
    [InlineData(3, 16)]   // the first on its vectorised ones
    [InlineData(2, 40)]
    public void CrossEntropy_and_Mse_gradients_match_finite_differences(int batch, int classes)
    {
        var g = new Generator((ulong)(batch * 100 + classes));
        float[] x = Enumerable.Range(0, batch * classes).Select(_ => (float)(3 * g.NextNormal())).ToArray();
        int[] labels = Enumerable.Range(0, batch).Select(_ => g.NextInt(classes)).ToArray();
        float[] target = Enumerable.Range(0, batch * classes).Select(_ => (float)g.NextNormal()).ToArray();
        var input = Tensor.FromArray(x, batch, classes);
        double[] xd = x.Select(v => (double)v).ToArray();

        var ce = new CrossEntropyLoss();
        var mse = new MSELoss();
        float ceValue = ce.Forward(input, IntTensor.FromArray(labels)).Item();
        float mseValue = mse.Forward(input, Tensor.FromArray(target, batch, classes)).Item();
        Assert.Equal(ReferenceModel.CrossEntropy(xd, labels, batch), ceValue, 1e-5 * Math.Max(1, ceValue));
        Assert.Equal(ReferenceModel.Mse(xd, target.Select(v => (double)v).ToArray()), mseValue, 1e-5 * Math.Max(1, mseValue));

        var ceGrad = new double[xd.Length];
        var mseGrad = new double[xd.Length];
        const double h = 1e-6;
        double[] t = target.Select(v => (double)v).ToArray();
        for (int i = 0; i < xd.Length; i++)
        {
            double v = xd[i];
            xd[i] = v + h;
            double cp = ReferenceModel.CrossEntropy(xd, labels, batch), mp = ReferenceModel.Mse(xd, t);
            xd[i] = v - h;
            double cm = ReferenceModel.CrossEntropy(xd, labels, batch), mm = ReferenceModel.Mse(xd, t);
            xd[i] = v;
            ceGrad[i] = (cp - cm) / (2 * h);
            mseGrad[i] = (mp - mm) / (2 * h);
        }
        // InputGrad is the gradient Backward hands to the model (here there is none to run).
        Check.Close("CrossEntropyLoss gradient", ce.InputGrad, ceGrad, 1e-5, 1e-6);
        Check.Close("MSELoss gradient", mse.InputGrad, mseGrad, 1e-5, 1e-6);
    }
}
