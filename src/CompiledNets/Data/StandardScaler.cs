using System.Globalization;

namespace CompiledNets.Data;

/// <summary>
/// Standardises features column by column, <c>z = (x − mean) / std</c>, with the mean and the population
/// standard deviation learned from the training data (scikit-learn: <c>sklearn.preprocessing.StandardScaler</c>).
/// </summary>
/// <remarks>
/// Fit on the training part only and apply the same transform to the test part, so no test statistics leak
/// into training. A column whose standard deviation is (nearly) zero is only centred, not divided, as
/// scikit-learn does (its <c>scale_</c> is 1 there). Statistics are accumulated in double precision.
/// </remarks>
public sealed class StandardScaler
{
    private float[]? _mean;
    private float[]? _std;
    private float[]? _scale;

    /// <summary>Whether <see cref="Fit"/> has been called.</summary>
    public bool IsFitted => _mean is not null;

    /// <summary>The number of feature columns seen by <see cref="Fit"/>.</summary>
    /// <exception cref="InvalidOperationException">Not fitted yet.</exception>
    public int FeatureCount => Checked(_mean).Length;

    /// <summary>Each column's mean, <c>[features]</c> (scikit-learn: <c>mean_</c>).</summary>
    /// <exception cref="InvalidOperationException">Not fitted yet.</exception>
    public ReadOnlySpan<float> Mean => Checked(_mean);

    /// <summary>Each column's population standard deviation, <c>sqrt(mean((x − mean)²))</c> (<c>ddof = 0</c>), <c>[features]</c>.</summary>
    /// <exception cref="InvalidOperationException">Not fitted yet.</exception>
    public ReadOnlySpan<float> Std => Checked(_std);

    /// <summary>The divisor of each column: <see cref="Std"/>, or 1 where it is (nearly) zero (scikit-learn: <c>scale_</c>).</summary>
    /// <exception cref="InvalidOperationException">Not fitted yet.</exception>
    public ReadOnlySpan<float> Scale => Checked(_scale);

    /// <summary>Learns each column's mean and standard deviation from <paramref name="features"/>.</summary>
    /// <param name="features">Training features, <c>[n, features]</c> with n ≥ 1.</param>
    /// <returns>This scaler.</returns>
    /// <exception cref="ArgumentException"><paramref name="features"/> is not two-dimensional or has no rows.</exception>
    public StandardScaler Fit(Tensor features)
    {
        var (rows, cols) = CheckShape(features, expectedCols: null);
        if (rows == 0)
        {
            throw new ArgumentException("StandardScaler.Fit needs at least one row; got 0.", nameof(features));
        }
        ReadOnlySpan<float> x = features.AsSpan();
        var sum = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = x.Slice(r * cols, cols);
            for (int c = 0; c < cols; c++)
            {
                sum[c] += row[c];
            }
        }
        var squares = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = x.Slice(r * cols, cols);
            for (int c = 0; c < cols; c++)
            {
                double d = row[c] - sum[c] / rows;
                squares[c] += d * d;
            }
        }
        _mean = new float[cols];
        _std = new float[cols];
        _scale = new float[cols];
        for (int c = 0; c < cols; c++)
        {
            double mean = sum[c] / rows;
            double variance = squares[c] / rows;
            double std = Math.Sqrt(variance);
            _mean[c] = (float)mean;
            _std[c] = (float)std;
            // scikit-learn's _is_constant_feature: a variance within the rounding error of its computation is zero.
            const double eps = 2.220446049250313e-16;
            bool constant = variance <= rows * eps * variance + (rows * mean * eps) * (rows * mean * eps);
            _scale[c] = constant ? 1f : (float)std;
        }
        return this;
    }

    /// <summary>Standardises <paramref name="features"/> with the learned statistics into a new tensor.</summary>
    /// <param name="features">Features, <c>[n, FeatureCount]</c>.</param>
    /// <returns>A new tensor of the same shape: <c>(x − Mean) / Scale</c>.</returns>
    /// <exception cref="InvalidOperationException">Not fitted yet.</exception>
    /// <exception cref="ArgumentException">The shape is not <c>[n, FeatureCount]</c>.</exception>
    public Tensor Transform(Tensor features)
    {
        float[] mean = Checked(_mean), scale = _scale!;
        var (rows, cols) = CheckShape(features, mean.Length);
        ReadOnlySpan<float> x = features.AsSpan();
        var result = new float[x.Length];
        for (int r = 0; r < rows; r++)
        {
            int o = r * cols;
            for (int c = 0; c < cols; c++)
            {
                result[o + c] = (x[o + c] - mean[c]) / scale[c];
            }
        }
        return Tensor.FromArray(result, rows, cols);
    }

    /// <summary><see cref="Fit"/> then <see cref="Transform"/> on the same data (scikit-learn: <c>fit_transform</c>).</summary>
    /// <exception cref="ArgumentException"><paramref name="features"/> is not two-dimensional or has no rows.</exception>
    public Tensor FitTransform(Tensor features) => Fit(features).Transform(features);

    /// <summary>Undoes <see cref="Transform"/>: <c>z · Scale + Mean</c>, into a new tensor.</summary>
    /// <exception cref="InvalidOperationException">Not fitted yet.</exception>
    /// <exception cref="ArgumentException">The shape is not <c>[n, FeatureCount]</c>.</exception>
    public Tensor InverseTransform(Tensor features)
    {
        float[] mean = Checked(_mean), scale = _scale!;
        var (rows, cols) = CheckShape(features, mean.Length);
        ReadOnlySpan<float> z = features.AsSpan();
        var result = new float[z.Length];
        for (int r = 0; r < rows; r++)
        {
            int o = r * cols;
            for (int c = 0; c < cols; c++)
            {
                result[o + c] = z[o + c] * scale[c] + mean[c];
            }
        }
        return Tensor.FromArray(result, rows, cols);
    }

    private static (int Rows, int Cols) CheckShape(Tensor features, int? expectedCols)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank != 2 || (expectedCols is int e && features.Size(1) != e))
        {
            string expected = expectedCols is int k ? $"[n, {k.ToString(CultureInfo.InvariantCulture)}] (the column count seen by Fit)" : "[n, features]";
            throw new ArgumentException(
                $"StandardScaler expects features {expected}; got {Tensor.ShapeString(features.Shape)}.", nameof(features));
        }
        return (features.Size(0), features.Size(1));
    }

    private static float[] Checked(float[]? values) =>
        values ?? throw new InvalidOperationException("This StandardScaler is not fitted yet; call Fit on the training features first.");
}
