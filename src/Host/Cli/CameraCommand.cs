using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Pipeline.Host.Hosting;
using Pipeline.Shared;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Progress;
using Pipeline.Simulation;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline camera --folder &lt;dir&gt;</c>: a simulated camera that streams a folder's images into the frames
/// topic of a Kafka cluster at a set rate (<see cref="CameraStream"/>, <see cref="FolderFrames"/>). Kafka settings
/// come from section <c>Pipeline:Kafka</c> of appsettings.json next to the executable and environment variables
/// (<c>Pipeline__Kafka__BootstrapServers</c>, <c>Pipeline__Kafka__SaslPassword</c>); <c>--bootstrap-servers</c> and <c>--topic</c> win.
/// Exit code 0 when every frame was delivered, 1 when some were not, 2 for unusable input.
/// </summary>
public static class CameraCommand
{
    /// <summary>The producer's purpose, appended to <see cref="KafkaOptions.ClientId"/>.</summary>
    public const string ClientPurpose = "camera-simulator";

    public static Command Create()
    {
        var folder = new Option<string>("--folder") { Description = "folder whose .png, .jpg, .jpeg and .bmp files (subfolders included) are sent, in path order, as they are", Required = true };
        var bootstrapServers = new Option<string?>("--bootstrap-servers") { Description = "Kafka brokers, host:port[,host:port...] (default: Pipeline:Kafka:BootstrapServers from appsettings.json or Pipeline__Kafka__BootstrapServers)" };
        var topic = new Option<string?>("--topic") { Description = "topic to send to (default: Pipeline:Kafka:Topics:Frames, else 'frames')" };
        var rate = new Option<double>("--rate") { Description = "frames per second; 0 = as fast as possible", DefaultValueFactory = _ => 5 };
        var count = new Option<long?>("--count") { Description = "frames in all, going round the folder as often as needed (default: each image once)" };
        var cameraId = new Option<string?>("--camera-id") { Description = $"the one camera's id (default {FolderFramesOptions.DefaultCameraId})" };
        var cameras = new Option<int?>("--cameras") { Description = "take turns over N cameras, camera-1 to camera-N (key and camera-id of each frame)" };
        var labelFromFolders = new Option<bool>("--label-from-folders") { Description = "label frames from the MVTec AD layout: good/ is good, other folders in test/ are defect; ground_truth/ masks are not sent" };
        var frameIdPrefix = new Option<string?>("--frame-id-prefix") { Description = "put in front of the frame ids <camera-id>-<n> (default: this run's UTC start time, so that runs do not repeat ids; \"\" for none)" };
        var command = new Command("camera", "Simulate a camera: stream a folder's images into Kafka's frames topic at a set rate.")
        {
            folder, bootstrapServers, topic, rate, count, cameraId, cameras, labelFromFolders, frameIdPrefix,
        };

        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(async token =>
        {
            var framesPerSecond = parse.GetValue(rate);
            if (double.IsNaN(framesPerSecond) || double.IsInfinity(framesPerSecond) || framesPerSecond < 0)
                throw new PipelineInputException($"--rate must be 0 (as fast as possible) or more frames per second, got {framesPerSecond.ToString(CultureInfo.InvariantCulture)}.");
            if (parse.GetValue(count) is < 1)
                throw new PipelineInputException($"--count must be at least 1, got {parse.GetValue(count)}.");
            var frames = FolderFrames.Open(parse.GetValue(folder)!, new FolderFramesOptions
            {
                CameraIds = CameraIds(parse.GetValue(cameraId), parse.GetValue(cameras)),
                Count = parse.GetValue(count),
                LabelFromFolders = parse.GetValue(labelFromFolders),
                FrameIdPrefix = parse.GetValue(frameIdPrefix) ?? DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture),
            });
            var kafka = LoadKafkaOptions(parse.GetValue(bootstrapServers), parse.GetValue(topic));

            var progress = ConsoleProgress.ToStandardError();
            var destination = kafka.Topics.Frames;
            var pace = framesPerSecond > 0 ? $"{framesPerSecond.ToString(CultureInfo.InvariantCulture)} frames/s" : "as fast as possible";
            progress.Note($"sending {frames.Count} frames of {frames.Images.Count} images in {frames.Folder} to topic '{destination}' at {kafka.BootstrapServers}, {pace}");
            var options = new CameraStreamOptions
            {
                FramesPerSecond = framesPerSecond,
                ProgressEvery = 1,
                OnProgress = p => progress.Report(new WorkProgress("camera", p.Frames, frames.Count, $"delivered {p.Delivered}, failed {p.Failed}")),
            };

            progress.Report(new WorkProgress("camera", 0, frames.Count)); // starts the rate's clock
            // librdkafka's own log (connection trouble, for example) goes to standard error.
            using var producer = KafkaClients.CreateProducer(kafka, ClientPurpose);
            var summary = await CameraStream.RunAsync(producer, destination, frames, options, token);

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sent {summary.Sent} frames to '{destination}' at {summary.FramesPerSecond:0.0} frames/s; {summary.Delivered} delivered, {summary.Failed} failed, in {summary.Elapsed.TotalSeconds:0.00} s"));
            if (summary.AllDelivered) return CommandRunner.Success;
            Console.Error.WriteLine($"error: {summary.Failed} of {frames.Count} frames were not delivered; the first: {summary.FirstError}");
            return CommandRunner.UnexpectedFailure;
        }, cancellation));
        return command;
    }

    private static IReadOnlyList<string> CameraIds(string? cameraId, int? cameras)
    {
        if (cameraId is not null && cameras is not null)
            throw new PipelineInputException("Give --camera-id (one camera) or --cameras (camera-1 to camera-N), not both.");
        if (cameras is { } n)
            return n >= 1 ? FolderFramesOptions.NumberedCameras(n) : throw new PipelineInputException($"--cameras must be at least 1, got {n}.");
        if (cameraId is null)
            return [FolderFramesOptions.DefaultCameraId];
        return string.IsNullOrWhiteSpace(cameraId) ? throw new PipelineInputException("--camera-id is empty; name the camera.") : [cameraId.Trim()];
    }

    /// <summary>Section <c>Kafka</c> from the sources <c>pipeline serve</c> reads, with the command line's values on top, validated for a producer.</summary>
    private static KafkaOptions LoadKafkaOptions(string? bootstrapServers, string? topic)
    {
        var configuration = CliConfiguration.Read();
        var overrides = new Dictionary<string, string?>();
        if (bootstrapServers is not null) overrides[$"{KafkaOptions.SectionName}:{nameof(KafkaOptions.BootstrapServers)}"] = bootstrapServers;
        if (topic is not null) overrides[$"{TopicNames.SectionName}:{nameof(TopicNames.Frames)}"] = topic;
        configuration.AddInMemoryCollection(overrides);

        try
        {
            return ValidatedOptions.Load(configuration, KafkaOptions.SectionName, new KafkaOptionsValidator());
        }
        catch (PipelineInputException e) when (string.IsNullOrWhiteSpace(configuration[$"{KafkaOptions.SectionName}:{nameof(KafkaOptions.BootstrapServers)}"]))
        {
            throw new PipelineInputException($"{e.Message} Pass --bootstrap-servers, or set Pipeline__Kafka__BootstrapServers.", e);
        }
    }
}
