using System.Net;
using System.Net.Sockets;
using Pipeline.Host.Security;
using Pipeline.Shared.Configuration;

namespace Pipeline.Host.Demo;

/// <summary>
/// The demo's operator console: the node's HTTP endpoints on 127.0.0.1, a signing key made for this run (in a
/// temporary folder, removed afterwards) and login links with tokens signed by it, for an operator and for a viewer.
/// </summary>
internal sealed class DemoConsole : IDisposable
{
    /// <summary>How long the demo's login links work.</summary>
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(12);

    private readonly string keyFolder;
    private readonly SigningKey key;

    private DemoConsole(string keyFolder, SigningKey key, int port)
    {
        this.keyFolder = keyFolder;
        this.key = key;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Makes the key and adds the node's HTTP settings to <paramref name="settings"/>; <paramref name="port"/> 0 takes a free port.</summary>
    public static DemoConsole Create(IDictionary<string, string?> settings, int port)
    {
        var folder = Directory.CreateTempSubdirectory("pipeline-demo-keys-").FullName;
        var key = SigningKeys.Generate(Path.Combine(folder, "demo"));
        var console = new DemoConsole(folder, key, port == 0 ? FreePort() : port);
        settings[$"{HttpOptions.Section}:Port"] = console.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings[$"{HttpOptions.Section}:BindAddress"] = "127.0.0.1";
        settings[$"{HttpAuthOptions.Section}:SigningKeysPath"] = folder;
        return console;
    }

    /// <summary>The lines that tell a person where the console is: an operator's login link and a viewer's.</summary>
    public IEnumerable<string> LoginLines()
    {
        yield return $"console at {Url}/?token={Token(AccessRoles.Operator)}";
        yield return $"console for a viewer (sees, cannot label or change models) at {Url}/?token={Token(AccessRoles.Viewer)}";
    }

    private string Token(string role) =>
        AccessTokens.Issue(key, role, $"demo-{role}", TokenLifetime, HttpAuthOptions.DefaultIssuer, HttpAuthOptions.DefaultIssuer);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(keyFolder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
