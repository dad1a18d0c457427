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
}
