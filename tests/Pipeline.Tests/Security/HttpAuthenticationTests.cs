using System.Net;
using System.Text.Json;
using Pipeline.Host.Security;
using Pipeline.Shared.Configuration;
using Pipeline.Tests.Cluster;
using Pipeline.Training.Registry;
using Xunit;

namespace Pipeline.Tests.Security;

/// <summary>
/// The control endpoints of a real node's HTTP server: probes open, everything else behind a bearer token; 401
/// without a valid one, 403 with too small a role, the reason in the body.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class HttpAuthenticationTests(SecuredTrainingNode node) : IClassFixture<SecuredTrainingNode>
{
    private static async Task<(HttpStatusCode Status, string Reason, string Body)> SendAsync(HttpClient http, HttpMethod method, string path)
    {
        using var response = await http.SendAsync(new HttpRequestMessage(method, path));
        var body = await response.Content.ReadAsStringAsync();
        var reason = body.StartsWith('{') && JsonDocument.Parse(body).RootElement.TryGetProperty("reason", out var r) ? r.GetString()! : "";
        return (response.StatusCode, reason, body);
    }

    [Fact]
    public async Task The_probes_and_metrics_answer_without_a_token()
    {
        using var http = node.Client();

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, "/healthz")).Status);
        Assert.NotEqual(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Get, "/readyz")).Status);
        var metrics = await SendAsync(http, HttpMethod.Get, "/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.Status);
        var expiry = new DateTimeOffset(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(node.Certificates.CertificatePath)).NotAfter.ToUniversalTime());
        Assert.Contains($"\npipeline_cluster_tls_certificate_expiry_timestamp_seconds {expiry.ToUnixTimeSeconds()}\n", metrics.Body);
    }

    [Theory]
    [InlineData("GET", "/training/status")]
    [InlineData("POST", "/training/refit")]
    [InlineData("GET", "/models")]
    [InlineData("POST", "/models/v1/promote")]
    [InlineData("POST", "/models/rollback")]
    [InlineData("GET", "/anything/else")]
    public async Task Without_a_token_every_other_endpoint_answers_401_saying_a_token_is_needed(string method, string path)
    {
        using var http = node.Client();

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        var (status, reason, _) = await SendAsync(http, new HttpMethod(method), path);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("this needs a bearer token", reason);
    }

    [Fact]
    public async Task A_viewer_reads_but_may_not_refit_promote_or_roll_back()
    {
        using var http = node.Client(node.Token(AccessRoles.Viewer));

        var status = await SendAsync(http, HttpMethod.Get, "/training/status");
        Assert.Equal(HttpStatusCode.OK, status.Status);
        Assert.Equal("v2", JsonDocument.Parse(status.Body).RootElement.GetProperty("current_version").GetString());
        var models = await SendAsync(http, HttpMethod.Get, "/models");
        Assert.Equal(HttpStatusCode.OK, models.Status);
        Assert.Equal(["v1", "v2"], JsonDocument.Parse(models.Body).RootElement.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()));

        foreach (var path in new[] { "/training/refit", "/models/v1/promote", "/models/rollback" })
        {
            var refused = await SendAsync(http, HttpMethod.Post, path);
            Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
            Assert.Equal("this needs a token with role operator; this token's role is viewer", refused.Reason);
        }
        Assert.Equal("v2", ModelRegistry.Open(Path.Combine(node.Folder.Path, "registry")).Current?.Version);
    }

    [Fact]
    public async Task An_operator_promotes_and_rolls_back_and_each_change_is_logged_with_who_made_it()
    {
        using var http = node.Client(node.Token(AccessRoles.Operator));
        var registry = ModelRegistry.Open(Path.Combine(node.Folder.Path, "registry"));

        var promoted = await SendAsync(http, HttpMethod.Post, "/models/v1/promote");
        Assert.Equal(HttpStatusCode.OK, promoted.Status);
        Assert.Equal("v1", registry.Current?.Version);
        var rolledBack = await SendAsync(http, HttpMethod.Post, "/models/rollback");
        Assert.Equal(HttpStatusCode.OK, rolledBack.Status);
        Assert.Equal("v2", registry.Current?.Version);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(http, HttpMethod.Post, "/models/v9/promote")).Status);

        Assert.Contains(node.Logs.Entries, entry => entry.Message.Contains("Model registry: promote v1 by test-operator over HTTP; current version v1 (was v2)", StringComparison.Ordinal));
    }

    public static TheoryData<string, string> BadTokens => new()
    {
        { "expired", "the token expired at" },
        { "unknown key", "the token is not signed by any key this node knows" },
        { "other audience", "the token's audience is not inspection-pipeline" },
        { "tampered", "the token is not signed by any key this node knows" },
        { "not a token", "the token is not a valid access token of this cluster" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task A_token_that_is_not_valid_answers_401_saying_why(string kind, string said)
    {
        var operatorToken = node.Token(AccessRoles.Operator);
        var token = kind switch
        {
            "expired" => node.Token(AccessRoles.Operator, TimeSpan.FromHours(1), time: FixedClock.HoursAgo(2)),
            "unknown key" => node.Token(AccessRoles.Operator, key: new SigningKey("key-1", new byte[32])),
            "other audience" => node.Token(AccessRoles.Operator, audience: "another-cluster"),
            // An operator's signature under a viewer's claims.
            "tampered" => $"{node.Token(AccessRoles.Viewer).Split('.')[0]}.{node.Token(AccessRoles.Viewer).Split('.')[1]}.{operatorToken.Split('.')[2]}",
            _ => "hunter2",
        };
        using var http = node.Client(token);

        var (status, reason, _) = await SendAsync(http, HttpMethod.Get, "/training/status");

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains(said, reason);
    }

    [Fact]
    public async Task A_key_added_to_the_key_directory_is_accepted_and_a_removed_one_refused_without_a_restart()
    {
        var file = Path.Combine(node.KeysPath, "key-2");
        var fresh = new SigningKey("key-2", System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        using var http = node.Client(node.Token(AccessRoles.Viewer, key: fresh));
        async Task<HttpStatusCode> Status() => (await SendAsync(http, HttpMethod.Get, "/training/status")).Status;
        Assert.Equal(HttpStatusCode.Unauthorized, await Status());

        File.WriteAllText(file, Convert.ToBase64String(fresh.Bytes));
        await TestNodes.WaitUntilAsync(async () => await Status() == HttpStatusCode.OK, TimeSpan.FromSeconds(15), async () => $"key-2 not accepted: {await Status()}");
        File.Delete(file);
        await TestNodes.WaitUntilAsync(async () => await Status() == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(15), async () => $"key-2 still accepted: {await Status()}");

        Assert.Contains(node.Logs.Entries, entry => entry.Message.Contains("Signing keys are now key-1, key-2 (were key-1)", StringComparison.Ordinal));
    }
}
