using Microsoft.Extensions.Options;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Model;

namespace Pipeline.Training;

/// <summary>
/// How the training role collects known-good samples, refits the flow and keeps the model registry; bound from
/// <see cref="SectionName"/> (environment variables such as <c>Pipeline__Training__RegistryPath</c>). See
/// docs/continuous-learning.md. Checked by the rules on its settings, through the generated
/// <see cref="ContinuousTrainingOptionsValidator"/>.
/// </summary>
public sealed class ContinuousTrainingOptions
{
    public const string SectionName = "Pipeline:Training";

    /// <summary>Directory of the model registry (versioned artifacts and the current version); on a persistent volume. Required.</summary>
    [NotEmpty(Note = "a training node keeps its model registry there, a directory on a persistent volume")]
    public string? RegistryPath { get; set; }

    /// <summary>Directory of the persisted sample store; on a persistent volume. Required.</summary>
    [NotEmpty(Note = "a training node keeps its known-good samples there, a directory on a persistent volume")]
    public string? SampleStorePath { get; set; }

    /// <summary>A trained model (<c>.dnfm</c> or its folder) imported as the first version when the registry is empty.</summary>
    [ModelArtifactPath(Note = "or leave it out to start with an empty registry")]
    public string? InitialModelPath { get; set; }

    /// <summary>Known-good samples kept per camera (a uniform random sample of all offered).</summary>
    [AtLeast(1, Note = "500 by default")]
    public int GoodSamplesPerCamera { get; set; } = 500;

    /// <summary>Labelled defects kept (all cameras), used only by the validation gate.</summary>
    [AtLeast(1, Note = "200 by default")]
    public int DefectSamples { get; set; } = 200;

    /// <summary>Refit after this many new known-good samples; 0 turns the trigger off.</summary>
    [AtLeast(0, Note = "0 turns the trigger off; 200 by default")]
    public int RefitEveryNewSamples { get; set; } = 200;

    /// <summary>Refit every this many minutes when new samples came in meanwhile; 0 turns the trigger off.</summary>
    [AtLeast(0, Note = "0 turns the trigger off; 60 by default")]
    public double RefitIntervalMinutes { get; set; } = 60;

    /// <summary>How often the registry's current version is read, to notice <c>pipeline models promote|rollback</c>.</summary>
    [Between(0, 3600, MinimumIsExclusive = true, Note = "2 by default")]
    public double RegistryPollSeconds { get; set; } = 2;

    /// <summary>Bytes per message when scoring nodes fetch a model; far below the cluster's maximum frame size.</summary>
    [Between(4096, 2 * 1024 * 1024, Note = "each chunk is one cluster message; 1 MiB by default")]
    public int ModelChunkBytes { get; set; } = 1024 * 1024;

    public TimeSpan RefitInterval => TimeSpan.FromMinutes(RefitIntervalMinutes);
    public TimeSpan RegistryPoll => TimeSpan.FromSeconds(RegistryPollSeconds);
}

/// <summary>Checks <see cref="ContinuousTrainingOptions"/> at start: generated from the rules on its settings.</summary>
[OptionsValidator]
public sealed partial class ContinuousTrainingOptionsValidator : IValidateOptions<ContinuousTrainingOptions>;
