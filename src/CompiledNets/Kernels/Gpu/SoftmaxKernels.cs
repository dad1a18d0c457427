using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace CompiledNets.Kernels.Gpu;

/// <summary>
/// Softmax and log-softmax over the features of each row, and their gradients from the output: the GPU twins of
/// <see cref="Cpu.SoftmaxKernels"/> (same formulas), one thread per row looping over the features. Cross-entropy on a
/// device is <see cref="LossKernels.CrossEntropy"/>.
/// </summary>
public static partial class SoftmaxKernels
{
    /// <summary>Softmax over each row in place: <c>x[r, j] = e^(x[r, j] − m) / Σₖ e^(x[r, k] − m)</c> with <c>m</c> the row maximum.</summary>
    /// <param name="context">The device the span lives on.</param>
    /// <param name="x">Values, <c>[rows, features]</c>.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="features">Features per row.</param>
    /// <exception cref="ArgumentException"><paramref name="x"/> has another length than <c>rows · features</c> or lives on another context.</exception>
    public static void Forward(DeviceContext context, DeviceSpan<float> x, int rows, int features) =>
        Rows(context, x, default, rows, features, "Softmax.Forward", ForwardKernel);

    /// <summary>The softmax gradient in place from the output: <c>g[r, j] = y[r, j]·(g[r, j] − Σₖ g[r, k]·y[r, k])</c>.</summary>
    /// <exception cref="ArgumentException">A span has another length than <c>rows · features</c> or lives on another context.</exception>
    public static void Backward(DeviceContext context, DeviceSpan<float> g, DeviceSpan<float> y, int rows, int features) =>
        Rows(context, g, y, rows, features, "Softmax.Backward", BackwardKernel);

    /// <summary>Log-softmax over each row in place: <c>x[r, j] = x[r, j] − m − log Σₖ e^(x[r, k] − m)</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> has another length than <c>rows · features</c> or lives on another context.</exception>
    public static void LogForward(DeviceContext context, DeviceSpan<float> x, int rows, int features) =>
        Rows(context, x, default, rows, features, "Softmax.LogForward", LogForwardKernel);

    /// <summary>The log-softmax gradient in place from the output: <c>g[r, j] −= e^(y[r, j])·Σₖ g[r, k]</c>.</summary>
    /// <exception cref="ArgumentException">A span has another length than <c>rows · features</c> or lives on another context.</exception>
    public static void LogBackward(DeviceContext context, DeviceSpan<float> g, DeviceSpan<float> y, int rows, int features) =>
        Rows(context, g, y, rows, features, "Softmax.LogBackward", LogBackwardKernel);

    private static void Rows(DeviceContext context, DeviceSpan<float> x, DeviceSpan<float> y, int rows, int features, string key,
        Action<Index1D, ArrayView<float>, ArrayView<float>, int> body)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(features);
        context.Check(x, nameof(x));
        context.Check(y, nameof(y));
        LinearKernels.CheckLength(x.Length, (long)rows * features, nameof(x));
        if (!y.IsEmpty || key.EndsWith("Backward", StringComparison.Ordinal))
        {
            LinearKernels.CheckLength(y.Length, (long)rows * features, nameof(y));
        }
        if (rows == 0 || features == 0)
        {
            return;
        }
        var kernel = context.Kernel(key, acc => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(body));
        kernel(rows, x.View(context.NoFloats), y.View(context.NoFloats), features);
    }

    internal static void ForwardKernel(Index1D r, ArrayView<float> x, ArrayView<float> unused, int features)
    {
        long row = (long)r.X * features;
        float max = GpuMath.RowMax(x, row, features);
        float sum = 0f;
        for (int j = 0; j < features; j++)
        {
            float e = GpuMath.Exp(x[row + j] - max);
            x[row + j] = e;
            sum += e;
        }
        for (int j = 0; j < features; j++)
        {
            x[row + j] /= sum;
        }
    }

    internal static void BackwardKernel(Index1D r, ArrayView<float> g, ArrayView<float> y, int features)
    {
        long row = (long)r.X * features;
        float dot = 0f;
        for (int j = 0; j < features; j++)
        {
            dot += g[row + j] * y[row + j];
        }
        for (int j = 0; j < features; j++)
        {
            g[row + j] = (g[row + j] - dot) * y[row + j];
        }
    }

    internal static void LogForwardKernel(Index1D r, ArrayView<float> x, ArrayView<float> unused, int features)
    {
        long row = (long)r.X * features;
        float max = GpuMath.RowMax(x, row, features);
        float sum = 0f;
        for (int j = 0; j < features; j++)
        {
            sum += GpuMath.Exp(x[row + j] - max);
        }
        float log = XMath.Log(sum);
        for (int j = 0; j < features; j++)
        {
            x[row + j] = x[row + j] - max - log;
        }
    }

    internal static void LogBackwardKernel(Index1D r, ArrayView<float> g, ArrayView<float> y, int features)
    {
        long row = (long)r.X * features;
        float sum = 0f;
        for (int j = 0; j < features; j++)
        {
            sum += g[row + j];
        }
        for (int j = 0; j < features; j++)
        {
            g[row + j] -= GpuMath.Exp(y[row + j]) * sum;
        }
    }
}
