using CompiledNets.Samples.Digits;
using CompiledNets.Samples.Iris;
using CompiledNets.Tests.Serialization;
using Xunit;

namespace CompiledNets.Tests.Samples;

/// <summary>
/// The samples' command lines (the shared <c>samples/Shared/SampleOptions.cs</c>): numbers parsed under the invariant
/// culture, bad values reported as one <c>error:</c> line with exit code 2, failures during training as one line with
/// exit code 1 and no stack trace.
/// </summary>
public class SampleCommandLineTests
{
    private static (int Code, string Output, string Error) Iris(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = IrisCommand.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static (int Code, string Output, string Error) Digits(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = DigitsCommand.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static string FirstLine(string text) => text.Split('\n')[0].TrimEnd('\r');

    [Fact]
    public void A_decimal_comma_is_an_error_not_a_thousands_separator()
    {
        foreach (var (code, output, error) in new[] { Iris("--lr", "0,01"), Digits("--lr", "0,01") })
        {
            Assert.Equal(2, code);
            Assert.Equal("error: --lr must be a number like 0.01; got '0,01'", FirstLine(error));
            Assert.Equal("", output);
        }
        var epochs = Iris("--epochs", "1,000");
        Assert.Equal(2, epochs.Code);
        Assert.Equal("error: --epochs must be a whole number; got '1,000'", FirstLine(epochs.Error));
        Assert.Equal("error: --batch-size must be a whole number; got '3.5'", FirstLine(Digits("--batch-size", "3.5").Error));
        Assert.Equal("error: --model must be mlp or residual; got 'cnn'", FirstLine(Digits("--model", "cnn").Error));
        Assert.Equal("error: --lr must be a positive number; got 0", FirstLine(Iris("--lr", "0").Error));
    }

    [Fact]
    public void Float_options_take_decimals_and_exponents()
    {
        var (code, output, error) = Iris("--epochs", "3", "--lr", "1e-3");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains("test accuracy: ", output);
    }

    [Fact]
    public void A_diverging_run_ends_with_one_error_line_and_exit_code_1()
    {
        foreach (var (code, output, error) in new[] { Iris("--lr", "1e30", "--epochs", "50"), Digits("--lr", "1e30", "--epochs", "2") })
        {
            Assert.Equal(1, code);
            Assert.StartsWith("error: training diverged: CrossEntropyLoss input has a non-finite logit", error);
            Assert.EndsWith("; try a smaller --lr" + Environment.NewLine, error);
            Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.DoesNotContain("(Parameter", error);
            Assert.DoesNotContain("   at ", error); // no stack trace
            Assert.DoesNotContain("test accuracy", output);
        }
    }

    [Fact]
    public void A_checkpoint_in_a_missing_folder_is_refused_before_training()
    {
        using var dir = new TempDir();
        string folder = dir.File("missing");
        string path = Path.Combine(folder, "iris.ckpt");
        var (code, output, error) = Iris("--checkpoint", path);
        Assert.Equal(2, code);
        Assert.Equal($"error: --checkpoint {path}: the folder '{folder}' does not exist; create it or choose another path", FirstLine(error));
        Assert.Equal("", output);
    }

    [Fact]
    public void A_broken_checkpoint_file_is_one_error_line_with_exit_code_1()
    {
        using var dir = new TempDir();
        string path = dir.File("iris.ckpt");
        File.WriteAllText(path, "not a checkpoint");
        var (code, _, error) = Iris("--epochs", "2", "--checkpoint", path);
        Assert.Equal(1, code);
        Assert.StartsWith("error: ", error);
        Assert.Contains(path, error);
        Assert.DoesNotContain(" at CompiledNets", error);
    }

    [Fact]
    public void Resuming_a_finished_checkpoint_trains_nothing_and_still_reports_accuracy()
    {
        using var dir = new TempDir();
        string path = dir.File("iris.ckpt");
        var first = IrisTutorial.Run(new IrisOptions(Epochs: 20, LogEvery: 10, CheckpointPath: path), TextWriter.Null);

        var log = new StringWriter();
        var again = IrisTutorial.Run(new IrisOptions(Epochs: 15, LogEvery: 10, CheckpointPath: path), log);
        string text = log.ToString();
        Assert.Contains($"nothing left to train: {path} is already at epoch 20 and --epochs is 15; raise --epochs to train further", text);
        Assert.DoesNotContain("epoch    ", text);
        Assert.DoesNotContain("training: ", text);
        Assert.Contains("test accuracy: ", text);
        Assert.Equal(first.TestAccuracy, again.TestAccuracy);
        Assert.True(float.IsNaN(again.FinalLoss));
        Assert.Equal("20", SafeTensors.Load(path).Metadata["epoch"]);
    }

    [Fact]
    public void Resuming_with_another_learning_rate_warns_and_uses_the_new_one()
    {
        using var dir = new TempDir();
        string path = dir.File("iris.ckpt");
        IrisTutorial.Run(new IrisOptions(Epochs: 5, LogEvery: 5, CheckpointPath: path), TextWriter.Null);

        var log = new StringWriter();
        IrisTutorial.Run(new IrisOptions(Epochs: 6, LogEvery: 5, LearningRate: 0.05f, CheckpointPath: path), log);
        Assert.Contains("note: the checkpoint was made with --lr 0.01, this run uses 0.05 from here on", log.ToString());
        var saved = SafeTensors.Load(path).Metadata["optimizer.param_groups"];
        Assert.Contains("\"lr\":0.05", saved);

        var same = new StringWriter();
        IrisTutorial.Run(new IrisOptions(Epochs: 7, LogEvery: 5, LearningRate: 0.05f, CheckpointPath: path), same);
        Assert.DoesNotContain("note:", same.ToString());
    }
}
