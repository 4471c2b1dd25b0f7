using System.Diagnostics;

namespace Pipeline.Host.Hosting;

/// <summary>Starting this executable again as a child process (a scoring node of the demo, a benchmark's stream), the way it was started itself.</summary>
public static class PipelineChildProcess
{
    /// <summary>
    /// How to start <c>pipeline</c> with <paramref name="arguments"/>, its output redirected: the same executable, and
    /// when it was started as <c>dotnet pipeline.dll</c>, the same assembly through <c>dotnet</c>.
    /// </summary>
    /// <param name="purpose">What the child is for, for the error when this process's path is unknown.</param>
    public static ProcessStartInfo StartInfo(string purpose, IEnumerable<string> arguments)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException($"The path of this process is unknown: cannot start {purpose}.");
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(PipelineChildProcess).Assembly.Location);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return start;
    }
}
