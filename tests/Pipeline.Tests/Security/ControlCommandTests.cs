using System.Net;
using Pipeline.Host.Security;
using Pipeline.Shared.Configuration;
using Pipeline.Tests.Cli;
using Pipeline.Tests.Cluster;
using Pipeline.Training.Registry;
using Xunit;

namespace Pipeline.Tests.Security;

/// <summary>
/// <c>pipeline token</c>, <c>pipeline refit</c> and <c>pipeline models --url</c> as an operator runs them, against a
/// secured training node; and nothing secret in anything the node or the commands write.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ControlCommandTests(SecuredTrainingNode node) : IClassFixture<SecuredTrainingNode>
{
    private string KeyFile => Path.Combine(node.KeysPath, node.Key.Id);

    private static string Issue(string keyFile, string role)
    {
        var outcome = PipelineProcess.Run("token", "--role", role, "--key-file", keyFile, "--expires", "30m", "--subject", "alice");
        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Contains($"{role} token for alice, signed with key 'key-1', valid until", outcome.StandardError);
        return outcome.StandardOutput.Trim();
    }

    [Fact]
    public async Task A_token_from_pipeline_token_is_accepted_by_the_node_with_its_role()
    {
        var viewer = Issue(KeyFile, AccessRoles.Viewer);

        using var http = node.Client(viewer);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/training/status")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.PostAsync("/training/refit", null)).StatusCode);
    }

    [Fact]
    public void Models_over_http_lists_with_a_viewer_token_and_promotes_with_an_operator_token_from_a_file()
    {
        using var folder = new TempFolder();
        var viewerFile = folder.Write("viewer.token", System.Text.Encoding.UTF8.GetBytes(node.Token(AccessRoles.Viewer) + "\n"));
        var operatorFile = folder.Write("operator.token", System.Text.Encoding.UTF8.GetBytes(node.Token(AccessRoles.Operator)));

        var list = PipelineProcess.Run("models", "list", "--url", node.Url, "--token-file", viewerFile);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains($"training node {node.Url}", list.StandardOutput);
        Assert.Contains("* v2", list.StandardOutput);
        Assert.Contains("  v1", list.StandardOutput);

        PipelineProcess.AssertUserError(PipelineProcess.Run("models", "promote", "v1", "--url", node.Url, "--token-file", viewerFile),
            $"{node.Url} refused the request (403): this needs a token with role operator; this token's role is viewer.");

        var promote = PipelineProcess.Run("models", "promote", "v1", "--url", node.Url, "--token-file", operatorFile);
        Assert.True(promote.ExitCode == 0, promote.ToString());
        Assert.Equal("current version: v1 (was v2)", promote.StandardOutput.Trim());
        var registry = ModelRegistry.Open(Path.Combine(node.Folder.Path, "registry"));
        Assert.Equal("v1", registry.Current?.Version);
        registry.Promote("v2");
    }

    [Fact]
    public async Task Products_lists_every_product_with_its_versions_to_a_viewer()
    {
        using var anonymous = node.Client();
        using var viewer = node.Client(node.Token(AccessRoles.Viewer));

        var listed = await viewer.GetStringAsync("/products");

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/products")).StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(listed);
        var products = json.RootElement.GetProperty("products").EnumerateArray()
            .Select(p => (p.GetProperty("product").GetString(), p.GetProperty("current").GetString(), p.GetProperty("previous").GetString(),
                string.Join(",", p.GetProperty("versions").EnumerateArray().Select(v => v.GetString()))))
            .ToArray();
        Assert.Equal([(SecuredTrainingNode.Product, "v1", null, "v1"), ("default", "v2", "v1", "v1,v2")], products);
    }

    [Fact]
    public async Task The_control_endpoints_act_on_the_product_named_by_the_query_and_refuse_an_unknown_or_invalid_one()
    {
        using var viewer = node.Client(node.Token(AccessRoles.Viewer));
        using var operatorClient = node.Client(node.Token(AccessRoles.Operator));
        var product = $"?product={SecuredTrainingNode.Product}";

        using var models = System.Text.Json.JsonDocument.Parse(await viewer.GetStringAsync("/models" + product));
        var status = System.Text.Json.JsonDocument.Parse(await viewer.GetStringAsync("/training/status" + product)).RootElement;
        var unknown = await viewer.GetAsync("/models?product=bracket-z");
        var invalid = await viewer.GetAsync("/training/status?product=Bracket_A");
        var rollback = await operatorClient.PostAsync("/models/rollback" + product, null);

        Assert.Equal((SecuredTrainingNode.Product, "v1"), (models.RootElement.GetProperty("product").GetString(), models.RootElement.GetProperty("current").GetString()));
        Assert.Equal(["v1"], models.RootElement.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()));
        Assert.Equal((SecuredTrainingNode.Product, "v1"), (status.GetProperty("product").GetString(), status.GetProperty("current_version").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("The training node has no product 'bracket-z'; it has bracket-a, default.", await unknown.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Contains("'Bracket_A' is not a product name", await invalid.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Conflict, rollback.StatusCode); // bracket-a has no earlier version: the default product's history is not its
        Assert.Contains("no earlier version to roll back to (current: v1)", await rollback.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("/training/refit" + product, null)).StatusCode);
        Assert.Equal("v2", ModelRegistry.Open(Path.Combine(node.Folder.Path, "registry")).Current?.Version);
    }

    [Fact]
    public void Models_and_refit_over_http_take_the_product()
    {
        var environment = new Dictionary<string, string> { ["PIPELINE_TOKEN"] = node.Token(AccessRoles.Operator) };

        var list = PipelineProcess.Run(environment, "models", "list", "--url", node.Url, "--product", SecuredTrainingNode.Product);
        var refit = PipelineProcess.Run(environment, "refit", "--url", node.Url, "--product", "bracket-z");

        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains($"training node {node.Url} (product {SecuredTrainingNode.Product})", list.StandardOutput);
        Assert.Contains("* v1", list.StandardOutput);
        PipelineProcess.AssertUserError(refit, $"{node.Url} refused (404): The training node has no product 'bracket-z'", oneLine: false);
    }

    [Fact]
    public void Refit_without_a_token_says_how_to_get_one()
    {
        PipelineProcess.AssertUserError(PipelineProcess.Run(new Dictionary<string, string> { ["PIPELINE_TOKEN"] = "" }, "refit", "--url", node.Url),
            $"{node.Url} needs an access token (401): pass --token-file <file> or set PIPELINE_TOKEN", oneLine: false);
    }

    [Fact]
    public void Refit_with_an_operator_token_from_the_environment_reaches_the_training_singleton()
    {
        // The tiny registry's model cannot be refitted here without samples: the node answers with the refit's outcome
        // (409, rejected), which only an operator gets to see.
        var outcome = PipelineProcess.Run(new Dictionary<string, string> { ["PIPELINE_TOKEN"] = node.Token(AccessRoles.Operator) }, "refit", "--url", node.Url);

        Assert.True(outcome.ExitCode is 0 or Host.Cli.RefitCommand.Rejected, outcome.ToString());
        // The refusals as the CLI words them ("… (401): …", "… (403): …"); the node's random port may hold the digits.
        Assert.DoesNotContain("(401)", outcome.StandardError);
        Assert.DoesNotContain("(403)", outcome.StandardError);
    }

    [Fact]
    public async Task Nothing_secret_is_logged_by_the_node_or_printed_by_the_commands()
    {
        // Every way a credential reaches the node: good and bad tokens of both roles, a tampered one, a CLI client, and
        // the credentials it holds (the SASL password it logs in to Kafka with, its TLS key, its signing key).
        var viewer = node.Token(AccessRoles.Viewer);
        var operatorToken = node.Token(AccessRoles.Operator);
        var expired = node.Token(AccessRoles.Operator, TimeSpan.FromMinutes(5), time: FixedClock.HoursAgo(1));
        var tampered = $"{viewer.Split('.')[0]}.{viewer.Split('.')[1]}.{operatorToken.Split('.')[2]}";
        var tokens = new[] { viewer, operatorToken, expired, tampered };
        foreach (var token in tokens)
        {
            using var http = node.Client(token);
            await http.GetAsync("/training/status");
            await http.PostAsync("/models/rollback", null);
            await http.PostAsync("/models/v2/promote", null);
        }
        var commands = new[]
        {
            PipelineProcess.Run(new Dictionary<string, string> { ["PIPELINE_TOKEN"] = viewer }, "refit", "--url", node.Url),
            PipelineProcess.Run(new Dictionary<string, string> { ["PIPELINE_TOKEN"] = expired }, "models", "list", "--url", node.Url),
            PipelineProcess.Run("token", "--role", "operator", "--key-file", KeyFile),
        };
        Assert.Contains("refused the request (403)", commands[0].StandardError);
        Assert.Contains("refused the token (401): the token expired at", commands[1].StandardError);
        // Kafka refused the SASL login (the mock has no SASL): the path where a client library would print credentials ran.
        await TestNodes.WaitUntilAsync(() => node.Logs.Text.Contains("SASL", StringComparison.Ordinal), TimeSpan.FromSeconds(20), () => "no SASL log line yet");

        var logs = node.Logs.Text;
        var keyText = File.ReadAllText(KeyFile).Trim();
        var tlsKeyLines = File.ReadAllLines(node.Certificates.KeyPath).Where(line => !line.StartsWith("-----", StringComparison.Ordinal)).ToArray();
        var secrets = new Dictionary<string, string>
        {
            ["the SASL password"] = node.SaslPassword,
            ["the signing key"] = keyText,
            ["the signing key (base64url)"] = keyText.TrimEnd('=').Replace('+', '-').Replace('/', '_'),
        };
        foreach (var (token, i) in tokens.Select((token, i) => (token, i)))
        {
            secrets[$"token {i}"] = token;
            secrets[$"token {i}'s signature"] = token.Split('.')[2];
        }
        foreach (var (line, i) in tlsKeyLines.Select((line, i) => (line, i))) secrets[$"line {i} of the TLS key"] = line;

        Assert.True(logs.Length > 10_000, "the node logged almost nothing; the scan would prove nothing");
        foreach (var (what, secret) in secrets)
        {
            Assert.False(logs.Contains(secret, StringComparison.Ordinal), $"the node's log contains {what}");
            Assert.All(commands.Take(2), command => Assert.DoesNotContain(secret, command.StandardOutput + command.StandardError));
        }
        Assert.DoesNotContain(keyText, commands[2].StandardOutput + commands[2].StandardError);
    }
}
