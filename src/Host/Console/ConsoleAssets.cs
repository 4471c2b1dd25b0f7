using System.Net;
using System.Reflection;

namespace Pipeline.Host.OperatorConsole;

/// <summary>A file of the console's page, embedded in the executable.</summary>
public sealed record ConsoleAsset(byte[] Bytes, string ContentType);

/// <summary>
/// The console's page, script and style (<c>src/Host/Console/wwwroot</c>), embedded in the executable so that the node
/// serves them from wherever it runs, with nothing to copy next to it.
/// </summary>
public static class ConsoleAssets
{
    private static readonly IReadOnlyDictionary<string, ConsoleAsset> Files = Load();

    /// <summary>The page (<c>index.html</c>).</summary>
    public static ConsoleAsset Page => Files["index.html"];

    /// <summary>The script or style named <paramref name="name"/> (<c>console.js</c>, <c>console.css</c>); null for any other name.</summary>
    public static ConsoleAsset? Find(string name) => name is "index.html" ? null : Files.GetValueOrDefault(name);

    /// <summary>The page shown instead of the console without a valid login, saying <paramref name="why"/>.</summary>
    public static string LoginPage(string why) =>
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\"><title>Inspection console: log in</title>" +
        "<link rel=\"stylesheet\" href=\"/console/assets/console.css\"></head><body><main><h1>Inspection console</h1>" +
        $"<p id=\"login-problem\">{WebUtility.HtmlEncode(why)}</p>" +
        "<p class=\"hint\">A login link is the node's address with <code>/?token=</code> and an access token: viewers see, operators also label, refit, promote and roll back.</p>" +
        "</main></body></html>";

    private static Dictionary<string, ConsoleAsset> Load()
    {
        const string prefix = "Pipeline.Host.Console.wwwroot.";
        var assembly = typeof(ConsoleAssets).Assembly;
        var files = new Dictionary<string, ConsoleAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(name => name.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var name = resource[prefix.Length..];
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name] = new ConsoleAsset(copy.ToArray(), ContentTypeOf(name));
        }
        if (!files.ContainsKey("index.html"))
            throw new InvalidOperationException($"The console's page is not embedded in {assembly.GetName().Name} (resources {prefix}*): the build is broken.");
        return files;
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };
}
