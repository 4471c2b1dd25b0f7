using System.Diagnostics;

namespace Pipeline.Tests.Cli;

/// <summary>Runs the real `pipeline` executable (built next to the tests) as a separate process.</summary>
public static class PipelineProcess
{
    public sealed record Outcome(int ExitCode, string StandardOutput, string StandardError)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
    }

    public static Outcome Run(params string[] arguments) => Run(new Dictionary<string, string>(), arguments);

    /// <summary>Runs with extra environment variables (configuration such as <c>Pipeline__Cluster__Port</c>).</summary>
    public static Outcome Run(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"pipeline {string.Join(' ', arguments)} did not finish in 5 minutes");
        }
        return new Outcome(process.ExitCode, stdout.Result, stderr.Result);
    }
}
