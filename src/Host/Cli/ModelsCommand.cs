using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Pipeline.Shared;
using Pipeline.Shared.Model;
using Pipeline.Shared.Products;
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
/// <c>--product &lt;name&gt;</c> works on that product's registry (its own versions v1, v2, …; under the registry root
/// in <c>products/&lt;name&gt;/</c>); without it, on the default product's. <c>import --product</c> adds a product: a
/// running training node picks it up and every scoring node loads it, without a restart.
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

    /// <summary><c>--product</c>: every subcommand has it; without it, the default product.</summary>
    internal static Option<string?> ProductOption() =>
        new("--product") { Description = $"the product whose models these are (default: the default product, '{ProductName.Default}')" };

    /// <summary>The product <c>--product</c> names (checked), else the default product.</summary>
    internal static string ProductOf(ParseResult parse, Option<string?> option) =>
        parse.GetValue(option) is { } named ? ProductName.Require(named, "--product") : ProductName.Default;

    /// <summary><c>?product=&lt;name&gt;</c> for a node's control endpoint, nothing for the default product (as a node before products expects).</summary>
    internal static string ProductQuery(string product) => product == ProductName.Default ? "" : $"?product={Uri.EscapeDataString(product)}";

    private static Option<string?> UrlOption() =>
        new("--url") { Description = "HTTP address of the training node, e.g. http://training-0.training:8080 (instead of --registry; needs a token)" };

    /// <summary>Where a command works: a training node over HTTP (<c>--url</c>), else the registry directory; and on which product.</summary>
    private sealed record Target(Option<string?> Url, Option<string?> TokenFile, Option<string?> Registry, Option<string?> Product)
    {
        public static Target AddTo(Command command)
        {
            var target = new Target(UrlOption(), NodeClient.TokenFileOption(), RegistryOption(), ProductOption());
            command.Add(target.Url);
            command.Add(target.TokenFile);
            command.Add(target.Registry);
            command.Add(target.Product);
            return target;
        }

        /// <summary>The product <c>--product</c> names, else the default one.</summary>
        public string ProductOf(ParseResult parse) => ModelsCommand.ProductOf(parse, Product);

        /// <summary>The registry of an existing product in the directory (a product is added by <c>import</c> only).</summary>
        public ModelRegistry OpenExisting(ParseResult parse) => ModelsCommand.OpenExisting(parse.GetValue(Registry), ProductOf(parse));

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
            var product = target.ProductOf(parse);
            using (var node = target.Node(parse))
            {
                if (node is not null)
                {
                    var (status, body) = await node.SendAsync(HttpMethod.Get, "/models" + ProductQuery(product), token);
                    if (status != System.Net.HttpStatusCode.OK) throw Refused(node, status, body);
                    where = $"training node {node.Address}";
                    current = body.GetProperty("current").GetString();
                    models = body.GetProperty("versions").Deserialize<RegisteredModel[]>(WireJson)!;
                }
                else
                {
                    var opened = target.OpenExisting(parse);
                    where = $"registry {opened.Root}";
                    models = opened.List();
                    current = opened.Current?.Version;
                }
            }
            if (product != ProductName.Default) where += $" (product {product})";
            if (models.Count == 0)
            {
                Console.WriteLine($"the {where} has no model yet; add a trained model with 'pipeline models import <model.dnfm> --registry <dir>{ProductArgument(product)}'");
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
        var productOption = ProductOption();
        productOption.Description += "; a product the registry does not have yet is added (its first version is v1)";
        var command = new Command("import", "Add a trained model to the registry as the next version; it becomes current when the registry had none (or with --promote).") { model, registry, promote, productOption };
        command.SetAction((parse, cancellation) => CommandRunner.Run(_ =>
        {
            var product = ProductOf(parse, productOption);
            var path = parse.GetValue(model)!;
            var artifact = ModelArtifact.Load(path);
            var opened = ModelRegistry.Open(RootOf(parse.GetValue(registry)), product);
            var makeCurrent = parse.GetValue(promote) || opened.Current is null;
            var added = opened.Publish(artifact, $"imported from {Path.GetFullPath(path)}", makeCurrent);
            var of = product == ProductName.Default ? "" : $" of product {product}";
            Console.WriteLine($"imported {path} as {added.Version}{of}{(makeCurrent ? " (current)" : $"; make it current with 'pipeline models promote {added.Version}{ProductArgument(product)}'")}");
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
            Change(parse, target, $"/models/{Uri.EscapeDataString(parse.GetValue(version)!)}/promote{ProductQuery(target.ProductOf(parse))}", registry => registry.Promote(parse.GetValue(version)!), token), cancellation));
        return command;
    }

    private static Command Rollback()
    {
        var command = new Command("rollback", "Make the version that was current before the current one current again. Over --url it needs an operator token.");
        var target = Target.AddTo(command);
        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(token =>
            Change(parse, target, "/models/rollback" + ProductQuery(target.ProductOf(parse)), registry => registry.Rollback(), token), cancellation));
        return command;
    }

    /// <summary>Changes the current version on the training node (<paramref name="path"/>) or in the registry directory, and says what it is now.</summary>
    private static async Task<int> Change(ParseResult parse, Target target, string path, Func<ModelRegistry, RegisteredModel> change, CancellationToken token)
    {
        var product = target.ProductOf(parse);
        var of = product == ProductName.Default ? "" : $" of product {product}";
        using var node = target.Node(parse);
        if (node is null)
        {
            var opened = target.OpenExisting(parse);
            var before = opened.Current?.Version;
            var now = change(opened);
            Console.WriteLine($"current version{of}: {now.Version} (was {before ?? "none"})");
            return CommandRunner.Success;
        }
        var (status, body) = await node.SendAsync(HttpMethod.Post, path, token);
        if (status != System.Net.HttpStatusCode.OK) throw Refused(node, status, body);
        Console.WriteLine($"current version{of}: {body.GetProperty("current").GetString()} (was {(body.GetProperty("was").GetString() ?? "none")})");
        return CommandRunner.Success;
    }

    private static PipelineInputException Refused(NodeClient node, System.Net.HttpStatusCode status, JsonElement body) =>
        new($"{node.Address} refused ({(int)status}): {(body.TryGetProperty("error", out var error) ? error.GetString() : body.ToString())}");

    private static string ProductArgument(string product) => product == ProductName.Default ? "" : $" --product {product}";

    /// <summary>The registry root: <c>--registry</c>, else the configured one; its parent at least must exist.</summary>
    private static string RootOf(string? registry)
    {
        var path = registry ?? CliConfiguration.Read()[$"{ContinuousTrainingOptions.SectionName}:{nameof(ContinuousTrainingOptions.RegistryPath)}"];
        if (string.IsNullOrWhiteSpace(path))
            throw new PipelineInputException($"No registry given: pass --registry <dir>, or set {ContinuousTrainingOptions.SectionName}:RegistryPath (Pipeline__Training__RegistryPath).");
        if (!Directory.Exists(path) && !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(path))))
            throw new PipelineInputException($"The registry directory '{path}' does not exist, nor does its parent.");
        return path;
    }

    /// <summary>The registry of <paramref name="product"/>, which must be in the directory already (the default product always is).</summary>
    private static ModelRegistry OpenExisting(string? registry, string product)
    {
        var root = RootOf(registry);
        if (product != ProductName.Default && !ModelRegistry.ProductsIn(root).Contains(product))
            throw new PipelineInputException(
                $"The registry '{Path.GetFullPath(root)}' has no product '{product}'; it has {string.Join(", ", ModelRegistry.ProductsIn(root))}. Add it with 'pipeline models import <model.dnfm> --product {product}'.");
        return ModelRegistry.Open(root, product);
    }
}
