namespace CompiledNets.Samples.DeviceCheck;

/// <summary>
/// Every loss on a device tensor against the same loss on the host, at odd sizes, mean and sum: the value (the one
/// float that comes back) and the input gradient, within <see cref="ModelChecks.Tolerance"/> relative.
/// </summary>
internal static class LossChecks
{
    public static int Run(Device device, TextWriter log)
    {
        const int rows = 37, cols = 5;
        var g = new Generator(11);
        Tensor Fill(int r, int c, Func<float> next) => Tensor.FromArray(Enumerable.Range(0, r * c).Select(_ => next()).ToArray(), r, c);
        var logits = Fill(rows, cols, () => (float)(g.NextNormal() * 6));
        var probs = Fill(rows, cols, () => 0.02f + 0.96f * (float)g.NextDouble());
        var t = Fill(rows, cols, () => (float)g.NextDouble());
        var w = Fill(1, cols, () => 0.5f + 1.5f * (float)g.NextDouble()).Reshape(cols);
        var pos = Fill(1, cols, () => 0.3f + 2.7f * (float)g.NextDouble()).Reshape(cols);
        var labels = IntTensor.FromArray(Enumerable.Range(0, rows).Select(r => r % 7 == 3 ? -100 : g.NextInt(cols)).ToArray(), rows);
        var logProbs = Tensor.FromArray(logits.ToArray(), rows, cols);
        Kernels.Cpu.SoftmaxKernels.LogForward(logProbs.AsSpan(), rows, cols);
        double worst = 0;
        int failures = 0, count = 0;
        void Check(string name, Func<Reduction, LossFunction> create, Func<LossFunction, Tensor, Loss> forward, Tensor input)
        {
            foreach (var reduction in new[] { Reduction.Mean, Reduction.Sum })
            {
                count++;
                var host = create(reduction);
                var dev = create(reduction);
                float expected = forward(host, input).Item();
                using var onDevice = input.To(device);
                float actual = forward(dev, onDevice).Item();
                var up = new Tensor();
                up.AsSpan()[0] = 1f;
                float[] hg = host.InputGradFor(up).ToArray(), dg = dev.InputGradFor(up).ToArray();
                double scale = hg.Max(Math.Abs) + 1e-12;
                double error = Math.Max(Math.Abs(actual - expected) / (Math.Abs(expected) + 1e-7), hg.Zip(dg).Max(p => Math.Abs(p.First - p.Second)) / scale);
                worst = Math.Max(worst, error);
                if (!(error <= ModelChecks.Tolerance))
                {
                    failures++;
                    log.WriteLine($"  FAIL {name} {reduction} on {device}: loss {actual:R} vs {expected:R}, error {error:E2}");
                }
            }
        }
        Check("MSELoss", r => new MSELoss(r), (f, x) => ((MSELoss)f).Forward(x, t), logits);
        Check("L1Loss", r => new L1Loss(r), (f, x) => ((L1Loss)f).Forward(x, t), logits);
        Check("HuberLoss", r => new HuberLoss(r, 0.7f), (f, x) => ((HuberLoss)f).Forward(x, t), logits);
        Check("SmoothL1Loss", r => new SmoothL1Loss(r, 0.6f), (f, x) => ((SmoothL1Loss)f).Forward(x, t), logits);
        Check("BCELoss", r => new BCELoss(w, r), (f, x) => ((BCELoss)f).Forward(x, t), probs);
        Check("BCEWithLogitsLoss", r => new BCEWithLogitsLoss(w, r, pos), (f, x) => ((BCEWithLogitsLoss)f).Forward(x, t), logits);
        Check("CrossEntropyLoss", r => new CrossEntropyLoss(w, -100, r, 0.1f), (f, x) => ((CrossEntropyLoss)f).Forward(x, labels), logits);
        Check("NLLLoss", r => new NLLLoss(w, -100, r), (f, x) => ((NLLLoss)f).Forward(x, labels), logProbs);
        log.WriteLine($"  {(failures == 0 ? "ok  " : "FAIL")} {count} losses (8 kinds × mean, sum; weights, pos_weight, ignore index, smoothing) on {device}: value and input gradient, worst error {worst:E2}");
        return failures == 0 ? 0 : 1;
    }
}
