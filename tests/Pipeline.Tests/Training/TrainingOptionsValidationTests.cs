using Pipeline.Training;
using Pipeline.Training.Refit;
using Xunit;

namespace Pipeline.Tests.Training;

public class TrainingOptionsValidationTests
{
    [Fact]
    public void A_training_node_without_its_directories_is_told_which_to_set_and_why()
    {
        var result = new ContinuousTrainingOptionsValidator().Validate(null, new ContinuousTrainingOptions());

        Assert.Equal(
            [
                "Pipeline:Training:RegistryPath is not set; set it (a training node keeps its model registry there, a directory on a persistent volume).",
                "Pipeline:Training:SampleStorePath is not set; set it (a training node keeps its known-good samples there, a directory on a persistent volume).",
            ],
            result.Failures);
    }

    [Fact]
    public void Unusable_training_settings_are_named_with_their_value_and_what_would_do()
    {
        var options = new ContinuousTrainingOptions
        {
            RegistryPath = "registry", SampleStorePath = "samples", InitialModelPath = "/nowhere",
            RefitIntervalMinutes = double.PositiveInfinity, RegistryPollSeconds = 0, ModelChunkBytes = 1000,
        };

        Assert.Equal(
            [
                "Pipeline:Training:InitialModelPath is '/nowhere'; it is neither a model file nor a folder holding model.dnfm (or leave it out to start with an empty registry).",
                "Pipeline:Training:RefitIntervalMinutes is Infinity; use 0 or more (0 turns the trigger off; 60 by default).",
                "Pipeline:Training:RegistryPollSeconds is 0; use more than 0 and at most 3600 (2 by default).",
                "Pipeline:Training:ModelChunkBytes is 1000; use 4096 to 2097152 (each chunk is one cluster message; 1 MiB by default).",
            ],
            new ContinuousTrainingOptionsValidator().Validate(null, options).Failures);
        Assert.True(new ContinuousTrainingOptionsValidator().Validate(null, new ContinuousTrainingOptions { RegistryPath = "r", SampleStorePath = "s" }).Succeeded);
    }

    [Fact]
    public void Unusable_refit_settings_are_named_with_their_value_and_what_would_do()
    {
        var options = new RefitOptions { Epochs = 0, LearningRate = double.NaN, HoldOutFraction = 0.9, MaxScoreIncrease = -0.1, FalseAlarmRate = 1 };

        Assert.Equal(
            [
                "Pipeline:Training:Refit:Epochs is 0; use at least 1 (10 by default).",
                "Pipeline:Training:Refit:LearningRate is NaN; use more than 0 (such as 1e-4, the default).",
                "Pipeline:Training:Refit:HoldOutFraction is 0.9; use more than 0 and at most 0.5 (a share such as 0.2, the default).",
                "Pipeline:Training:Refit:MaxScoreIncrease is -0.1; use 0 or more (a small share such as 0.05, the default).",
                "Pipeline:Training:Refit:FalseAlarmRate is 1; use at least 0 and less than 1 (a share, or leave it out to keep the serving model's).",
            ],
            options.Problems());
        Assert.Empty(new RefitOptions { FalseAlarmRate = 0 }.Problems());
    }
}
