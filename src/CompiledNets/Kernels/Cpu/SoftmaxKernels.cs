using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CompiledNets.Kernels.Cpu;

/// <summary>Row-wise softmax over the last dimension and its gradient (PyTorch: <c>torch.softmax(x, dim=1)</c>).</summary>
public static class SoftmaxKernels
{
    /// <summary>Rows up to this length are reduced with a scalar loop (a call into <see cref="TensorPrimitives"/> per row costs more).</summary>
    private const int ShortRow = 16;

    /// <summary>
    /// Cross-entropy of logits against class indices, the per-row losses and the gradient in one pass over the batch
    /// (PyTorch 1.13: <c>cross_entropy</c>, i.e. <c>log_softmax</c> + <c>nll_loss</c>, with <c>weight</c>,
    /// <c>ignore_index</c> and <c>label_smoothing</c>). Row <c>r</c>, label <c>y</c>, class weights <c>w</c> (all 1 when
    /// <paramref name="weight"/> is empty), <c>W = Σ w</c>, <c>m = max x</c>, <c>s = Σ exp(xⱼ − m)</c>, <c>lse = m + log s</c>,
    /// <c>pⱼ = exp(xⱼ − m) / s</c>:
    /// <c>rowLoss = (1 − ε)·w_y·(lse − x_y) + (ε / C)·Σⱼ wⱼ·(lse − xⱼ)</c> (summed in float64) and
    /// <c>grad[r, j] = (1 − ε)·w_y·(pⱼ − δⱼy) + (ε / C)·(W·pⱼ − wⱼ)</c>, the gradient of the row's loss (multiply by the
    /// upstream gradient, <c>1 / divisor</c> for the mean). Rows whose label is <paramref name="ignoreIndex"/> get a loss
    /// and a gradient of 0.
    /// </summary>
    /// <remarks>
    /// The row maxima and sums are scalar loops for short rows (the class count of a classifier); the exponentials are one
    /// <see cref="TensorPrimitives.Exp(ReadOnlySpan{float}, Span{float})"/> over the whole batch and the logarithms one
    /// <see cref="TensorPrimitives.Log(ReadOnlySpan{float}, Span{float})"/> over the row sums. The caller checks the
    /// labels (in [0, classes) or <paramref name="ignoreIndex"/>) and that the logits are finite.
    /// </remarks>
    /// <param name="logits">Logits, <c>[batch, classes]</c>, finite.</param>
    /// <param name="labels">Class indices, <c>[batch]</c>.</param>
    /// <param name="batch">Rows, ≥ 1.</param>
    /// <param name="classes">Classes C, ≥ 1.</param>
    /// <param name="weight">Class weights, <c>[classes]</c>, or empty for none.</param>
    /// <param name="ignoreIndex">The label of rows to skip.</param>
    /// <param name="labelSmoothing">ε in [0, 1].</param>
    /// <param name="rowLoss">Out: the loss of each row, <c>[batch]</c>.</param>
    /// <param name="grad">Out: the gradient of each row's loss with respect to its logits, <c>[batch, classes]</c>.</param>
    /// <param name="scratch">Scratch, at least <c>2·batch</c> values.</param>
    /// <returns>The divisor of the mean: <c>Σ w_y</c> over the rows not ignored (their count without weights).</returns>
    /// <exception cref="ArgumentException">A span is shorter than the sizes say.</exception>
    public static double CrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int batch, int classes,
        ReadOnlySpan<float> weight, int ignoreIndex, float labelSmoothing, Span<float> rowLoss, Span<float> grad, Span<float> scratch)
    {
        int n = batch * classes;
        if (batch < 1 || classes < 1 || logits.Length < n || labels.Length < batch || rowLoss.Length < batch || grad.Length < n ||
            scratch.Length < 2 * batch || (!weight.IsEmpty && weight.Length != classes))
        {
            throw new ArgumentException(
                $"CrossEntropy spans do not fit batch {batch} × classes {classes}: logits {logits.Length}, labels {labels.Length}, " +
                $"rowLoss {rowLoss.Length}, grad {grad.Length}, scratch {scratch.Length} (≥ {2 * batch}), weight {weight.Length}.");
        }
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated && weight.IsEmpty && labelSmoothing == 0f && classes <= ShortRow && batch >= Block)
        {
            // The plain loss: sixteen rows at a time, vectorised across rows; the rest below.
            int done = batch / Block * Block;
            double counted = PlainBlocks(logits, labels, done, classes, ignoreIndex, rowLoss, grad);
            return done == batch ? counted : counted + CrossEntropy(logits.Slice(done * classes), labels.Slice(done), batch - done, classes, weight, ignoreIndex,
                labelSmoothing, rowLoss.Slice(done), grad.Slice(done * classes), scratch);
        }
        Span<float> sums = scratch.Slice(0, batch), logSums = scratch.Slice(batch, batch);
        ref float x = ref MemoryMarshal.GetReference(logits);
        ref float g = ref MemoryMarshal.GetReference(grad);
        // 1. Row maxima (kept in rowLoss until step 3) and the shifted logits.
        for (int r = 0; r < batch; r++)
        {
            ref float row = ref Unsafe.Add(ref x, r * classes);
            ref float gr = ref Unsafe.Add(ref g, r * classes);
            float max;
            if (classes <= ShortRow)
            {
                max = row;
                for (int j = 1; j < classes; j++)
                {
                    max = MathF.Max(max, Unsafe.Add(ref row, j));
                }
                for (int j = 0; j < classes; j++)
                {
                    Unsafe.Add(ref gr, j) = Unsafe.Add(ref row, j) - max;
                }
            }
            else
            {
                max = TensorPrimitives.Max(logits.Slice(r * classes, classes));
                TensorPrimitives.Subtract(logits.Slice(r * classes, classes), max, grad.Slice(r * classes, classes));
            }
            rowLoss[r] = max;
        }
        // 2. One exp over the batch, then the row sums and one log over them.
        TensorPrimitives.Exp(grad.Slice(0, n), grad.Slice(0, n));
        for (int r = 0; r < batch; r++)
        {
            sums[r] = classes <= ShortRow ? ShortSum(ref Unsafe.Add(ref g, r * classes), classes) : TensorPrimitives.Sum(grad.Slice(r * classes, classes));
        }
        TensorPrimitives.Log(sums, logSums);
        // 3. Per row: the loss, and the gradient from the exponentials.
        float eps = labelSmoothing;
        bool weighted = !weight.IsEmpty;
        float totalWeight = weighted ? TensorPrimitives.Sum(weight) : classes;
        float smooth = eps / classes;
        double divisor = 0;
        for (int r = 0; r < batch; r++)
        {
            int label = labels[r];
            Span<float> gRow = grad.Slice(r * classes, classes);
            if (label == ignoreIndex)
            {
                rowLoss[r] = 0f;
                gRow.Clear();
                continue;
            }
            ReadOnlySpan<float> xRow = logits.Slice(r * classes, classes);
            float lse = rowLoss[r] + logSums[r];
            float wy = weighted ? weight[label] : 1f;
            divisor += wy;
            double value = (double)wy * (lse - xRow[label]);
            float a = (1 - eps) * wy;
            float scale = a / sums[r]; // pⱼ·a = exp(xⱼ − m)·a / s
            if (eps == 0f)
            {
                if (classes <= ShortRow)
                {
                    for (int j = 0; j < gRow.Length; j++)
                    {
                        gRow[j] *= scale;
                    }
                }
                else
                {
                    TensorPrimitives.Multiply(gRow, scale, gRow);
                }
                gRow[label] -= a;
            }
            else
            {
                double smoothSum = 0;
                float inv = 1f / sums[r];
                for (int j = 0; j < classes; j++)
                {
                    float wj = weighted ? weight[j] : 1f;
                    smoothSum += (double)wj * (lse - xRow[j]);
                    float p = gRow[j] * inv;
                    gRow[j] = a * p + smooth * (totalWeight * p - wj);
                }
                gRow[label] -= a;
                value = (1 - eps) * value + eps / classes * smoothSum;
            }
            rowLoss[r] = (float)value;
        }
        return divisor;
    }

    /// <summary>Rows per block of <see cref="PlainBlocks"/>: the lanes of a <see cref="Vector512{T}"/>.</summary>
    private const int Block = 16;

    /// <summary>
    /// <see cref="CrossEntropy"/> without weights or smoothing for <paramref name="batch"/> (a multiple of 16) rows of at
    /// most 16 classes: each block of 16 rows (<c>C</c> vectors of logits) is transposed by two-source permutes so that a
    /// vector holds one class of 16 rows; max, exp, sum, log, the loss and the gradient <c>pⱼ − δⱼy</c> are then
    /// lane-wise (exp and log in float, <see cref="VectorMathF"/>, within 2 ulp), and the gradient is permuted back
    /// to rows.
    /// </summary>
    private static unsafe double PlainBlocks(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int batch, int classes, int ignoreIndex,
        Span<float> rowLoss, Span<float> grad)
    {
        // The element at [row l, class j] of a block is at e = l·C + j: vector e >> 4, lane e & 15.
        // One slot more than the classes: the zero partner of the last pair when C is odd.
        Vector512<float>* rows = stackalloc Vector512<float>[ShortRow + 1];
        Vector512<float>* cols = stackalloc Vector512<float>[ShortRow + 1];
        // Back to rows: lane i of row vector k holds [l, j] with 16k + i = l·C + j; its index into the pair of class
        // vectors (j & ~1, j | 1) is l + 16·(j & 1), and the pair is j >> 1.
        Vector512<int>* backIndex = stackalloc Vector512<int>[ShortRow];
        Vector512<int>* backPair = stackalloc Vector512<int>[ShortRow];
        var lane = Vector512.CreateSequence(0, 1);
        for (int k = 0; k < classes; k++)
        {
            var e = lane + Vector512.Create(Block * k);
            var l = Vector512.ConvertToInt32(Vector512.Floor((Vector512.ConvertToSingle(e) + Vector512.Create(0.5f)) / classes));
            var j = e - l * classes;
            backIndex[k] = l + ((j & Vector512<int>.One) << 4);
            backPair[k] = j >> 1;
        }
        var laneC = lane * classes;
        ref float x = ref MemoryMarshal.GetReference(logits);
        ref float g = ref MemoryMarshal.GetReference(grad);
        ref int y = ref MemoryMarshal.GetReference(labels);
        ref float loss = ref MemoryMarshal.GetReference(rowLoss);
        var ignore = Vector512.Create(ignoreIndex);
        int counted = 0;
        int pairs = (classes + 1) >> 1;
        for (int r0 = 0; r0 < batch; r0 += Block)
        {
            ref float xb = ref Unsafe.Add(ref x, r0 * classes);
            for (int k = 0; k < classes; k++)
            {
                rows[k] = Vector512.LoadUnsafe(ref xb, (nuint)(k * Block));
            }
            rows[classes] = Vector512<float>.Zero;
            var label = Vector512.LoadUnsafe(ref y, (nuint)r0);
            var max = Vector512.Create(float.NegativeInfinity);
            for (int j = 0; j < classes; j++)
            {
                var e = laneC + Vector512.Create(j);
                var index = e & Vector512.Create(31);
                var pair = e >> 5;
                var c = Vector512<float>.Zero;
                for (int p = 0; p < pairs; p++)
                {
                    c = Vector512.ConditionalSelect(Vector512.Equals(pair, Vector512.Create(p)).AsSingle(),
                        Avx512F.PermuteVar16x32x2(rows[2 * p], index, rows[2 * p + 1]), c);
                }
                cols[j] = c;
                max = Vector512.Max(max, c);
            }
            var sum = Vector512<float>.Zero;
            var xy = Vector512<float>.Zero;
            for (int j = 0; j < classes; j++)
            {
                var xj = cols[j];
                xy = Vector512.ConditionalSelect(Vector512.Equals(label, Vector512.Create(j)).AsSingle(), xj, xy);
                var e = VectorMathF.Exp(xj - max);
                cols[j] = e;
                sum += e;
            }
            var keep = ~Vector512.Equals(label, ignore).AsSingle();
            var lse = max + VectorMathF.Log(sum);
            (keep & (lse - xy)).StoreUnsafe(ref loss, (nuint)r0);
            counted += BitOperations.PopCount(keep.ExtractMostSignificantBits());
            var inv = Vector512<float>.One / sum;
            for (int j = 0; j < classes; j++)
            {
                var gj = cols[j] * inv - (Vector512.Equals(label, Vector512.Create(j)).AsSingle() & Vector512<float>.One);
                cols[j] = keep & gj;
            }
            cols[classes] = Vector512<float>.Zero;
            ref float gb = ref Unsafe.Add(ref g, r0 * classes);
            for (int k = 0; k < classes; k++)
            {
                var index = backIndex[k];
                var pair = backPair[k];
                var o = Vector512<float>.Zero;
                for (int p = 0; p < pairs; p++)
                {
                    o = Vector512.ConditionalSelect(Vector512.Equals(pair, Vector512.Create(p)).AsSingle(),
                        Avx512F.PermuteVar16x32x2(cols[2 * p], index, cols[2 * p + 1]), o);
                }
                o.StoreUnsafe(ref gb, (nuint)(k * Block));
            }
        }
        return counted;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ShortSum(ref float row, int length)
    {
        float sum = 0f;
        for (int j = 0; j < length; j++)
        {
            sum += Unsafe.Add(ref row, j);
        }
        return sum;
    }

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
