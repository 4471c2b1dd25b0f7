using System.Diagnostics;
using Xunit;

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

    /// <summary>
    /// The command stopped on bad input as users should see it: exit code 2 and a message naming
    /// <paramref name="mentioned"/>, on one line when <paramref name="oneLine"/>, without a stack trace or exception type.
    /// </summary>
    public static void AssertUserError(Outcome outcome, string mentioned, bool oneLine = true)
    {
        Assert.True(outcome.ExitCode == 2, outcome.ToString());
        Assert.Contains(mentioned, outcome.StandardError);
        if (oneLine) Assert.Single(outcome.StandardError.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", outcome.StandardError);
        Assert.DoesNotContain("Exception", outcome.StandardError);
    }
}
