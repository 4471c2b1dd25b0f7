using Akka.Actor;
using Akka.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Ingest;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Scoring;
using Pipeline.Simulation;
using ClusterCollection = Pipeline.Tests.Cluster.ClusterCollection;
using Pipeline.Tests.Kafka;
using Xunit;

namespace Pipeline.Tests.Ingest;

/// <summary>One mock Kafka cluster for the ingest actor's tests; each test makes topics of its own on it.</summary>
public sealed class IngestKafkaFixture : IDisposable
{
    public MockKafkaCluster Cluster { get; } = MockKafkaCluster.Start(brokers: 1);

    public void Dispose() => Cluster.Dispose();
}

/// <summary>
/// The ingest actor's own behaviour against a real (mock) Kafka, with a probe standing in for scoring so that each
/// test decides what scoring answers.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FrameIngestActorTests : Akka.TestKit.Xunit2.TestKit, IClassFixture<IngestKafkaFixture>
{
    private const int FrameSize = 32;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);
    private static readonly byte[] Png = ImageEncoding.ToPng(new SyntheticParts(48).Good(new Random(1)));

    private readonly MockKafkaCluster cluster;
    private readonly TestProbe scoring;
    private readonly IngestMetrics metrics = new();
    private readonly TopicNames topics;
    private readonly KafkaOptions kafka;
    private IActorRef ingest = ActorRefs.Nobody;

    public FrameIngestActorTests(IngestKafkaFixture fixture)
    {
        cluster = fixture.Cluster;
        scoring = CreateTestProbe("scoring");
        var name = $"ingest-{Guid.NewGuid():N}";
        topics = TestKafka.CreateTopics(cluster, name, framePartitions: 1, resultPartitions: 1);
        kafka = TestKafka.Options(cluster, $"{name}-group", topics);
    }

    [Fact]
    public async Task A_scored_frame_goes_to_the_results_topic_and_an_anomalous_one_to_the_anomalies_topic_too()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        StartIngest();
        SendFrames(Frame("normal", "camera-1"), Frame("anomalous", "camera-2"));

        var first = ExpectScoreFrame();
        var second = ExpectScoreFrame();
        foreach (var frame in new[] { first, second })
        {
            Assert.Equal((FrameSize, FrameSize, FrameSize * FrameSize * 3), (frame.Image.Width, frame.Image.Height, frame.Image.Pixels.Length));
            Assert.IsType<long>(frame.Correlation);
        }

        var byId = new[] { first, second }.ToDictionary(frame => frame.FrameId);
        Assert.Equal(new[] { "anomalous", "normal" }, byId.Keys.Order());
        Assert.Equal("camera-1", byId["normal"].CameraId);
        Assert.Equal("camera-2", byId["anomalous"].CameraId);

        Answer(Scored(byId["normal"], score: 0.25));
        Answer(Scored(byId["anomalous"], score: 0.75));

        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 2 && w.Anomalies.Count >= 1, Patience),
            $"results: {Ids(watcher.Results)}; anomalies: {Ids(watcher.Anomalies)}");
        var results = watcher.Results.ToDictionary(result => result.FrameId);
        Assert.Equal((0.25, 0.5, "v1", InspectionVerdict.Good, "camera-1"),
            (results["normal"].Score, results["normal"].Threshold, results["normal"].ModelVersion, results["normal"].Verdict, results["normal"].CameraId));
        Assert.Equal((0.75, InspectionVerdict.Anomalous, "camera-2"),
            (results["anomalous"].Score, results["anomalous"].Verdict, results["anomalous"].CameraId));
        var anomaly = Assert.Single(watcher.Anomalies);
        Assert.Equal(("anomalous", 0.75, "v1"), (anomaly.FrameId, anomaly.Score, anomaly.ModelVersion));
        Assert.Empty(watcher.DeadLetters);

        static string Ids(IEnumerable<InspectionResult> list) => string.Join(", ", list.Select(result => result.FrameId));
    }

    [Fact]
    public async Task A_frame_the_model_failed_on_is_sent_again_and_dead_lettered_after_the_last_attempt()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        StartIngest(Options(maxScoringAttempts: 2));
        SendFrames(Frame("failing", "camera-1"));

        var first = ExpectScoreFrame("failing");
        Answer(Failed(first, ScoringFailureKind.ModelFailed));
        var second = ExpectScoreFrame("failing");
        Assert.Equal(first.Correlation, second.Correlation);
        Answer(Failed(second, ScoringFailureKind.ModelFailed));
        scoring.ExpectNoMsg(Quiet);

        Assert.True(await watcher.WaitUntilAsync(w => w.DeadLetters.Count >= 1, Patience), "no dead letter arrived");
        var dead = Assert.Single(watcher.DeadLetters);
        Assert.Equal(("failing", "camera-1", DeadLetterReasons.ScoringFailed), (dead.FrameId, dead.CameraId, dead.Reason));
        Assert.Empty(watcher.Results);
    }

    [Fact]
    public async Task An_interrupted_frame_is_sent_again_without_limit_and_its_later_score_is_published()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        StartIngest(Options(maxScoringAttempts: 1));
        SendFrames(Frame("interrupted", "camera-1"));

        var first = ExpectScoreFrame("interrupted");
        Answer(Failed(first, ScoringFailureKind.Interrupted));
        var second = ExpectScoreFrame("interrupted");
        Answer(Failed(second, ScoringFailureKind.Interrupted));
        var third = ExpectScoreFrame("interrupted");
        Assert.Equal(first.Correlation, third.Correlation);
        Answer(Scored(third, score: 0.125));

        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 1, Patience), "no result arrived");
        var result = Assert.Single(watcher.Results);
        Assert.Equal(("interrupted", 0.125, "v1"), (result.FrameId, result.Score, result.ModelVersion));
        Assert.Empty(watcher.DeadLetters);
    }

    [Fact]
    public async Task A_frame_without_an_answer_is_sent_again_after_the_scoring_timeout()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        // The timeout is well above the quiet period, so a loaded machine that delivers the first request late
        // cannot make the resend look early.
        StartIngest(Options(scoringTimeoutMilliseconds: 2000));
        SendFrames(Frame("unanswered", "camera-1"));

        var first = ExpectScoreFrame("unanswered");
        scoring.ExpectNoMsg(Quiet); // not before the timeout
        var again = ExpectScoreFrame("unanswered");
        Assert.Equal(first.Correlation, again.Correlation);
        Answer(Scored(again, score: 0.25));

        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 1, Patience), "no result arrived");
        Assert.Equal("unanswered", Assert.Single(watcher.Results).FrameId);
    }

    [Fact]
    public async Task A_frame_scoring_was_too_busy_for_is_sent_again_only_once_scoring_is_available()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        StartIngest();
        SendFrames(Frame("held", "camera-1"));

        var first = ExpectScoreFrame("held");
        Answer(new ScoringBusy(first.FrameId, first.CameraId, QueuedFrames: 8, QueueCapacity: 8, first.Correlation));
        scoring.ExpectNoMsg(Quiet);

        Answer(new ScoringAvailable("cpu", FreeSlots: 4));
        var again = ExpectScoreFrame("held");
        Assert.Equal(first.Correlation, again.Correlation);
        Answer(Scored(again, score: 0.25));

        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 1, Patience), "no result arrived");
        Assert.Equal("held", Assert.Single(watcher.Results).FrameId);
    }

    [Fact]
    public async Task A_cameras_results_are_published_in_the_order_its_frames_were_read_whatever_order_they_are_scored_in()
    {
        using var watcher = new InspectionStreamWatcher(kafka);
        StartIngest();
        SendFrames(Frame("earlier", "camera-1"), Frame("later", "camera-1"));

        var sent = new[] { ExpectScoreFrame(), ExpectScoreFrame() }.ToDictionary(frame => frame.FrameId);
        Assert.True((long)sent["earlier"].Correlation! < (long)sent["later"].Correlation!, "the earlier frame should have the lower ticket");

        Answer(Scored(sent["later"], score: 0.25));
        await Task.Delay(Quiet);
        Assert.Empty(watcher.Results); // held back behind the earlier frame

        Answer(Scored(sent["earlier"], score: 0.125));
        Assert.True(await watcher.WaitUntilAsync(w => w.Results.Count >= 2, Patience), "the results did not arrive");
        Assert.Equal(new[] { "earlier", "later" }, watcher.Results.Select(result => result.FrameId));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) metrics.Dispose();
    }

    private static IngestOptions Options(int maxScoringAttempts = 3, int scoringTimeoutMilliseconds = 30_000) => new()
    {
        RetryDelayMilliseconds = 50,
        MaxScoringAttempts = maxScoringAttempts,
        ScoringTimeoutMilliseconds = scoringTimeoutMilliseconds,
    };

    /// <summary>Starts the actor and answers its question for the frame size: 32 px, model v1.</summary>
    private void StartIngest(IngestOptions? options = null)
    {
        ingest = Sys.ActorOf(FrameIngestActor.Props(options ?? Options(), kafka, scoring.Ref, metrics, NullLoggerFactory.Instance, new KafkaClientsClosing()));
        scoring.ExpectMsg<GetScoringStatus>(Patience);
        scoring.Reply(new ScoringNodeStatus([new ScoringStatus(true, "v1", FrameSize, 0, 0, "cpu")]));
    }

    private static FrameMetadata Frame(string id, string camera) => new(id, camera, DateTimeOffset.UtcNow, FrameContentTypes.Png);

    private void SendFrames(params FrameMetadata[] frames)
    {
        using var producer = KafkaClients.CreateProducer(kafka, "test-camera");
        foreach (var frame in frames) producer.Produce(topics.Frames, FrameHeaders.CreateMessage(frame, Png));
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }

    private ScoreFrame ExpectScoreFrame(string? frameId = null)
    {
        var frame = scoring.ExpectMsg<ScoreFrame>(Patience);
        if (frameId is not null) Assert.Equal(frameId, frame.FrameId);
        return frame;
    }

    /// <summary>Scoring's answer, told to the actor as if from scoring.</summary>
    private void Answer(object answer) => ingest.Tell(answer, scoring.Ref);

    private static FrameScored Scored(ScoreFrame frame, double score) => new(
        frame.FrameId, frame.CameraId, score, Threshold: 0.5, ModelVersion: "v1", frame.CapturedAt, frame.IngestedAt,
        ScoredAt: DateTimeOffset.UtcNow, BatchSize: 1, frame.Correlation);

    private static ScoringFailed Failed(ScoreFrame frame, ScoringFailureKind kind) =>
        new(frame.FrameId, frame.CameraId, kind, $"{kind} in a test", frame.Correlation);
}
