namespace CompiledNets;

/// <summary>Gradient clipping (PyTorch: <c>torch.nn.utils.clip_grad_norm_</c>, <c>clip_grad_value_</c>).</summary>
/// <remarks>Call between <c>loss.Backward()</c> and <c>opt.Step()</c>. Frozen parameters (<see cref="Parameter.RequiresGrad"/> false) are left out, as PyTorch leaves out parameters without a <c>grad</c>.</remarks>
public static class NNUtils
{
    /// <summary>
    /// Scales the gradients of <paramref name="parameters"/> in place so that their joint norm is at most <paramref name="maxNorm"/>
    /// (PyTorch 1.13: <c>clip_grad_norm_</c>): <c>total = ‖(‖g₁‖ₚ, …, ‖gₙ‖ₚ)‖ₚ</c> (<c>max |g|</c> for p = ∞), then every gradient is
    /// multiplied by <c>min(maxNorm / (total + 1e−6), 1)</c>.
    /// </summary>
    /// <param name="parameters">The parameters, e.g. <c>net.Parameters()</c>.</param>
    /// <param name="maxNorm">The largest norm allowed.</param>
    /// <param name="normType">p: 2 (default), 1, any p &gt; 0, or <see cref="float.PositiveInfinity"/>.</param>
    /// <param name="errorIfNonfinite">Throw when the total norm is NaN or infinite (default false: then, as in PyTorch, the gradients become NaN).</param>
    /// <returns>The total norm before clipping (0 when there are no trained parameters).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is negative or NaN, or <paramref name="normType"/> is not &gt; 0.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="errorIfNonfinite"/> and the total norm is NaN or infinite; nothing was changed.</exception>
    public static float ClipGradNorm(IEnumerable<Parameter> parameters, float maxNorm, float normType = 2f, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "max_norm must be ≥ 0.");
        }
        if (!(normType > 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(normType), normType, "norm_type must be > 0 (or float.PositiveInfinity).");
        }
        var trained = parameters.Where(p => p.RequiresGrad).ToList();
        if (trained.Count == 0)
        {
            return 0f;
        }
        double total;
        if (float.IsPositiveInfinity(normType))
        {
            total = 0;
            foreach (var p in trained)
            {
                foreach (float g in p.Grad)
                {
                    double a = Math.Abs((double)g);
                    total = double.IsNaN(a) || a > total ? a : total;
                    if (double.IsNaN(total))
                    {
                        break;
                    }
                }
            }
        }
        else
        {
            double sum = 0;
            foreach (var p in trained)
            {
                double own = 0;
                foreach (float g in p.Grad)
                {
                    own += normType == 2f ? (double)g * g : normType == 1f ? Math.Abs((double)g) : Math.Pow(Math.Abs((double)g), normType);
                }
                // Each parameter's norm is rounded to float32 before the norm of norms, as PyTorch stacks float32 norms.
                float ownNorm = (float)(normType == 2f ? Math.Sqrt(own) : normType == 1f ? own : Math.Pow(own, 1.0 / normType));
                sum += normType == 2f ? (double)ownNorm * ownNorm : normType == 1f ? ownNorm : Math.Pow(ownNorm, normType);
            }
            total = normType == 2f ? Math.Sqrt(sum) : normType == 1f ? sum : Math.Pow(sum, 1.0 / normType);
        }
        float totalNorm = (float)total;
        if (errorIfNonfinite && !float.IsFinite(totalNorm))
        {
            throw new InvalidOperationException(
                $"The total norm of order {normType} of the gradients is {totalNorm}, so they cannot be clipped (PyTorch: error_if_nonfinite=True). " +
                "A NaN or infinite gradient usually means the loss diverged: lower the learning rate or check the inputs.");
        }
        float coef = maxNorm / (totalNorm + 1e-6f);
        if (!(coef >= 1f))
        {
            foreach (var p in trained)
            {
                var g = p.Grad;
                System.Numerics.Tensors.TensorPrimitives.Multiply(g, coef, g);
            }
        }
        return totalNorm;
    }

    /// <summary>Clamps every gradient value of <paramref name="parameters"/> to [−<paramref name="clipValue"/>, <paramref name="clipValue"/>] in place (PyTorch: <c>clip_grad_value_</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipValue"/> is negative or NaN.</exception>
    public static void ClipGradValue(IEnumerable<Parameter> parameters, float clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "clip_value must be ≥ 0.");
        }
        foreach (var p in parameters.Where(p => p.RequiresGrad))
        {
            var g = p.Grad;
            System.Numerics.Tensors.TensorPrimitives.Clamp(g, -clipValue, clipValue, g);
        }
    }
}
