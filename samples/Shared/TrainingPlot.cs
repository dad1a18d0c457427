using ScottPlot;

namespace CompiledNets.Samples;

/// <summary>
/// Writes the loss curve and a metric's curve (accuracy, RMSE) to a PNG with ScottPlot, headless: the loss on the
/// left axis, the metric on the right. Labels use the DejaVu Sans font shipped next to the sample (fonts/), so they
/// render on machines without any font installed.
/// </summary>
internal static class TrainingPlot
{
    /// <summary>The PNG's default size in pixels.</summary>
    public const int DefaultWidth = 800, DefaultHeight = 500;

    private const string FontName = "DejaVu Sans";
    private static readonly Lock s_fontLock = new();
    private static bool s_fontAdded;

    /// <summary>Saves <paramref name="history"/> as a PNG at <paramref name="path"/>.</summary>
    /// <param name="path">The file to write, e.g. <c>loss.png</c>; its folder must exist.</param>
    /// <param name="history">Epoch, training loss and metric (NaN where not measured) per epoch.</param>
    /// <param name="title">The plot's title.</param>
    /// <param name="metricName">The metric's axis label, e.g. <c>test accuracy</c>.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static void Save(string path, IReadOnlyList<(int Epoch, float Loss, float Metric)> history, string title, string metricName,
        int width = DefaultWidth, int height = DefaultHeight)
    {
        UseShippedFont();
        var plot = new Plot();
        plot.Font.Set(FontName);
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel("training loss");

        double[] epochs = history.Select(h => (double)h.Epoch).ToArray();
        var loss = plot.Add.Scatter(epochs, history.Select(h => (double)h.Loss).ToArray());
        loss.LegendText = "training loss";
        loss.MarkerSize = 0;
        loss.LineWidth = 2;

        var measured = history.Where(h => !float.IsNaN(h.Metric)).ToArray();
        if (measured.Length > 0)
        {
            var metric = plot.Add.Scatter(measured.Select(h => (double)h.Epoch).ToArray(), measured.Select(h => (double)h.Metric).ToArray());
            metric.LegendText = metricName;
            metric.MarkerSize = measured.Length > 50 ? 0 : 4;
            metric.LineWidth = 2;
            metric.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = metricName;
            plot.Axes.Right.Label.FontName = FontName;
        }
        plot.ShowLegend(Alignment.MiddleRight);
        plot.SavePng(path, width, height);
    }

    private static void UseShippedFont()
    {
        lock (s_fontLock)
        {
            if (s_fontAdded)
            {
                return;
            }
            string file = Path.Combine(AppContext.BaseDirectory, "fonts", "DejaVuSans.ttf");
            if (File.Exists(file))
            {
                Fonts.AddFontFile(FontName, file);
            }
            s_fontAdded = true;
        }
    }
}
