using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Pipeline.Tests.Deploy;
using Xunit;

namespace Pipeline.Tests.Console;

/// <summary>
/// Runs tests/console-browser/drive-console.js: playwright-core from npm driving the system's chromium, headless. Needs
/// Node.js, <c>npm ci</c> in that folder and Debian's <c>chromium</c> (.ci/run installs all three).
/// </summary>
internal static class ConsoleBrowser
{
    public static string Folder { get; } = Path.Combine(DeployFiles.RepositoryRoot, "tests", "console-browser");

    public static string Chromium { get; } = Environment.GetEnvironmentVariable("CHROMIUM") ?? "/usr/bin/chromium";

    /// <summary>Fails the test, saying what to install, unless the browser, Node.js and playwright-core are there; call it first.</summary>
    public static void AssertInstalled()
    {
        if (!File.Exists(Chromium))
            Assert.Fail($"No browser at {Chromium}: install Debian's chromium (apt-get install -y --no-install-recommends chromium; .ci/run does it) or set CHROMIUM.");
        if (!File.Exists(Path.Combine(Folder, "node_modules", "playwright-core", "package.json")))
            Assert.Fail($"playwright-core is not installed in {Folder}: run `npm ci` there (.ci/run does it before the tests).");
    }

    /// <summary>Runs the script with <paramref name="arguments"/>; its one line of JSON, or a failed test with its error output.</summary>
    public static async Task<JsonElement> RunAsync(IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("drive-console.js");
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.ArgumentList.Add("--browser");
        start.ArgumentList.Add(Chromium);
        start.ArgumentList.Add("--timeout-ms");
        start.ArgumentList.Add(((int)timeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"`node` could not be started ({e.Message}); install Node.js (Debian: apt-get install -y nodejs npm).");
            throw;
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            using var patience = new CancellationTokenSource(timeout + TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(patience.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"drive-console.js did not end in time: {await errors}");
            }
            Assert.True(process.ExitCode == 0, $"drive-console.js exited {process.ExitCode}: {await errors}");
            using var document = JsonDocument.Parse(await output);
            return document.RootElement.Clone();
        }
    }
}
