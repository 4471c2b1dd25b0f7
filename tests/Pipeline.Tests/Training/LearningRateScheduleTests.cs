using Pipeline.Shared.Model;
using Pipeline.Shared.Progress;
using Pipeline.Training;
using Pipeline.Training.Refit;
using Xunit;
using static TorchSharp.torch;

namespace Pipeline.Tests.Training;

public sealed class LearningRateScheduleTests
{
    [Fact]
    public void A_constant_schedule_keeps_the_configured_rate_for_every_step()
    {
        foreach (var step in new[] { 0L, 50, 99 })
            Assert.Equal(4e-4, LearningRateSchedules.RateAt(LearningRateSchedule.Constant, 4e-4, step, 100));
    }

    [Fact]
    public void A_cosine_schedule_starts_at_the_configured_rate_halves_it_midway_and_ends_near_zero()
    {
        Assert.Equal(4e-4, LearningRateSchedules.RateAt(LearningRateSchedule.Cosine, 4e-4, 0, 100), 12);
        Assert.Equal(2e-4, LearningRateSchedules.RateAt(LearningRateSchedule.Cosine, 4e-4, 50, 100), 12);
        var last = LearningRateSchedules.RateAt(LearningRateSchedule.Cosine, 4e-4, 99, 100);
        Assert.InRange(last, 0, 4e-4 * 0.001);
        var rates = Enumerable.Range(0, 100).Select(s => LearningRateSchedules.RateAt(LearningRateSchedule.Cosine, 4e-4, s, 100)).ToArray();
        Assert.True(rates.Zip(rates.Skip(1)).All(pair => pair.Second < pair.First), "the rate falls with every step");
    }

    [Theory]
    [InlineData(LearningRateSchedule.Constant)]
    [InlineData(LearningRateSchedule.Cosine)]
    public void The_trainer_steps_with_the_scheduled_rate(LearningRateSchedule schedule)
    {
        // 64 vectors in batches of 16: 4 steps per epoch, 40 in all; each epoch's last step is step 4·e + 3.
        manual_seed(3);
        using var data = randn(64, 16);
        using var flow = new CouplingFlow(new FlowConfig { FeatureSize = 16, CouplingBlocks = 2, HiddenWidth = 16, PermutationSeed = 1 });
        var options = TrainingOptions.Cpu with { Epochs = 10, BatchSize = 16, LearningRate = 1e-3, LearningRateSchedule = schedule };

        var history = FlowTrainer.Fit(flow, data, options, SilentProgress.Instance);

        var expected = Enumerable.Range(0, 10).Select(e => LearningRateSchedules.RateAt(schedule, 1e-3, 4 * e + 3, 40));
        Assert.Equal(expected, history.EpochFinalLearningRates);
        Assert.All(history.EpochLosses, loss => Assert.True(double.IsFinite(loss)));
        Assert.True(history.EpochLosses[^1] < history.EpochLosses[0], "the loss falls under either schedule");
    }

    [Fact]
    public void Refits_keep_a_constant_rate_whatever_training_uses()
    {
        Assert.Equal(LearningRateSchedule.Constant, new RefitOptions().ForFlowTrainer().LearningRateSchedule);
    }
}
