using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Pipeline.Tests.Cluster;

/// <summary>A <c>pipeline serve</c> process (the executable built next to the tests), its output kept for the test to read.</summary>
internal sealed class ServeProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly HttpClient http;

    private ServeProcess(Process process, int httpPort)
    {
        this.process = process;
        http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(3) };
    }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    public string Output
    {
        get
        {
            lock (output) return output.ToString();
        }
    }

    /// <summary>Starts <c>pipeline serve --roles ROLES --port 0 --http-port PORT</c> with <paramref name="environment"/>.</summary>
    public static ServeProcess Start(string roles, int httpPort, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "pipeline.dll"), "serve", "--roles", roles, "--port", "0", "--http-port", httpPort.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(argument);
        var serve = new ServeProcess(Process.Start(start)!, httpPort);
        serve.process.OutputDataReceived += (_, line) => serve.Append(line.Data);
        serve.process.ErrorDataReceived += (_, line) => serve.Append(line.Data);
        serve.process.BeginOutputReadLine();
        serve.process.BeginErrorReadLine();
        return serve;
    }

    /// <summary>True when <c>/readyz</c> answers 200.</summary>
    public async Task<bool> IsReadyAsync()
    {
        try
        {
            using var response = await http.GetAsync("/readyz");
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    public Task WaitUntilReadyAsync(TimeSpan timeout) =>
        TestNodes.WaitUntilAsync(async () => !process.HasExited && await IsReadyAsync(), timeout, () => Task.FromResult($"the node is not ready:\n{Output}"));

    /// <summary>Sends <paramref name="signal"/> (TERM, KILL) with <c>kill</c>, as an orchestrator or an operator would.</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var patience = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(patience.Token);
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.Dispose();
        http.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }
}
