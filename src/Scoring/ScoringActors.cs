using System.Collections.Concurrent;
using Akka.Actor;
using Pipeline.Shared;
using Pipeline.Shared.Model;
using TorchSharp;

namespace Pipeline.Scoring;

/// <summary>
/// Builds a node's scoring actors from <see cref="ScoringOptions"/>: a <see cref="ScoringRouter"/> over one
/// <see cref="DeviceScoringActor"/> per GPU, or <see cref="ScoringOptions.CpuWorkers"/> on the CPU sharing
/// <see cref="ScoringOptions.CpuThreads"/>.
/// </summary>
public static class ScoringActors
{
    /// <summary>The devices to run scorers on, given how many CUDA devices this process sees.</summary>
    public static IReadOnlyList<string> SelectDevices(ScoringOptions options, int cudaDeviceCount)
    {
        var device = options.Validated().Device.Trim().ToLowerInvariant();
        var gpus = Enumerable.Range(0, cudaDeviceCount).Select(index => $"cuda:{index}").ToArray();
        var cpus = Enumerable.Repeat("cpu", options.CpuWorkers).ToArray();
        if (device == "cpu") return cpus;
        if (device == "auto") return gpus.Length > 0 ? gpus : cpus;
        if (cudaDeviceCount == 0)
            throw new PipelineInputException($"{ScoringOptions.SectionName}:Device is '{options.Device}', but this process sees no CUDA device (CPU libtorch build, or no GPU visible); use auto or cpu.");
        if (device == "cuda") return gpus;
        var index = int.Parse(device["cuda:".Length..], System.Globalization.CultureInfo.InvariantCulture);
        return index < cudaDeviceCount
            ? [gpus[index]]
            : throw new PipelineInputException($"{ScoringOptions.SectionName}:Device is '{options.Device}', but this process sees {cudaDeviceCount} CUDA device(s): cuda:0 to cuda:{cudaDeviceCount - 1}.");
    }

    /// <summary>The devices to run scorers on, from the CUDA devices libtorch sees (<c>torch.cuda.device_count()</c>).</summary>
    public static IReadOnlyList<string> SelectDevices(ScoringOptions options) =>
        SelectDevices(options, torch.cuda.is_available() ? torch.cuda.device_count() : 0);

    /// <summary>
    /// Props of the node's <see cref="ScoringRouter"/>: one scorer per selected device, loading models onto that
    /// device's backbone from <paramref name="backbones"/>, each starting with <paramref name="initialModel"/> when given.
    /// </summary>
    /// <param name="featureSink">
    /// Told the features of scored frames (the node's <see cref="SampleCollector"/>); null to keep none. Unlabelled
    /// frames' features are copied off the device only when the collector can use them: it keeps
    /// <see cref="ScoringOptions.RecentFeatureFrames"/> for late labels, or <see cref="ScoringOptions.AutoAcceptBelowThresholdFraction"/> is set.
    /// </param>
    /// <param name="initialModel">The default product's model at start (<see cref="ScoringOptions.ModelPath"/>).</param>
    /// <param name="followsTraining">Whether the node's <see cref="ModelFollower"/> keeps its models (see <see cref="ScoringRouter.Props"/>).</param>
    public static Props PropsFor(ScoringOptions options, DeviceBackbones backbones, ScoringMetrics metrics, ModelArtifact? initialModel = null, IActorRef? featureSink = null, bool followsTraining = false) =>
        PropsFor(options, SelectDevices(options), device => DefectScoringModel.Loader(() => backbones.On(device)), metrics, initialModel, featureSink, followsTraining);

    /// <summary>Props of a <see cref="ScoringRouter"/> over one scorer per entry of <paramref name="devices"/>, with the loader each device gets.</summary>
    public static Props PropsFor(
        ScoringOptions options,
        IReadOnlyList<string> devices,
        Func<string, Func<ModelArtifact, IScoringModel>> loaderFor,
        ScoringMetrics metrics,
        ModelArtifact? initialModel = null,
        IActorRef? featureSink = null,
        bool followsTraining = false) =>
        ScoringRouter.Props(devices
            .Select(device => (device, DeviceScoringActor.Props(device, options, loaderFor(device), metrics, initialModel, featureSink: featureSink,
                unlabelledFeatures: options.RecentFeatureFrames > 0 || options.AutoAcceptBelowThresholdFraction is not null)))
            .ToArray(), followsTraining);
}

/// <summary>
/// The pretrained backbone of each device, loaded on first use (on the asking scorer's work loop) and shared by the
/// models of that device. Thread-safe; disposing it disposes the loaded backbones, so do it after the scorers stopped.
/// </summary>
public sealed class DeviceBackbones : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<PretrainedBackbone>> backbones = new();

    /// <param name="device">A device name as <see cref="ComputeDevice.Resolve"/> reads it ("cpu", "cuda:0").</param>
    public PretrainedBackbone On(string device) =>
        backbones.GetOrAdd(device, name => new Lazy<PretrainedBackbone>(() => PretrainedBackbone.Load(ComputeDevice.Resolve(name)))).Value;

    public void Dispose()
    {
        foreach (var backbone in backbones.Values.Where(lazy => lazy.IsValueCreated)) backbone.Value.Dispose();
        backbones.Clear();
    }
}
