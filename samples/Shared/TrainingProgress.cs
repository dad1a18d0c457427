using System.Globalization;
using Spectre.Console;

namespace CompiledNets.Samples;

/// <summary>
/// Shows training progress (epoch, loss and a metric such as test accuracy or RMSE) and keeps the history for
/// <see cref="TrainingPlot"/>. On a terminal it is a live bar (Spectre.Console); when the output is redirected or is not
/// the console (a file, a pipe, a test's <see cref="StringWriter"/>), it writes plain lines every few epochs instead.
/// </summary>
internal sealed class TrainingProgress
{
    private readonly TextWriter _output;
    private readonly int _lastEpoch;
    private readonly int _logEvery;
    private readonly string _metricName;
    private readonly int _refreshEvery;
    private ProgressTask? _bar;

    private TrainingProgress(TextWriter output, int firstEpoch, int lastEpoch, int logEvery, string metricName)
    {
        _output = output;
        _lastEpoch = lastEpoch;
        _logEvery = Math.Max(1, logEvery);
        _metricName = metricName;
        // Redraw the live bar about 200 times a run: often enough to watch, rare enough to cost nothing.
        _refreshEvery = Math.Max(1, (lastEpoch - firstEpoch + 1) / 200);
    }

    /// <summary>Each reported epoch, its training loss, and the metric (NaN where it was not measured).</summary>
    public List<(int Epoch, float Loss, float Metric)> History { get; } = [];

    /// <summary>Whether the output is a terminal that can show a live bar: the console, not redirected, interactive.</summary>
    public static bool IsLive(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>
    /// Runs <paramref name="train"/>, which trains epochs <paramref name="firstEpoch"/> … <paramref name="lastEpoch"/> and
    /// calls <see cref="Report"/> after each; a live bar is shown while it runs when <see cref="IsLive"/>.
    /// </summary>
    /// <returns>The progress, with its <see cref="History"/>.</returns>
    public static TrainingProgress Run(TextWriter output, int firstEpoch, int lastEpoch, int logEvery, string metricName, Action<TrainingProgress> train)
    {
        var progress = new TrainingProgress(output, firstEpoch, lastEpoch, logEvery, metricName);
        if (firstEpoch > lastEpoch || !IsLive(output))
        {
            train(progress);
            return progress;
        }
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                progress._bar = context.AddTask("training", maxValue: lastEpoch);
                progress._bar.Value = firstEpoch - 1;
                train(progress);
                progress._bar.StopTask();
            });
        return progress;
    }

    /// <summary>Whether the epoch gets a plain line or a bar update, so the caller can measure the metric only then.</summary>
    public bool WantsMetric(int epoch) => epoch == _lastEpoch || epoch % (_bar is null ? _logEvery : _refreshEvery) == 0;

    /// <summary>Records an epoch; writes a plain line every <c>logEvery</c> epochs and at the last, or updates the bar.</summary>
    /// <param name="epoch">The epoch just trained.</param>
    /// <param name="loss">Its training loss.</param>
    /// <param name="metric">The metric after it, or NaN when not measured.</param>
    /// <param name="extra">Text appended to the plain line (e.g. the epoch's time).</param>
    public void Report(int epoch, float loss, float metric = float.NaN, string extra = "")
    {
        History.Add((epoch, loss, metric));
        string metricText = float.IsNaN(metric) ? "" : string.Create(CultureInfo.InvariantCulture, $"  {_metricName} {metric:0.0000}");
        string line = string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch.ToString(CultureInfo.InvariantCulture).PadLeft(_lastEpoch.ToString(CultureInfo.InvariantCulture).Length)}/{_lastEpoch}  loss {loss:0.0000}{metricText}{extra}");
        if (_bar is not null)
        {
            _bar.Value = epoch;
            if (WantsMetric(epoch))
            {
                _bar.Description = Markup.Escape(line);
            }
        }
        else if (epoch % _logEvery == 0 || epoch == _lastEpoch)
        {
            _output.WriteLine(line);
        }
    }
}
