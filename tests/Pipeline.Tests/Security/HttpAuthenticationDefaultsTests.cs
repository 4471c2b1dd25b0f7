using System.Net;
using System.Text.Json;
using Pipeline.Host.Security;
using Pipeline.Shared.Configuration;
using Pipeline.Tests.Cluster;
using Xunit;

namespace Pipeline.Tests.Security;

/// <summary>What a node's HTTP endpoints do without signing keys, and with <c>/metrics</c> protected.</summary>
[Collection(ClusterCollection.Name)]
public sealed class HttpAuthenticationDefaultsTests
{
    private static async Task<T> WithNodeAsync<T>(Dictionary<string, string?> settings, Func<HttpClient, Task<T>> use)
    {
        var port = TestNodes.FreePort();
        var httpPort = TestNodes.FreePort();
        var node = TestNodes.Builder("inspection-auth-defaults", port, [ClusterRoles.Scoring], [port], httpPort, settings).Build();
        try
        {
            await node.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
            return await use(http);
        }
        finally
        {
            await TestNodes.StopAllAsync(node);
        }
    }

    private static string Reason(string body) => JsonDocument.Parse(body).RootElement.GetProperty("reason").GetString()!;

    [Fact]
    public async Task Without_signing_keys_no_token_is_accepted_and_the_probes_stay_open()
    {
        var key = new SigningKey("key-1", new byte[32]);
        var token = AccessTokens.Issue(key, AccessRoles.Operator, "someone", TimeSpan.FromMinutes(5), HttpAuthOptions.DefaultIssuer, HttpAuthOptions.DefaultIssuer);

        var (healthz, metrics, status, body) = await WithNodeAsync([], async http =>
        {
            var healthz = (await http.GetAsync("/healthz")).StatusCode;
            var metrics = (await http.GetAsync("/metrics")).StatusCode;
            using var request = new HttpRequestMessage(HttpMethod.Get, "/training/status") { Headers = { Authorization = new("Bearer", token) } };
            using var response = await http.SendAsync(request);
            return (healthz, metrics, response.StatusCode, await response.Content.ReadAsStringAsync());
        });

        Assert.Equal(HttpStatusCode.OK, healthz);
        Assert.Equal(HttpStatusCode.OK, metrics);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("this node accepts no tokens: it has no signing keys (Pipeline:Http:Auth:SigningKeysPath is not set)", Reason(body));
    }

    [Fact]
    public async Task Protected_metrics_need_a_viewer_token()
    {
        using var folder = new TempFolder();
        var key = SigningKeys.Generate(Path.Combine(folder.Path, "keys", "key-1"));
        var viewer = AccessTokens.Issue(key, AccessRoles.Viewer, "prometheus", TimeSpan.FromMinutes(5), HttpAuthOptions.DefaultIssuer, HttpAuthOptions.DefaultIssuer);
        var settings = new Dictionary<string, string?>
        {
            [$"{HttpAuthOptions.Section}:SigningKeysPath"] = Path.Combine(folder.Path, "keys"),
            [$"{HttpAuthOptions.Section}:ProtectMetrics"] = "true",
        };

        var (without, with, healthz) = await WithNodeAsync(settings, async http =>
        {
            var without = (await http.GetAsync("/metrics")).StatusCode;
            using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new("Bearer", viewer) } };
            var with = (await http.SendAsync(request)).StatusCode;
            return (without, with, (await http.GetAsync("/healthz")).StatusCode);
        });

        Assert.Equal(HttpStatusCode.Unauthorized, without);
        Assert.Equal(HttpStatusCode.OK, with);
        Assert.Equal(HttpStatusCode.OK, healthz);
    }
}
