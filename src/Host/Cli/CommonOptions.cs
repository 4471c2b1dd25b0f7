using System.CommandLine;
using Pipeline.Shared.Features;
using Pipeline.Shared.Model;
using TorchSharp;

namespace Pipeline.Host.Cli;

/// <summary>Options that train and eval share: device, threads and the feature cache.</summary>
public sealed class CommonOptions
{
    public Option<string> Device { get; } = new("--device") { Description = "auto (CUDA when available, else CPU), cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
    public Option<int?> Threads { get; } = new("--threads") { Description = "CPU threads for tensor work (default: libtorch's choice, all cores)" };
    public Option<string?> CacheDir { get; } = new("--cache-dir") { Description = $"where view features are cached (default {ViewFeatureCache.DefaultDirectory()})" };
    public Option<bool> NoCache { get; } = new("--no-cache") { Description = "do not read or write the on-disk feature cache" };

    public void AddTo(Command command)
    {
        command.Add(Device);
        command.Add(Threads);
        command.Add(CacheDir);
        command.Add(NoCache);
    }

    public torch.Device ResolveDevice(ParseResult parse)
    {
        if (parse.GetValue(Threads) is { } threads)
        {
            if (threads < 1) throw new Shared.PipelineInputException($"--threads must be at least 1, got {threads}.");
            torch.set_num_threads(threads);
        }
        return ComputeDevice.Resolve(parse.GetValue(Device) ?? "auto");
    }

    public ViewFeatureCache Cache(ParseResult parse) =>
        new(parse.GetValue(NoCache) ? null : parse.GetValue(CacheDir) ?? ViewFeatureCache.DefaultDirectory());
}
