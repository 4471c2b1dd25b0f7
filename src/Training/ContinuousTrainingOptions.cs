using Microsoft.Extensions.Options;

namespace Pipeline.Training;

/// <summary>
/// How the training role collects known-good samples, refits the flow and keeps the model registry; bound from
/// <see cref="SectionName"/> (environment variables such as <c>Pipeline__Training__RegistryPath</c>). See
/// docs/continuous-learning.md.
/// </summary>
public sealed class ContinuousTrainingOptions
{
    public const string SectionName = "Pipeline:Training";

    /// <summary>Directory of the model registry (versioned artifacts and the current version); on a persistent volume. Required.</summary>
    public string? RegistryPath { get; set; }

    /// <summary>Directory of the persisted sample store; on a persistent volume. Required.</summary>
    public string? SampleStorePath { get; set; }

    /// <summary>A trained model (<c>.dnfm</c> or its folder) imported as the first version when the registry is empty.</summary>
    public string? InitialModelPath { get; set; }

    /// <summary>Known-good samples kept per camera (a uniform random sample of all offered).</summary>
    public int GoodSamplesPerCamera { get; set; } = 500;

    /// <summary>Labelled defects kept (all cameras), used only by the validation gate.</summary>
    public int DefectSamples { get; set; } = 200;

    /// <summary>Refit after this many new known-good samples; 0 turns the trigger off.</summary>
    public int RefitEveryNewSamples { get; set; } = 200;

    /// <summary>Refit every this many minutes when new samples came in meanwhile; 0 turns the trigger off.</summary>
    public double RefitIntervalMinutes { get; set; } = 60;

    /// <summary>How often the registry's current version is read, to notice <c>pipeline models promote|rollback</c>.</summary>
    public double RegistryPollSeconds { get; set; } = 2;

    /// <summary>Bytes per message when scoring nodes fetch a model; far below the cluster's maximum frame size.</summary>
    public int ModelChunkBytes { get; set; } = 1024 * 1024;

    public TimeSpan RefitInterval => TimeSpan.FromMinutes(RefitIntervalMinutes);
    public TimeSpan RegistryPoll => TimeSpan.FromSeconds(RegistryPollSeconds);

    /// <summary>What is wrong with these options, one sentence each; empty when they are usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(RegistryPath))
            problems.Add($"{SectionName}:RegistryPath is not set; a training node keeps its model registry there (a directory on a persistent volume).");
        if (string.IsNullOrWhiteSpace(SampleStorePath))
            problems.Add($"{SectionName}:SampleStorePath is not set; a training node keeps its known-good samples there (a directory on a persistent volume).");
        if (InitialModelPath is { } model && !File.Exists(model) && !File.Exists(Path.Combine(model, Shared.Model.ModelArtifact.DefaultFileName)))
            problems.Add($"{SectionName}:InitialModelPath is '{model}', which is neither a model file nor a folder holding {Shared.Model.ModelArtifact.DefaultFileName}.");
        if (GoodSamplesPerCamera < 1) problems.Add($"{SectionName}:GoodSamplesPerCamera is {GoodSamplesPerCamera}; use at least 1.");
        if (DefectSamples < 1) problems.Add($"{SectionName}:DefectSamples is {DefectSamples}; use at least 1.");
        if (RefitEveryNewSamples < 0) problems.Add($"{SectionName}:RefitEveryNewSamples is {RefitEveryNewSamples}; use 0 (off) or more.");
        if (RefitIntervalMinutes < 0 || !double.IsFinite(RefitIntervalMinutes)) problems.Add($"{SectionName}:RefitIntervalMinutes is {RefitIntervalMinutes}; use 0 (off) or more.");
        if (RegistryPollSeconds is <= 0 or > 3600 || !double.IsFinite(RegistryPollSeconds)) problems.Add($"{SectionName}:RegistryPollSeconds is {RegistryPollSeconds}; use more than 0 and at most 3600.");
        if (ModelChunkBytes is < 4096 or > 2 * 1024 * 1024) problems.Add($"{SectionName}:ModelChunkBytes is {ModelChunkBytes}; use 4096 to 2097152 (each chunk is one cluster message).");
        return problems;
    }
}

public sealed class ContinuousTrainingOptionsValidator : IValidateOptions<ContinuousTrainingOptions>
{
    public ValidateOptionsResult Validate(string? name, ContinuousTrainingOptions options)
    {
        var problems = options.Problems();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
