namespace CompiledNets;

/// <summary>Evaluation metrics.</summary>
public static class Metrics
{
    /// <summary>
    /// The fraction of rows whose largest logit is at the true label, in [0, 1]
    /// (the tutorial's <c>(y_pred.max(dim=1)[1] == y_true).float().mean()</c>).
    /// </summary>
    /// <param name="logits">Scores, <c>[batch, classes]</c>.</param>
    /// <param name="labels">Class indices, <c>[batch]</c>.</param>
    /// <exception cref="ArgumentException">The shapes do not match, or the batch is empty.</exception>
    public static float Accuracy(Tensor logits, IntTensor labels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        if (logits.Rank != 2 || labels.Rank != 1 || labels.Size(0) != logits.Size(0) || logits.Size(0) == 0)
        {
            throw new ArgumentException(
                $"Accuracy expects logits [batch, classes] and labels [batch] with batch ≥ 1; got {Tensor.ShapeString(logits.Shape)} and {Tensor.ShapeString(labels.Shape)}.");
        }
        int rows = logits.Size(0), cols = logits.Size(1), correct = 0;
        ReadOnlySpan<float> data = logits.AsSpan();
        ReadOnlySpan<int> y = labels.AsSpan();
        for (int r = 0; r < rows; r++)
        {
            if (System.Numerics.Tensors.TensorPrimitives.IndexOfMax(data.Slice(r * cols, cols)) == y[r])
            {
                correct++;
            }
        }
        return (float)correct / rows;
    }

    /// <summary>
    /// The root of the mean squared difference, <c>sqrt(mean((prediction − target)²))</c>, over all elements, summed in
    /// float64 (scikit-learn: <c>root_mean_squared_error</c>; PyTorch: <c>torch.sqrt(nn.MSELoss()(prediction, target))</c>).
    /// </summary>
    /// <param name="prediction">Predictions, e.g. <c>[batch, 1]</c> from a model.</param>
    /// <param name="target">Targets with the same number of elements, e.g. <c>[batch]</c> or <c>[batch, 1]</c>.</param>
    /// <exception cref="ArgumentException">The element counts differ, or there are none.</exception>
    public static float RootMeanSquaredError(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (prediction.Numel != target.Numel || prediction.Numel == 0 || prediction.Size(0) != target.Size(0))
        {
            throw new ArgumentException(
                $"RootMeanSquaredError expects a prediction and a target with the same rows and number of values (≥ 1); got {Tensor.ShapeString(prediction.Shape)} and {Tensor.ShapeString(target.Shape)}.");
        }
        ReadOnlySpan<float> p = prediction.AsSpan(), t = target.AsSpan();
        double sum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double d = (double)p[i] - t[i];
            sum += d * d;
        }
        return (float)Math.Sqrt(sum / p.Length);
    }
}
