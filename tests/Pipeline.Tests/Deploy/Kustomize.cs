using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Pipeline.Tests.Deploy;

/// <summary>
/// Renders a Kustomize directory with the real <c>kubectl kustomize</c> (kubectl with Kustomize v4 or newer on the
/// PATH; the machine image has kubectl 1.32 with Kustomize v5.5) and reads its output into JSON nodes with
/// <see cref="YamlDocuments"/>. Each directory is rendered once per test run.
/// </summary>
internal static class Kustomize
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);
    private static readonly ConcurrentDictionary<string, Lazy<IReadOnlyList<JsonNode>>> Rendered = new(StringComparer.Ordinal);

    /// <summary>The objects the kustomization in <paramref name="directory"/> renders, in kubectl's order; a fresh copy each call.</summary>
    /// <exception cref="InvalidDataException">kubectl refused the kustomization; the message has kubectl's own.</exception>
    public static List<JsonObject> Render(string directory)
    {
        var rendered = Rendered.GetOrAdd(Path.GetFullPath(directory), path => new Lazy<IReadOnlyList<JsonNode>>(() => Run(path))).Value;
        return rendered.Select(node => node.DeepClone().AsObject()).ToList();
    }

    private static IReadOnlyList<JsonNode> Run(string directory)
    {
        var (exitCode, output, errors) = Kubectl("kustomize", directory);
        if (exitCode != 0)
        {
            var (_, version, _) = Kubectl("version", "--client");
            throw new InvalidDataException(
                $"kubectl kustomize {directory} failed (exit code {exitCode}): {errors.Trim()}\n" +
                $"kubectl on the PATH: {version.Trim()}. The manifests need Kustomize v4 or newer (kubectl 1.21+); " +
                "Debian 12's kubernetes-client 1.20 bundles Kustomize v2.0.3, which cannot read them.");
        }

        return YamlDocuments.Parse(output, $"kubectl kustomize {directory}");
    }

    private static (int ExitCode, string Output, string Errors) Kubectl(params string[] arguments)
    {
        var start = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                "The deployment tests render k8s/ with `kubectl kustomize`, but kubectl is not on the PATH " +
                $"({e.Message}). Install kubectl 1.21 or newer (Kustomize v4+); .ci/run says how.", e);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(Patience))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"kubectl {string.Join(' ', arguments)} did not finish in {Patience.TotalSeconds:0} s.");
            }

            return (process.ExitCode, output.GetAwaiter().GetResult(), errors.GetAwaiter().GetResult());
        }
    }
}
