using System.Diagnostics;
using System.Text;
using Xunit;

namespace Pipeline.Tests.Console;

/// <summary>
/// <c>pipeline demo --stay</c> as a separate process: its output line by line as it comes, the addresses it prints,
/// and a stop by SIGTERM as a service manager would send it.
/// </summary>
internal sealed class DemoProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly List<string> lines = [];
    private TaskCompletionSource nextLine = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool outputEnded;

    private DemoProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => TakeOutput(e.Data);
        process.ErrorDataReceived += (_, e) => Take(e.Data, error: true);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static DemoProcess Start(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        start.ArgumentList.Add("demo");
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return new DemoProcess(Process.Start(start)!);
    }

    public string Output
    {
        get
        {
            lock (output) return output.ToString();
        }
    }

    /// <summary>The first line of standard output that starts with <paramref name="prefix"/>, once it has come.</summary>
    public async Task<string> LineAsync(string prefix, TimeSpan timeout)
    {
        using var patience = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                Task arrived;
                bool ended;
                lock (output)
                {
                    if (lines.FirstOrDefault(line => line.StartsWith(prefix, StringComparison.Ordinal)) is { } line) return line;
                    (arrived, ended) = (nextLine.Task, outputEnded);
                }

                if (ended)
                {
                    await process.WaitForExitAsync(patience.Token);
                    Assert.Fail($"pipeline demo exited {process.ExitCode} before printing '{prefix}':\n{Output}");
                }

                await arrived.WaitAsync(patience.Token);
            }
        }
        catch (OperationCanceledException) when (patience.IsCancellationRequested)
        {
            Assert.Fail($"pipeline demo did not print '{prefix}' within {timeout.TotalSeconds:0} s:\n{Output}");
            return "";
        }
    }

    /// <summary>Sends SIGTERM and waits for the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        using var patience = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(patience.Token);
        return process.ExitCode;
    }

    /// <summary>A line of standard output (null: the output ended), and a wake-up for <see cref="LineAsync"/>.</summary>
    private void TakeOutput(string? line)
    {
        Take(line);
        lock (output)
        {
            outputEnded |= line is null;
            var arrived = nextLine;
            nextLine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            arrived.SetResult();
        }
    }

    private void Take(string? line, bool error = false)
    {
        if (line is null) return;
        lock (output)
        {
            output.AppendLine(error ? $"[stderr] {line}" : line);
            if (!error) lines.Add(line);
        }
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.Dispose();
    }
}
