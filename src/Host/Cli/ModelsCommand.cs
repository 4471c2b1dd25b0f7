using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Pipeline.Shared;
using Pipeline.Shared.Model;
using Pipeline.Training;
using Pipeline.Training.Registry;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline models list|import|promote|rollback</c>: inspects and controls the model registry. <c>list</c>,
/// <c>promote</c> and <c>rollback</c> either ask a running training node over HTTP (<c>--url</c>, with a viewer or
/// operator token from <c>--token-file</c> or <c>PIPELINE_TOKEN</c>), or work on the registry directory itself (the
/// training node's volume, where write access to the directory is the credential): <c>--registry</c>, else
/// <c>Pipeline:Training:RegistryPath</c> (appsettings.json or <c>Pipeline__Training__RegistryPath</c>). <c>import</c>
/// works on the directory only. A running training node notices a changed current version within
/// <c>Pipeline:Training:RegistryPollSeconds</c> and announces it; the scoring nodes then load it and swap.
/// </summary>
public static class ModelsCommand
{
    public static Command Create()
    {
        var command = new Command("models", "Inspect and control the model registry: list versions, import a trained model, promote a version, roll back.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Import());
        command.Subcommands.Add(Promote());
        command.Subcommands.Add(Rollback());
        return command;
    }

    private static Option<string?> RegistryOption() =>
        new("--registry") { Description = $"registry directory (default: {ContinuousTrainingOptions.SectionName}:RegistryPath from appsettings.json or Pipeline__Training__RegistryPath)" };

    private static Option<string?> UrlOption() =>
        new("--url") { Description = "HTTP address of the training node, e.g. http://training-0.training:8080 (instead of --registry; needs a token)" };

    /// <summary>Where a command works: a training node over HTTP (<c>--url</c>), else the registry directory.</summary>
    private sealed record Target(Option<string?> Url, Option<string?> TokenFile, Option<string?> Registry)
    {
        public static Target AddTo(Command command)
        {
            var target = new Target(UrlOption(), NodeClient.TokenFileOption(), RegistryOption());
            command.Add(target.Url);
            command.Add(target.TokenFile);
            command.Add(target.Registry);
            return target;
        }

        /// <summary>The node client when <c>--url</c> is given (then not <c>--registry</c>), else null.</summary>
        public NodeClient? Node(ParseResult parse)
        {
            if (parse.GetValue(Url) is not { } url) return null;
            if (parse.GetValue(Registry) is not null)
                throw new PipelineInputException("--url and --registry are both given; use --url to ask a training node, or --registry to work on the registry directory.");
            return NodeClient.Create("--url", url, parse.GetValue(TokenFile), TimeSpan.FromMinutes(2));
        }
    }

    private static Command List()
    {
        var command = new Command("list", "List the registry's versions, oldest first; * marks the current one.");
        var target = Target.AddTo(command);
        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(async token =>
        {
            string where;
            IReadOnlyList<RegisteredModel> models;
            string? current;
            using (var node = target.Node(parse))
            {
                if (node is not null)
                {
                    var (_, body) = await node.SendAsync(HttpMethod.Get, "/models", token);
                    where = $"training node {node.Address}";
                    current = body.GetProperty("current").GetString();
                    models = body.GetProperty("versions").Deserialize<RegisteredModel[]>(WireJson)!;
                }
                else
                {
                    var opened = Open(parse.GetValue(target.Registry));
                    where = $"registry {opened.Root}";
                    models = opened.List();
                    current = opened.Current?.Version;
                }
            }
            if (models.Count == 0)
            {
                Console.WriteLine($"the {where} has no model yet; add a trained model with 'pipeline models import <model.dnfm> --registry <dir>'");
                return CommandRunner.Success;
            }
            Console.WriteLine(where);
            Console.WriteLine($"  {"version",-9} {"created (UTC)",-20} {"size",10} {"px",4} {"views",5} {"threshold",10}  {"sha-256",-14} origin");
            foreach (var model in models)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(model.Version == current ? "*" : " ")} {model.Version,-9} {model.CreatedAt.UtcDateTime,-20:yyyy-MM-dd HH:mm:ss} {model.SizeBytes / 1e6,8:0.0} MB {model.ImageSize,4} {model.TestViews,5} {model.Threshold,10:0.####}  {model.Sha256[..12]}…  {model.Origin}"));
            }
            return CommandRunner.Success;
        }, cancellation));
        return command;
    }

    /// <summary>How <c>GET /models</c> names the fields of a <see cref="RegisteredModel"/>.</summary>
    private static readonly JsonSerializerOptions WireJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static Command Import()
    {
        var registry = RegistryOption();
        var model = new Argument<string>("model") { Description = "a trained model: a .dnfm file or the folder 'pipeline train --out' wrote" };
        var promote = new Option<bool>("--promote") { Description = "make it current even when the registry already has a current version" };
        var command = new Command("import", "Add a trained model to the registry as the next version; it becomes current when the registry had none (or with --promote).") { model, registry, promote };
        command.SetAction((parse, cancellation) => CommandRunner.Run(_ =>
        {
            var opened = Open(parse.GetValue(registry));
            var path = parse.GetValue(model)!;
            var artifact = ModelArtifact.Load(path);
            var makeCurrent = parse.GetValue(promote) || opened.Current is null;
            var added = opened.Publish(artifact, $"imported from {Path.GetFullPath(path)}", makeCurrent);
            Console.WriteLine($"imported {path} as {added.Version}{(makeCurrent ? " (current)" : $"; make it current with 'pipeline models promote {added.Version}'")}");
            return CommandRunner.Success;
        }, cancellation));
        return command;
    }

    private static Command Promote()
    {
        var version = new Argument<string>("version") { Description = "the version to serve, e.g. v3" };
        var command = new Command("promote", "Make a version current (its artifact is verified first); the cluster swaps to it. Over --url it needs an operator token.") { version };
        var target = Target.AddTo(command);
        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(token =>
            Change(parse, target, $"/models/{Uri.EscapeDataString(parse.GetValue(version)!)}/promote", registry => registry.Promote(parse.GetValue(version)!), token), cancellation));
        return command;
    }

    private static Command Rollback()
    {
        var command = new Command("rollback", "Make the version that was current before the current one current again. Over --url it needs an operator token.");
        var target = Target.AddTo(command);
        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(token =>
            Change(parse, target, "/models/rollback", registry => registry.Rollback(), token), cancellation));
        return command;
    }

    /// <summary>Changes the current version on the training node (<paramref name="path"/>) or in the registry directory, and says what it is now.</summary>
    private static async Task<int> Change(ParseResult parse, Target target, string path, Func<ModelRegistry, RegisteredModel> change, CancellationToken token)
    {
        using var node = target.Node(parse);
        if (node is null)
        {
            var opened = Open(parse.GetValue(target.Registry));
            var before = opened.Current?.Version;
            var now = change(opened);
            Console.WriteLine($"current version: {now.Version} (was {before ?? "none"})");
            return CommandRunner.Success;
        }
        var (status, body) = await node.SendAsync(HttpMethod.Post, path, token);
        if (status != System.Net.HttpStatusCode.OK)
            throw new PipelineInputException($"{node.Address} refused ({(int)status}): {(body.TryGetProperty("error", out var error) ? error.GetString() : body.ToString())}");
        Console.WriteLine($"current version: {body.GetProperty("current").GetString()} (was {(body.GetProperty("was").GetString() ?? "none")})");
        return CommandRunner.Success;
    }

    private static ModelRegistry Open(string? registry)
    {
        var path = registry ?? CliConfiguration.Read()[$"{ContinuousTrainingOptions.SectionName}:{nameof(ContinuousTrainingOptions.RegistryPath)}"];
        if (string.IsNullOrWhiteSpace(path))
            throw new PipelineInputException($"No registry given: pass --registry <dir>, or set {ContinuousTrainingOptions.SectionName}:RegistryPath (Pipeline__Training__RegistryPath).");
        if (!Directory.Exists(path) && !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(path))))
            throw new PipelineInputException($"The registry directory '{path}' does not exist, nor does its parent.");
        return ModelRegistry.Open(path);
    }
}
