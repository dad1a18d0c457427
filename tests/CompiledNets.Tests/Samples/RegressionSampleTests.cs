using System.Buffers.Binary;
using CompiledNets.Data;
using CompiledNets.Samples.Digits;
using CompiledNets.Samples.Iris;
using CompiledNets.Samples.Regression;
using CompiledNets.Tests.Serialization;
using Xunit;

namespace CompiledNets.Tests.Samples;

/// <summary>A linear map for the regression tests: <c>[batch, 2] → [batch, 1]</c>.</summary>
[Model]
public partial class LinearRegressor
{
    [Layer] readonly Linear lin = new(2, 1);
}

/// <summary>
/// samples/Regression (Iris petal width with MSELoss and a RegressionDataLoader), mini-batch regression training in the
/// library, and the samples' progress lines and <c>--plot</c> PNGs.
/// </summary>
public class RegressionSampleTests
{
    [Fact]
    public void The_sample_predicts_petal_width_within_a_quarter_centimetre_with_its_defaults()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = RegressionCommand.Run([], output, error);
        string text = output.ToString();

        Assert.Equal(0, code);
        Assert.Equal("", error.ToString());
        Assert.Contains("RegressionData(150 rows; features: sepal_length, sepal_width, petal_length; target: petal_width); train 112, test 38", text);
        Assert.Contains("(hidden): Linear(in_features=3, out_features=16, bias=True)", text);
        Assert.Contains("mini-batches of 16 rows, shuffled each epoch: 7 steps per epoch", text);
        // Progress: plain lines every 10 epochs when the output is not a terminal.
        var progress = text.Split('\n').Where(l => l.StartsWith("epoch ", StringComparison.Ordinal)).ToList();
        Assert.Equal(10, progress.Count);
        Assert.Matches(@"^epoch 100/100  loss 0\.0\d{3}  test RMSE 0\.\d{4}\r?$", progress[^1]);
        var rmse = System.Text.RegularExpressions.Regex.Match(text, @"test RMSE: (\d+\.\d{4}) cm");
        Assert.True(rmse.Success, text);
        float value = float.Parse(rmse.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(value, 0.05f, 0.25f);
    }

    [Fact]
    public void The_sample_is_reproducible_and_its_result_matches_its_output()
    {
        var first = RegressionTraining.Run(new RegressionOptions(Epochs: 30), TextWriter.Null);
        var second = RegressionTraining.Run(new RegressionOptions(Epochs: 30), TextWriter.Null);
        Assert.Equal(first.TestRmse, second.TestRmse);
        Assert.Equal(first.FinalLoss, second.FinalLoss);
        Assert.True(first.TestRmse <= 0.3f, $"test RMSE {first.TestRmse} after 30 epochs");
    }

    [Fact]
    public void Mini_batches_over_float_targets_fit_a_linear_map_to_a_stated_error()
    {
        // y = 2a − 3b + 0.5 on 200 points; Adam on batches of 8 must bring the MSE under 1e-4 (noise-free data).
        var rng = new Generator(3);
        int n = 200;
        var x = new float[n * 2];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            float a = rng.NextFloat() * 2 - 1, b = rng.NextFloat() * 2 - 1;
            x[i * 2] = a;
            x[i * 2 + 1] = b;
            y[i] = 2 * a - 3 * b + 0.5f;
        }
        Generator.Default.ManualSeed(1);
        var net = new LinearRegressor();
        var loader = new RegressionDataLoader(new RegressionDataset(Tensor.FromArray(x, n, 2), Tensor.FromArray(y, n, 1)), batchSize: 8, shuffle: true, seed: 1);
        var lossFn = new MSELoss();
        var opt = new Adam(net.Parameters(), lr: 0.05f);
        for (int epoch = 0; epoch < 60; epoch++)
        {
            foreach (var (xb, yb) in loader)
            {
                lossFn.Forward(net.Forward(xb), yb).Backward();
                opt.Step();
                opt.ZeroGrad();
            }
        }
        float mse = lossFn.Forward(net.Forward(Tensor.FromArray(x, n, 2)), Tensor.FromArray(y, n, 1)).Item();
        Assert.True(mse < 1e-4f, $"MSE {mse}");
        var w = net.StateDict()["lin.weight"].ToArray();
        Assert.Equal(2f, w[0], 0.02f);
        Assert.Equal(-3f, w[1], 0.02f);
        Assert.Equal(0.5f, net.StateDict()["lin.bias"].ToArray()[0], 0.02f);
    }

    [Fact]
    public void Plot_writes_a_png_of_the_expected_size_for_each_sample()
    {
        using var dir = new TempDir();
        var runs = new (string Name, Func<string, int> Run)[]
        {
            ("iris", p => IrisCommand.Run(["--epochs", "20", "--plot", p], TextWriter.Null, TextWriter.Null)),
            ("digits", p => DigitsCommand.Run(["--epochs", "1", "--plot", p], TextWriter.Null, TextWriter.Null)),
            ("regression", p => RegressionCommand.Run(["--epochs", "5", "--plot", p], TextWriter.Null, TextWriter.Null)),
        };
        foreach (var (name, run) in runs)
        {
            string path = dir.File(name + ".png");
            Assert.Equal(0, run(path));
            byte[] png = File.ReadAllBytes(path);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
            Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
            Assert.Equal(800, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
            Assert.Equal(500, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
            Assert.True(png.Length > 10_000, $"{name}: {png.Length} bytes: a drawn plot, not an empty image");
        }

        // The labels' font comes from the file shipped with the samples, so they render where no font is installed
        // (checked by hand with /usr/share/fonts hidden: 48.5 kB with labels, 22.8 kB without the shipped file).
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "fonts", "DejaVuSans.ttf")));
        Assert.Contains(ScottPlot.Fonts.FontResolvers.OfType<ScottPlot.FontResolvers.FileFontResolver>(),
            r => r.CreateTypeface("DejaVu Sans", ScottPlot.FontWeight.Normal, ScottPlot.FontSlant.Upright, ScottPlot.FontSpacing.Normal) is not null);
    }

    [Fact]
    public void Plot_paths_are_checked_before_training()
    {
        using var dir = new TempDir();
        var error = new StringWriter();
        Assert.Equal(2, RegressionCommand.Run(["--plot", dir.File("loss.txt")], TextWriter.Null, error));
        Assert.StartsWith($"error: --plot {dir.File("loss.txt")}: the plot is written as PNG; give a file name ending in .png", error.ToString());

        string missing = Path.Combine(dir.File("nowhere"), "loss.png");
        var output = new StringWriter();
        error = new StringWriter();
        Assert.Equal(2, IrisCommand.Run(["--plot", missing], output, error));
        Assert.StartsWith($"error: --plot {missing}: the folder '{dir.File("nowhere")}' does not exist", error.ToString());
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public void Iris_and_digits_print_progress_with_accuracy_when_redirected()
    {
        var iris = new StringWriter();
        IrisTutorial.Run(new IrisOptions(Epochs: 40, LogEvery: 20), iris);
        var lines = iris.ToString().Split('\n').Where(l => l.StartsWith("epoch ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Matches(@"^epoch 20/40  loss \d\.\d{4}  test acc \d\.\d{4}\r?$", lines[0]);

        var digits = new StringWriter();
        DigitsTraining.Run(new DigitsOptions(Epochs: 1), digits);
        Assert.Contains(digits.ToString().Split('\n'), l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^epoch 1/1  loss \d\.\d{4}  test acc \d\.\d{4}  train acc \d\.\d{4}  \d+\.\d ms\r?$"));
    }
}
