using System.Numerics.Tensors;

namespace CompiledNets.Kernels.Cpu;

/// <summary>Row-wise softmax over the last dimension and its gradient (PyTorch: <c>torch.softmax(x, dim=1)</c>).</summary>
public static class SoftmaxKernels
{
    /// <summary>In place, per row: <c>x = exp(x − max x) / Σ exp(x − max x)</c> (stable for large values).</summary>
    /// <param name="x">Values, <c>[rows, features]</c>.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="features">Length of each row.</param>
    public static void Forward(Span<float> x, int rows, int features)
    {
        if (features == 0)
        {
            return; // nothing to normalise (TensorPrimitives.Max throws on an empty row)
        }
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = x.Slice(r * features, features);
            float max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, row);
            TensorPrimitives.Exp(row, row);
            TensorPrimitives.Divide(row, TensorPrimitives.Sum(row), row);
        }
    }

    /// <summary>Gradient in place from the forward output, per row: <c>g = y·(g − Σ g·y)</c>.</summary>
    /// <param name="g">Gradient of the output, overwritten by the gradient of the input, <c>[rows, features]</c>.</param>
    /// <param name="y">The forward output, <c>[rows, features]</c>.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="features">Length of each row.</param>
    public static void Backward(Span<float> g, ReadOnlySpan<float> y, int rows, int features)
    {
        for (int r = 0; r < rows; r++)
        {
            Span<float> gr = g.Slice(r * features, features);
            ReadOnlySpan<float> yr = y.Slice(r * features, features);
            float dot = TensorPrimitives.Dot(gr, yr);
            TensorPrimitives.Subtract(gr, dot, gr);
            TensorPrimitives.Multiply(gr, yr, gr);
        }
    }

    /// <summary>Log-softmax in place, per row: <c>x = x − max x − log Σ exp(x − max x)</c> (PyTorch: <c>torch.log_softmax(x, dim=1)</c>).</summary>
    /// <param name="x">Values, <c>[rows, features]</c>.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="features">Length of each row.</param>
    public static void LogForward(Span<float> x, int rows, int features)
    {
        if (features == 0)
        {
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = x.Slice(r * features, features);
            float max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, row);
            float sum = 0f;
            for (int j = 0; j < row.Length; j++)
            {
                sum += MathF.Exp(row[j]);
            }
            TensorPrimitives.Subtract(row, MathF.Log(sum), row);
        }
    }

    /// <summary>Log-softmax gradient in place from the forward output, per row: <c>g = g − exp(y)·Σ g</c>.</summary>
    /// <param name="g">Gradient of the output, overwritten by the gradient of the input, <c>[rows, features]</c>.</param>
    /// <param name="y">The forward output (log-probabilities), <c>[rows, features]</c>.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="features">Length of each row.</param>
    public static void LogBackward(Span<float> g, ReadOnlySpan<float> y, int rows, int features)
    {
        for (int r = 0; r < rows; r++)
        {
            Span<float> gr = g.Slice(r * features, features);
            ReadOnlySpan<float> yr = y.Slice(r * features, features);
            float sum = TensorPrimitives.Sum(gr);
            for (int j = 0; j < gr.Length; j++)
            {
                gr[j] -= MathF.Exp(yr[j]) * sum;
            }
        }
    }
}
