using System.CommandLine;
using System.Globalization;
using Pipeline.Shared;
using Pipeline.Shared.Model;
using Pipeline.Training;
using Pipeline.Training.Registry;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline models list|import|promote|rollback</c>: inspects and controls the model registry directory (the training
/// node's volume). The registry is given by <c>--registry</c>, else <c>Pipeline:Training:RegistryPath</c> (appsettings.json
/// or <c>Pipeline__Training__RegistryPath</c>). A running training node notices a changed current version within
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

    private static Command List()
    {
        var registry = RegistryOption();
        var command = new Command("list", "List the registry's versions, oldest first; * marks the current one.") { registry };
        command.SetAction((parse, cancellation) => CommandRunner.Run(_ =>
        {
            var opened = Open(parse.GetValue(registry));
            var models = opened.List();
            var current = opened.Current?.Version;
            if (models.Count == 0)
            {
                Console.WriteLine($"the registry {opened.Root} is empty; add a trained model with 'pipeline models import <model.dnfm> --registry {opened.Root}'");
                return CommandRunner.Success;
            }
            Console.WriteLine($"registry {opened.Root}");
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
        var registry = RegistryOption();
        var version = new Argument<string>("version") { Description = "the version to serve, e.g. v3" };
        var command = new Command("promote", "Make a version current (its artifact is verified first); the cluster swaps to it.") { version, registry };
        command.SetAction((parse, cancellation) => CommandRunner.Run(_ =>
        {
            var opened = Open(parse.GetValue(registry));
            var before = opened.Current?.Version;
            var promoted = opened.Promote(parse.GetValue(version)!);
            Console.WriteLine($"current version: {promoted.Version} (was {before ?? "none"})");
            return CommandRunner.Success;
        }, cancellation));
        return command;
    }

    private static Command Rollback()
    {
        var registry = RegistryOption();
        var command = new Command("rollback", "Make the version that was current before the current one current again.") { registry };
        command.SetAction((parse, cancellation) => CommandRunner.Run(_ =>
        {
            var opened = Open(parse.GetValue(registry));
            var before = opened.Current?.Version;
            var restored = opened.Rollback();
            Console.WriteLine($"current version: {restored.Version} (was {before})");
            return CommandRunner.Success;
        }, cancellation));
        return command;
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
