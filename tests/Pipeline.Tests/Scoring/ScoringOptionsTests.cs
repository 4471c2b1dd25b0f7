using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Pipeline.Scoring;
using Pipeline.Shared;
using Xunit;

namespace Pipeline.Tests.Scoring;

public class ScoringOptionsTests
{
    [Fact]
    public void Options_bind_from_the_Scoring_section()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pipeline:Scoring:Device"] = "cuda:1",
            ["Pipeline:Scoring:CpuThreads"] = "4",
            ["Pipeline:Scoring:MaxBatchViews"] = "128",
            ["Pipeline:Scoring:MaxWaitMilliseconds"] = "5",
            ["Pipeline:Scoring:MaxQueuedFrames"] = "32",
        }).Build();

        var options = configuration.GetSection(ScoringOptions.SectionName).Get<ScoringOptions>()!;

        Assert.Equal(("cuda:1", 4, 128, TimeSpan.FromMilliseconds(5), 32),
            (options.Device, options.CpuThreads, options.MaxBatchViews, options.MaxWait, options.MaxQueuedFrames));
        Assert.Empty(options.Problems());
    }

    [Fact]
    public void Invalid_options_are_refused_with_every_problem_named()
    {
        var options = new ScoringOptions { Device = "gpu", MaxBatchViews = 0, MaxQueuedFrames = -1 };
        var error = Assert.Throws<OptionsValidationException>(() => options.Validated());
        Assert.Equal(3, error.Failures.Count());
        Assert.Contains(error.Failures, failure => failure.Contains("Pipeline:Scoring:Device is 'gpu'"));
        Assert.False(new ScoringOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void The_generated_validator_says_the_key_the_value_and_what_would_do()
    {
        var options = new ScoringOptions
        {
            Device = "gpu", CpuThreads = 0, ModelPath = "/nowhere/model.dnfm", AutoAcceptBelowThresholdFraction = 1, ModelCheckSeconds = 0,
        };

        Assert.Equal(
            [
                "Pipeline:Scoring:Device is 'gpu'; use auto, cpu, cuda or cuda:N.",
                "Pipeline:Scoring:CpuThreads is 0; use at least 1 (or leave it out for all cores).",
                "Pipeline:Scoring:ModelPath is '/nowhere/model.dnfm'; it is neither a model file nor a folder holding model.dnfm (train one with `pipeline train`).",
                "Pipeline:Scoring:AutoAcceptBelowThresholdFraction is 1; use more than 0 and less than 1 (a share such as 0.3, or leave it out to accept only labelled frames).",
                "Pipeline:Scoring:ModelCheckSeconds is 0; use more than 0 and at most 3600 (5 by default).",
            ],
            options.Problems());
    }

    [Theory]
    [InlineData(" CUDA:1 ")]
    [InlineData("cpu")]
    [InlineData("Auto")]
    public void A_device_is_read_without_regard_to_case_or_surrounding_spaces(string device)
    {
        Assert.Empty(new ScoringOptions { Device = device }.Problems());
    }

    [Theory]
    [InlineData("auto", 2, new[] { "cuda:0", "cuda:1" })]
    [InlineData("auto", 0, new[] { "cpu", "cpu" })]
    [InlineData("cuda", 3, new[] { "cuda:0", "cuda:1", "cuda:2" })]
    [InlineData("cuda:1", 2, new[] { "cuda:1" })]
    [InlineData("CPU", 2, new[] { "cpu", "cpu" })]
    public void One_scorer_runs_per_GPU_or_the_configured_number_on_the_CPU(string device, int gpus, string[] expected)
    {
        var options = new ScoringOptions { Device = device, CpuWorkers = 2 };
        Assert.Equal(expected, ScoringActors.SelectDevices(options, gpus));
    }

    [Theory]
    [InlineData("cuda", 0)]
    [InlineData("cuda:2", 2)]
    public void Asking_for_a_GPU_that_is_not_there_says_which_exist(string device, int gpus)
    {
        var error = Assert.Throws<PipelineInputException>(() => ScoringActors.SelectDevices(new ScoringOptions { Device = device }, gpus));
        Assert.Contains($"'{device}'", error.Message);
    }

    [Fact]
    public void CPU_threads_are_split_over_the_CPU_scorers()
    {
        Assert.Equal(3, new ScoringOptions { CpuThreads = 6, CpuWorkers = 2 }.ThreadsPerCpuWorker);
        Assert.Null(new ScoringOptions { CpuWorkers = 2 }.ThreadsPerCpuWorker);
    }
}
