using Akka.Actor;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Ingest;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Scoring;
using Pipeline.Simulation;
using Pipeline.Tests.Kafka;
using Xunit;
using Xunit.Abstractions;
using ClusterCollection = Pipeline.Tests.Cluster.ClusterCollection;

namespace Pipeline.Tests.Ingest;

/// <summary>
/// The only broker goes down and comes back while an ingest actor reads frames, for less and for more than the
/// consumer's session timeout (then the group drops the member and grants its partitions again). Every frame sent
/// must get its outcome, counted by the test's own consumer on the results and dead-letter topics; duplicates are
/// allowed (at least once) and counted.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class BrokerOutageTests : Akka.TestKit.Xunit2.TestKit
{
    /// <summary>Short, so that an outage longer than it stays short too.</summary>
    private const int SessionTimeoutMilliseconds = 4000;

    private const int MaxInFlight = 8;
    private static readonly TimeSpan ShortOutage = TimeSpan.FromMilliseconds(1500);
    private static readonly TimeSpan LongOutage = TimeSpan.FromMilliseconds(SessionTimeoutMilliseconds + 3000);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);
    private static readonly byte[] Png = ImageEncoding.ToPng(new SyntheticParts(32).Good(new Random(3)));

    private readonly ITestOutputHelper output;

    public BrokerOutageTests(ITestOutputHelper output)
        : base(output: output)
    {
        this.output = output;
    }

    [Fact]
    public Task A_backlog_paused_at_the_in_flight_limit_is_finished_after_an_outage_shorter_than_the_session() =>
        BacklogThroughOutage(ShortOutage);

    [Fact]
    public Task A_backlog_paused_at_the_in_flight_limit_is_finished_after_an_outage_longer_than_the_session() =>
        BacklogThroughOutage(LongOutage);

    [Fact]
    public Task A_light_stream_goes_on_after_an_outage_shorter_than_the_session() => LightStreamThroughOutage(ShortOutage);

    [Fact]
    public Task A_light_stream_goes_on_after_an_outage_longer_than_the_session() => LightStreamThroughOutage(LongOutage);

    /// <summary>
    /// Five times the in-flight limit sent at once; scoring holds its answers until the broker is down, so the consumer
    /// is paused at the limit when the outage begins (as a node under load is).
    /// </summary>
    private async Task BacklogThroughOutage(TimeSpan outage)
    {
        using var kafka = MockKafkaCluster.Start(brokers: 1);
        var (options, topics) = Line(kafka, "backlog");
        using var watcher = new InspectionStreamWatcher(options);
        var scoring = Sys.ActorOf(GatedScoring.Props(), "scoring");
        using var metrics = new IngestMetrics();
        var logs = new RecordingLoggerFactory();
        var ingest = Sys.ActorOf(FrameIngestActor.Props(IngestOptions(), options, scoring, metrics, logs, new KafkaClientsClosing()), "ingest");
        try
        {
            var sent = Send(options, topics, 5 * MaxInFlight, "backlog");
            await AwaitAsync(async () => await scoring.Ask<int>(GatedScoring.CountWaiting.Instance) == MaxInFlight, "scoring never had the in-flight limit of frames waiting");

            kafka.SetBrokerDown(1);
            scoring.Tell(GatedScoring.Open.Instance);
            await Task.Delay(outage); // the fault itself: the broker stays down this long
            kafka.SetBrokerUp(1);

            var counts = await CountOutcomesAsync(watcher, sent);
            output.WriteLine($"backlog, outage {outage.TotalMilliseconds:0} ms, session {SessionTimeoutMilliseconds} ms: {counts}");
            Assert.Equal(0, counts.Lost);
            Assert.Equal(0, counts.DeadLetters);
            // At least once: only frames read before the group moved on can be published twice.
            Assert.InRange(counts.Duplicates, 0, MaxInFlight);

            // Connection errors are summarized: one line per client (the consumer, and ingest's producers: one per codec)
            // when the outage begins, not one per failed attempt (librdkafka retries every 200 ms here, on each of its
            // connections).
            var connectionLines = logs.Logger.Entries.Select(entry => entry.Message)
                .Where(line => line.StartsWith("Kafka client", StringComparison.Ordinal)
                    && (line.Contains("Connect to", StringComparison.Ordinal) || line.Contains("Disconnected", StringComparison.Ordinal) || line.Contains("brokers are down", StringComparison.Ordinal)))
                .ToArray();
            foreach (var line in connectionLines) output.WriteLine(line);
            Assert.NotEmpty(connectionLines);
            Assert.All(connectionLines.GroupBy(line => line[..line.IndexOf(':')]), client => Assert.Single(client));
        }
        finally
        {
            await ingest.GracefulStop(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>A frame every 100 ms before, during and after the outage; the consumer is never at its limit.</summary>
    private async Task LightStreamThroughOutage(TimeSpan outage)
    {
        using var kafka = MockKafkaCluster.Start(brokers: 1);
        var (options, topics) = Line(kafka, "light");
        using var watcher = new InspectionStreamWatcher(options);
        var scoring = Sys.ActorOf(GatedScoring.Props(open: true), "scoring");
        using var metrics = new IngestMetrics();
        var ingest = Sys.ActorOf(FrameIngestActor.Props(IngestOptions(), options, scoring, metrics, NullLoggerFactory.Instance, new KafkaClientsClosing()), "ingest");
        try
        {
            using var camera = KafkaClients.CreateProducer(options, "test-camera", PipelineTopic.Frames);
            var sent = new List<string>();
            void SendFor(TimeSpan duration)
            {
                var until = DateTime.UtcNow + duration;
                while (DateTime.UtcNow < until)
                {
                    var id = $"light-{sent.Count:D4}";
                    camera.Produce(topics.Frames, FrameHeaders.CreateMessage(new FrameMetadata(id, $"camera-{sent.Count % 2}", DateTimeOffset.UtcNow, FrameContentTypes.Png), Png));
                    sent.Add(id);
                    Thread.Sleep(100);
                }
            }

            await Task.Run(() => SendFor(TimeSpan.FromSeconds(1)));
            kafka.SetBrokerDown(1);
            await Task.Run(() => SendFor(outage)); // the camera's producer keeps them until the broker is back
            kafka.SetBrokerUp(1);
            await Task.Run(() => SendFor(TimeSpan.FromSeconds(1)));
            Assert.Equal(0, camera.Flush(TimeSpan.FromSeconds(30)));

            var counts = await CountOutcomesAsync(watcher, sent);
            output.WriteLine($"light stream, outage {outage.TotalMilliseconds:0} ms, session {SessionTimeoutMilliseconds} ms: {counts}");
            Assert.Equal(0, counts.Lost);
            Assert.Equal(0, counts.DeadLetters);
            Assert.InRange(counts.Duplicates, 0, MaxInFlight);
        }
        finally
        {
            await ingest.GracefulStop(TimeSpan.FromSeconds(10));
        }
    }

    private static IngestOptions IngestOptions() => new() { MaxInFlightFrames = MaxInFlight, RetryDelayMilliseconds = 50 };

    /// <summary>Topics of this test on <paramref name="kafka"/>, and client options with a short session.</summary>
    private static (KafkaOptions Options, TopicNames Topics) Line(MockKafkaCluster kafka, string name)
    {
        var topics = TestKafka.CreateTopics(kafka, name, framePartitions: 2, resultPartitions: 1);
        var options = TestKafka.Options(kafka, $"{name}-group", topics);
        options.Extra["session.timeout.ms"] = SessionTimeoutMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return (options, topics);
    }

    private static List<string> Send(KafkaOptions options, TopicNames topics, int count, string prefix)
    {
        using var camera = KafkaClients.CreateProducer(options, "test-camera", PipelineTopic.Frames);
        var ids = Enumerable.Range(0, count).Select(i => $"{prefix}-{i:D4}").ToList();
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
            camera.Produce(topics.Frames, FrameHeaders.CreateMessage(new FrameMetadata(id, $"camera-{i % 3}", DateTimeOffset.UtcNow, FrameContentTypes.Png), Png));
        Assert.Equal(0, camera.Flush(TimeSpan.FromSeconds(30)));
        return ids;
    }

    /// <summary>Waits until every frame sent has an outcome (or patience ends), then counts.</summary>
    private static async Task<OutcomeCounts> CountOutcomesAsync(InspectionStreamWatcher watcher, IReadOnlyCollection<string> sent)
    {
        var expected = sent.ToHashSet(StringComparer.Ordinal);
        bool AllDone(InspectionStreamWatcher w) =>
            expected.IsSubsetOf(w.Results.Select(r => r.FrameId).Concat(w.DeadLetters.Select(d => d.FrameId ?? "")));
        await watcher.WaitUntilAsync(AllDone, Patience);
        var results = watcher.Results.Select(r => r.FrameId).ToArray();
        var deadLetters = watcher.DeadLetters.Select(d => d.FrameId ?? "").ToArray();
        var outcomes = results.Concat(deadLetters).ToArray();
        var distinct = outcomes.Distinct(StringComparer.Ordinal).Count(expected.Contains);
        return new OutcomeCounts(sent.Count, results.Length, deadLetters.Length, sent.Count - distinct, outcomes.Length - outcomes.Distinct(StringComparer.Ordinal).Count());
    }

    private static async Task AwaitAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail(failure);
            await Task.Delay(50);
        }
    }

    private sealed record OutcomeCounts(int Sent, int Results, int DeadLetters, int Lost, int Duplicates)
    {
        public override string ToString() => $"sent {Sent}, results {Results}, dead letters {DeadLetters}, lost {Lost}, duplicates {Duplicates}";
    }

    /// <summary>
    /// Stands in for scoring: tells a 32 px frame size, and scores every frame at once (0.25, model v1) once open;
    /// while closed it keeps the frames waiting.
    /// </summary>
    private sealed class GatedScoring : ReceiveActor
    {
        private readonly List<(IActorRef Sender, ScoreFrame Frame)> waiting = [];

        public GatedScoring(bool open)
        {
            Receive<GetScoringStatus>(_ => Sender.Tell(new ScoringNodeStatus([new ScoringStatus(true, "v1", 32, 0, 0, "cpu")])));
            Receive<CountWaiting>(_ => Sender.Tell(waiting.Count));
            Receive<ScoreFrame>(frame =>
            {
                if (open) Answer(Sender, frame);
                else waiting.Add((Sender, frame));
            });
            Receive<Open>(_ =>
            {
                open = true;
                foreach (var (sender, frame) in waiting) Answer(sender, frame);
                waiting.Clear();
            });
        }

        public static Props Props(bool open = false) => Akka.Actor.Props.Create(() => new GatedScoring(open));

        private static void Answer(IActorRef sender, ScoreFrame frame) => sender.Tell(new FrameScored(
            frame.FrameId, frame.CameraId, 0.25, 0.5, "v1", frame.CapturedAt, frame.IngestedAt, DateTimeOffset.UtcNow, 1, frame.Correlation));

        public sealed record Open
        {
            public static readonly Open Instance = new();
        }

        public sealed record CountWaiting
        {
            public static readonly CountWaiting Instance = new();
        }
    }
}
