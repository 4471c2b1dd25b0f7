using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Pipeline.Host.Security;
using Pipeline.Shared;
using Pipeline.Shared.Configuration;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline token</c>: issues an access token for the nodes' HTTP endpoints, signed with one of the cluster's signing
/// keys (the token on standard output and nothing else, so that <c>export PIPELINE_TOKEN=$(pipeline token …)</c> works;
/// what it is for on standard error). <c>pipeline token new-key &lt;file&gt;</c> makes a new signing key. Issuer and
/// audience come from <c>Pipeline:Http:Auth</c> (appsettings.json, environment), as the nodes read them.
/// </summary>
public static partial class TokenCommand
{
    public static Command Create()
    {
        var role = new Option<string>("--role") { Description = $"what the token may do: {AccessRoles.Viewer} (read) or {AccessRoles.Operator} (read, refit, promote, roll back)", Required = true };
        role.AcceptOnlyFromAmong([.. AccessRoles.All]);
        var keyFile = new Option<string>("--key-file") { Description = "the signing key to sign with, a file of the nodes' key directory (Pipeline:Http:Auth:SigningKeysPath)", Required = true };
        var expires = new Option<string>("--expires") { Description = $"lifetime: minutes (30m), hours (8h) or days (7d), at most {AccessTokens.MaximumLifetime.TotalDays:0} days", DefaultValueFactory = _ => "8h" };
        var subject = new Option<string>("--subject") { Description = "who holds the token, for the nodes' logs (default: your user name)", DefaultValueFactory = _ => Environment.UserName };
        var command = new Command("token", "Issue an access token for the nodes' HTTP endpoints (printed on standard output), or make a signing key (new-key).")
        {
            role, keyFile, expires, subject,
        };
        command.Subcommands.Add(NewKey());
        command.SetAction((parse, cancellation) => CommandRunner.Run(_ =>
        {
            var lifetime = ParseLifetime(parse.GetValue(expires)!);
            var path = parse.GetValue(keyFile)!;
            if (!File.Exists(path)) throw new PipelineInputException($"--key-file '{path}' does not exist.");
            var key = SigningKeys.ReadFile(path);
            var configuration = CliConfiguration.Read();
            var issuer = configuration[$"{HttpAuthOptions.Section}:{nameof(HttpAuthOptions.Issuer)}"] is { Length: > 0 } i ? i : HttpAuthOptions.DefaultIssuer;
            var audience = configuration[$"{HttpAuthOptions.Section}:{nameof(HttpAuthOptions.Audience)}"] is { Length: > 0 } a ? a : HttpAuthOptions.DefaultIssuer;
            var who = parse.GetValue(subject)!;
            var token = AccessTokens.Issue(key, parse.GetValue(role)!, who, lifetime, issuer, audience);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{parse.GetValue(role)} token for {who}, signed with key '{key.Id}', valid until {DateTime.UtcNow + lifetime:yyyy-MM-dd HH:mm} UTC (issuer {issuer}, audience {audience}):"));
            Console.WriteLine(token);
            return CommandRunner.Success;
        }, cancellation));
        return command;
    }

    private static Command NewKey()
    {
        var file = new Argument<string>("file") { Description = "where to write the key (it must not exist); its file name becomes the key's id" };
        var command = new Command("new-key", $"Write a new random signing key ({SigningKeys.GeneratedBytes} bytes, base64), readable by you only.") { file };
        command.SetAction((parse, cancellation) => CommandRunner.Run(_ =>
        {
            var path = parse.GetValue(file)!;
            if (File.Exists(path) || Directory.Exists(path)) throw new PipelineInputException($"'{path}' exists already; a new key needs a new file (its name is the key's id).");
            var key = SigningKeys.Generate(path);
            Console.Error.WriteLine($"wrote signing key '{key.Id}' to {Path.GetFullPath(path)}; add it to the Secret the nodes mount at {HttpAuthOptions.Section}:SigningKeysPath (docs/operations.md, \"Rotating\")");
            return CommandRunner.Success;
        }, cancellation));
        return command;
    }

    /// <summary>30m, 8h, 7d (or a plain number of hours), up to <see cref="AccessTokens.MaximumLifetime"/>.</summary>
    public static TimeSpan ParseLifetime(string text)
    {
        var match = LifetimePattern().Match(text.Trim());
        if (!match.Success)
            throw new PipelineInputException($"--expires '{text}' is not a lifetime; write minutes, hours or days, e.g. 30m, 8h, 7d.");
        var amount = double.Parse(match.Groups["amount"].Value, CultureInfo.InvariantCulture);
        var lifetime = match.Groups["unit"].Value switch
        {
            "m" => TimeSpan.FromMinutes(amount),
            "d" => TimeSpan.FromDays(amount),
            _ => TimeSpan.FromHours(amount),
        };
        if (lifetime <= TimeSpan.Zero || lifetime > AccessTokens.MaximumLifetime)
            throw new PipelineInputException($"--expires '{text}' must be more than 0 and at most {AccessTokens.MaximumLifetime.TotalDays:0} days: a token cannot be revoked on its own, only by removing its signing key.");
        return lifetime;
    }

    [GeneratedRegex(@"^(?<amount>[0-9]+(?:\.[0-9]+)?)(?<unit>[mhd]?)$")]
    private static partial Regex LifetimePattern();
}
