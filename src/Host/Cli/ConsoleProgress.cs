using System.Diagnostics;
using Pipeline.Shared.Progress;

namespace Pipeline.Host.Cli;

/// <summary>
/// Progress on standard error: one line per stage at most every few seconds (so logs stay readable when
/// output is redirected), with rate and time left, and always the stage's last step.
/// </summary>
public sealed class ConsoleProgress(TextWriter output, TimeSpan interval) : IWorkProgressSink
{
    private readonly Dictionary<string, (Stopwatch Clock, TimeSpan? LastShown)> stages = new();

    public static ConsoleProgress ToStandardError() => new(Console.Error, TimeSpan.FromSeconds(3));

    public void Report(WorkProgress progress)
    {
        if (!stages.TryGetValue(progress.Stage, out var stage))
        {
            stage = (Stopwatch.StartNew(), null);
            stages[progress.Stage] = stage;
            if (progress.Done == 0) return; // the stage's start: its clock runs from here
        }
        var elapsed = stage.Clock.Elapsed;
        var finished = progress.Done >= progress.Total;
        if (!finished && stage.LastShown is { } last && elapsed - last < interval) return;
        stages[progress.Stage] = (stage.Clock, elapsed);

        var perSecond = progress.Done / Math.Max(elapsed.TotalSeconds, 1e-3);
        var left = perSecond > 0 ? TimeSpan.FromSeconds((progress.Total - progress.Done) / perSecond) : TimeSpan.Zero;
        var detail = progress.Detail is null ? "" : $"  {progress.Detail}";
        var timing = finished ? $"done in {Format(elapsed)}" : $"{perSecond:0.0}/s, {Format(left)} left";
        output.WriteLine($"[{progress.Stage}] {progress.Done}/{progress.Total} ({100.0 * progress.Done / Math.Max(1, progress.Total):0}%) {timing}{detail}");
    }

    public void Note(string message) => output.WriteLine(message);

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");
}
