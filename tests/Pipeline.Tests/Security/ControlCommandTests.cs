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
        Assert.DoesNotContain("401", outcome.StandardError);
        Assert.DoesNotContain("403", outcome.StandardError);
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
