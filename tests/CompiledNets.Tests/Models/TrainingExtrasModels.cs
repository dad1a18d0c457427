namespace CompiledNets.Tests.Models;

/// <summary>Linear, ReLU, Linear, LogSoftmax: trained with <see cref="NLLLoss"/> (PyTorch parity in <c>parity_losses.json</c>).</summary>
[Model]
public partial class LogSoftmaxNet
{
    [Layer] readonly Linear fc1 = new(4, 8);
    [Layer] readonly ReLU relu = new();
    [Layer] readonly Linear fc2 = new(8, 3);
    [Layer] readonly LogSoftmax logsoftmax = new(dim: 1);
}

/// <summary>LogSoftmax in the middle (in place on a Linear's output), then a Linear that reads it.</summary>
[Model]
public partial class LogSoftmaxMiddleNet
{
    [Layer] readonly Linear fc1 = new(3, 5);
    [Layer] readonly LogSoftmax logsoftmax = new();
    [Layer] readonly Linear fc2 = new(5, 2);
}

/// <summary>The fine-tuning layout of docs/training.md: a public nested body to freeze, a head to train.</summary>
[Model]
public partial class FineTuneNet
{
    [Layer] public readonly Gradients.InnerBlock body = new();
    [Layer] readonly Linear head = new(5, 3);
}
