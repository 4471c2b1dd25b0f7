using Pipeline.Shared.Kafka;
using Pipeline.Simulation;
using Pipeline.Tests.Simulation;
using Xunit;

namespace Pipeline.Tests.Cli;

/// <summary>
/// <c>pipeline camera</c> as a separate process, against a mock cluster in the test process (its brokers listen on
/// 127.0.0.1, so the child process reaches them like a real cluster).
/// </summary>
public sealed class CameraCommandTests : IDisposable
{
    private readonly TempFolder folder = new();
    private readonly MockKafkaCluster cluster = MockKafkaCluster.Start(1);

    private string Parts()
    {
        var parts = Path.Combine(folder.Path, "parts");
        SyntheticParts.WriteMvtecFolder(parts, trainGood: 2, testGood: 1, testPerDefect: 1, size: 32, seed: 9);
        return parts;
    }

    private KafkaOptions ReaderOptions() => new() { BootstrapServers = cluster.BootstrapServers, ConsumerGroup = "camera-command-tests" };

    private static void AssertUserError(PipelineProcess.Outcome outcome, string mentioned) =>
        PipelineProcess.AssertUserError(outcome, mentioned);

    [Fact]
    public void The_folders_images_are_sent_labelled_from_two_cameras_and_it_exits_0()
    {
        cluster.CreateTopic("line-2-frames", partitions: 2);
        var parts = Parts();

        var outcome = PipelineProcess.Run("camera", "--folder", parts, "--bootstrap-servers", cluster.BootstrapServers, "--topic", "line-2-frames",
            "--rate", "0", "--cameras", "2", "--label-from-folders", "--frame-id-prefix", "run1");

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Matches(@"^sent 6 frames to 'line-2-frames' at \d+\.\d frames/s; 6 delivered, 0 failed, in \d+\.\d\d s$", outcome.StandardOutput.Trim());
        var frames = CameraStreamTests.ReadAll(ReaderOptions(), "line-2-frames", 6)
            .Select(r => (Key: r.Message.Key, Parsed: FrameHeaders.Parse(r.Message.Headers, r.Message.Key)))
            .ToList();
        Assert.All(frames, f => Assert.True(f.Parsed.IsValid, f.Parsed.Rejection?.Detail));
        Assert.Equal(
            ["run1-camera-1-1", "run1-camera-1-2", "run1-camera-1-3", "run1-camera-2-1", "run1-camera-2-2", "run1-camera-2-3"],
            frames.Select(f => f.Parsed.Metadata!.FrameId).Order(StringComparer.Ordinal));
        Assert.Equal(3, frames.Count(f => f.Parsed.Metadata!.Label == FrameLabel.Good));
        Assert.Equal(3, frames.Count(f => f.Parsed.Metadata!.Label == FrameLabel.Defect));
        Assert.All(frames, f => Assert.Equal(f.Key, f.Parsed.Metadata!.CameraId));
    }

    [Fact]
    public void Brokers_may_come_from_the_environment_and_the_topic_defaults_to_the_frames_topic()
    {
        cluster.CreateTopic(new TopicNames().Frames, partitions: 1);
        var parts = Parts();

        var outcome = PipelineProcess.Run(new Dictionary<string, string> { ["Pipeline__Kafka__BootstrapServers"] = cluster.BootstrapServers },
            "camera", "--folder", Path.Combine(parts, "test"), "--count", "5", "--rate", "50", "--camera-id", "line-2-cam-3");

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Contains("5 delivered, 0 failed", outcome.StandardOutput);
        Assert.Contains("[camera] 5/5 (100%) done", outcome.StandardError);
        var frames = CameraStreamTests.ReadAll(ReaderOptions(), "frames", 5);
        Assert.All(frames, r => Assert.Equal("line-2-cam-3", r.Message.Key));
        Assert.All(frames, r => Assert.Null(FrameHeaders.Parse(r.Message.Headers, r.Message.Key).Metadata!.Label));
    }

    [Fact]
    public void Frames_that_are_not_delivered_make_it_exit_1_with_the_first_error()
    {
        cluster.CreateTopic("frames", partitions: 1);
        cluster.SetBrokerDown(1);
        var parts = Parts();

        var outcome = PipelineProcess.Run(new Dictionary<string, string> { ["Pipeline__Kafka__Extra__message.timeout.ms"] = "300" },
            "camera", "--folder", parts, "--bootstrap-servers", cluster.BootstrapServers, "--count", "2", "--rate", "0");

        Assert.True(outcome.ExitCode == 1, outcome.ToString());
        Assert.Contains("0 delivered, 2 failed", outcome.StandardOutput);
        Assert.Contains("error: 2 of 2 frames were not delivered; the first: frame '", outcome.StandardError);
        Assert.Contains("Local_MsgTimedOut", outcome.StandardError);
    }

    [Fact]
    public void A_missing_folder_is_named_and_it_exits_2()
    {
        var missing = Path.Combine(folder.Path, "no-such-folder");
        AssertUserError(PipelineProcess.Run("camera", "--folder", missing, "--bootstrap-servers", cluster.BootstrapServers), missing);
    }

    [Fact]
    public void Unusable_kafka_settings_are_explained_and_it_exits_2()
    {
        var parts = Parts();
        AssertUserError(PipelineProcess.Run("camera", "--folder", parts, "--bootstrap-servers", "kafka-0"), "Pipeline:Kafka:BootstrapServers entry 'kafka-0' is not host:port");
        AssertUserError(PipelineProcess.Run("camera", "--folder", parts), "--bootstrap-servers");
    }

    public void Dispose()
    {
        cluster.Dispose();
        folder.Dispose();
    }
}
