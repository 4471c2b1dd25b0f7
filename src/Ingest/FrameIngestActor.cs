using Akka.Actor;
using Akka.Event;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Maps;
using Pipeline.Shared.Scoring;

namespace Pipeline.Ingest;

/// <summary>
/// A node's ingest: follows every frame from the frames topic to its outcome in Kafka.
/// <list type="number">
/// <item>A <see cref="FrameConsumerLoop"/> reads frames on its own thread and tells them here.</item>
/// <item>Headers and size are checked (<see cref="FrameHeaders.Parse"/>); the image is decoded and prepared at the
/// model's frame size (<see cref="FramePreparation.Prepare"/>, the same path as <c>pipeline eval</c>) on a pool
/// task, never on this actor's thread. The frame size comes from scoring (<see cref="ScoringNodeStatus.ImageSize"/>);
/// frames wait until it is known.</item>
/// <item>The prepared 8-bit frame goes to scoring (<see cref="ScoreFrame"/>), which answers this actor.</item>
/// <item>Outcomes are published per camera in the order the frames were read: a result to the results topic (and
/// the anomalies topic when anomalous), a frame that cannot be inspected to the dead-letter topic with its
/// reason. Once Kafka acknowledged every message of a frame, the loop may commit its offset.</item>
/// </list>
/// <para>
/// Failures: a frame the model failed on is sent again after a back-off, up to
/// <see cref="IngestOptions.MaxScoringAttempts"/>, then dead-lettered; an interrupted or unanswered frame is sent
/// again without limit (the scoring node may be restarting). <see cref="ScoringBusy"/> holds the consumer until
/// <see cref="ScoringAvailable"/>. A publish Kafka did not acknowledge is retried after a back-off. A consumer that
/// stops on a fatal error makes this actor throw; its supervisor restarts it with back-off, and frames not yet
/// committed are read again (at least once: a result may be published twice, with the same frame id).
/// </para>
/// </summary>
public sealed class FrameIngestActor : ReceiveActor, IWithTimers
{
    private const string SweepTimer = "sweep";
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(5);

    private readonly IngestOptions options;
    private readonly KafkaOptions kafka;
    private readonly IActorRef scoring;
    private readonly IngestMetrics metrics;
    private readonly ILoggerFactory loggerFactory;
    private readonly KafkaClientsClosing closing;
    private readonly TimeProvider clock;
    private readonly ConsumerStallWatch stallWatch;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly Dictionary<long, InFlightFrame> frames = [];
    private readonly Dictionary<string, Queue<InFlightFrame>> cameraOrder = new(StringComparer.Ordinal);
    private readonly List<InFlightFrame> waitingForFrameSize = [];
    private readonly List<InFlightFrame> waitingForCapacity = [];
    private FrameConsumerLoop? consumer;
    private TopicProducers? producers;
    private long nextTicket;
    private int? frameSize;
    private bool askingForFrameSize;
    private DateTimeOffset? scoringBusySince;

    public FrameIngestActor(IngestOptions options, KafkaOptions kafka, IActorRef scoring, IngestMetrics metrics, ILoggerFactory loggerFactory, KafkaClientsClosing closing, TimeProvider clock, ConsumerStallWatch stallWatch)
    {
        this.stallWatch = stallWatch;
        this.closing = closing;
        this.options = options.Validated();
        this.kafka = kafka;
        this.scoring = scoring;
        this.metrics = metrics;
        this.loggerFactory = loggerFactory;
        this.clock = clock;

        Receive<FrameRead>(read => Accept(read.Message));
        Receive<ConsumerStopped>(stopped => throw new IngestStoppedException($"The frames consumer stopped: {stopped.Error.Message}", stopped.Error));
        Receive<FramePrepared>(Prepared);
        Receive<FrameUnreadable>(Unreadable);
        Receive<ScoringNodeStatus>(LearnFrameSize);
        Receive<Status.Failure>(_ => askingForFrameSize = false);
        Receive<FrameScored>(Scored);
        Receive<ScoringFailed>(Failed);
        Receive<ScoringBusy>(Busy);
        Receive<ScoringAvailable>(_ => ResumeScoring());
        Receive<RetryScoring>(retry => Retry(retry.Ticket));
        Receive<RetryPublishing>(retry => WithFrame(retry.Ticket, Publish));
        Receive<Acknowledged>(Acknowledge);
        Receive<Sweep>(_ => SweepOverdue());
        Receive<GetIngestStatus>(_ => Sender.Tell(new IngestStatus(frames.Count, frameSize, consumer?.Connected ?? false, consumer?.Lag ?? 0)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="scoring">Where frames are scored: this node's scoring actor, or the cluster router to scoring nodes.</param>
    /// <param name="closing">Where the actor leaves the closing of its Kafka clients when it stops, for the node to wait on.</param>
    /// <param name="stallWatch">Told of the consumer's progress, for the node's health checks (the node's one; a private one when null).</param>
    public static Props Props(IngestOptions options, KafkaOptions kafka, IActorRef scoring, IngestMetrics metrics, ILoggerFactory loggerFactory, KafkaClientsClosing closing, TimeProvider? clock = null, ConsumerStallWatch? stallWatch = null) =>
        Akka.Actor.Props.Create(() => new FrameIngestActor(options, kafka, scoring, metrics, loggerFactory, closing, clock ?? TimeProvider.System, stallWatch ?? new ConsumerStallWatch(clock ?? TimeProvider.System)));

    protected override void PreStart()
    {
        var self = Self;
        producers = KafkaClients.CreateProducers(kafka, "ingest", [PipelineTopic.Results, PipelineTopic.Anomalies, PipelineTopic.DeadLetter, PipelineTopic.AnomalyMaps],
            loggerFactory.CreateLogger("Pipeline.Ingest.Producer"));
        consumer = new FrameConsumerLoop(kafka, options.MaxInFlightFrames,
            message => self.Tell(new FrameRead(message)),
            error => self.Tell(new ConsumerStopped(error)),
            loggerFactory.CreateLogger<FrameConsumerLoop>(), metrics, stallWatch, clock);
        consumer.Start();
        Timers.StartPeriodicTimer(SweepTimer, Sweep.Instance, SweepInterval);
        AskForFrameSize();
    }

    protected override void PostStop()
    {
        // Closing commits what is done and leaves the group; flushing waits for acknowledgements: both block, so not
        // here. Frames still in flight are not committed and will be read again.
        var (closingConsumer, closingProducers) = (consumer, producers);
        (consumer, producers) = (null, null);
        closing.Track(Task.Run(() =>
        {
            closingConsumer?.Dispose();
            closingProducers?.Flush(TimeSpan.FromSeconds(10));
            closingProducers?.Dispose();
        }));
    }

    private void Accept(ConsumeResult<string, byte[]> message)
    {
        var ticket = nextTicket++;
        var parsed = FrameHeaders.Parse(message.Message.Headers, message.Message.Key, options.HeaderLimits);
        if (!parsed.IsValid)
        {
            // Without trustworthy headers the frame has no camera to keep order in: out it goes at once.
            var unordered = new InFlightFrame(ticket, message, null, clock.GetUtcNow());
            frames.Add(ticket, unordered);
            DeadLetter(unordered, parsed.Rejection);
            Publish(unordered);
            return;
        }

        var frame = new InFlightFrame(ticket, message, parsed.Metadata, clock.GetUtcNow());
        frames.Add(ticket, frame);
        CameraQueue(frame.Metadata!.CameraId).Enqueue(frame);
        var size = message.Message.Value?.Length ?? 0;
        if (size > options.MaxFrameBytes)
        {
            DeadLetter(frame, DeadLetterReasons.Oversized, $"The frame is {size:N0} bytes, over {IngestOptions.Section}:MaxFrameBytes ({options.MaxFrameBytes:N0}).");
            Release(frame);
            return;
        }

        StartPreparing(frame);
    }

    /// <summary>Decodes and prepares the frame on a pool task once the model's frame size is known.</summary>
    private void StartPreparing(InFlightFrame frame)
    {
        if (frameSize is not { } size)
        {
            waitingForFrameSize.Add(frame);
            AskForFrameSize();
            return;
        }

        var (ticket, bytes, name, maxPixels) = (frame.Ticket, frame.Source.Message.Value ?? [], frame.Name, options.MaxImagePixels);
        Task.Run(() =>
            {
                var decoded = ImageDecoder.Decode(bytes, name, maxPixels);
                return (object)new FramePrepared(ticket, FramePreparation.Prepare(decoded, size), size, new FrameSize(decoded.Width, decoded.Height));
            })
            .PipeTo(Self, failure: error => error is ImageDecodeException decode
                ? new FrameUnreadable(ticket, decode.Reason == ImageDecodeFailure.TooLarge ? DeadLetterReasons.Oversized : DeadLetterReasons.UndecodableImage, decode.Message)
                : new FrameUnreadable(ticket, DeadLetterReasons.UndecodableImage, $"Decoding {name} failed: {error.Message}"));
    }

    private void Prepared(FramePrepared prepared) => WithFrame(prepared.Ticket, frame =>
    {
        if (prepared.Size != frameSize)
        {
            StartPreparing(frame); // the model's frame size changed meanwhile
            return;
        }

        frame.Prepared = prepared.Image;
        frame.OriginalSize = prepared.OriginalSize;
        SendToScoring(frame);
    });

    private void Unreadable(FrameUnreadable unreadable) => WithFrame(unreadable.Ticket, frame =>
    {
        DeadLetter(frame, unreadable.ReasonCode, unreadable.Detail);
        Release(frame);
    });

    private void SendToScoring(InFlightFrame frame)
    {
        if (scoringBusySince is not null)
        {
            waitingForCapacity.Add(frame);
            return;
        }

        var metadata = frame.Metadata!;
        frame.SentAt = clock.GetUtcNow();
        scoring.Tell(new ScoreFrame(metadata.FrameId, metadata.CameraId, metadata.CapturedAt, frame.IngestedAt, frame.Prepared!, frame.Ticket, metadata.Label, frame.OriginalSize), Self);
    }

    private void Scored(FrameScored scored) => WithAwaitedFrame(scored.Correlation, frame =>
    {
        var source = frame.Source.TopicPartitionOffset;
        frame.SentAt = null;
        frame.Outcome = new PublishResult(new InspectionResult
        {
            FrameId = scored.FrameId,
            CameraId = scored.CameraId,
            Score = scored.Score,
            Threshold = scored.Threshold,
            Verdict = InspectionResult.VerdictFor(scored.Score, scored.Threshold),
            ModelVersion = scored.ModelVersion,
            CapturedAt = scored.CapturedAt,
            IngestedAt = scored.IngestedAt,
            ScoredAt = scored.ScoredAt,
            SourcePartition = source.Partition.Value,
            SourceOffset = source.Offset.Value,
            Regions = scored.Map?.Regions,
        }, scored.Map);
        frame.Prepared = null;
        Release(frame);
    });

    private void Failed(ScoringFailed failed) => WithAwaitedFrame(failed.Correlation, frame =>
    {
        frame.SentAt = null;
        switch (failed.Kind)
        {
            case ScoringFailureKind.Interrupted:
                metrics.ScoringRetried("interrupted");
                Timers.StartSingleTimer(RetryKey(frame), new RetryScoring(frame.Ticket), options.RetryDelay);
                return;
            case ScoringFailureKind.InvalidFrame:
                // Prepared for another model than the one scoring now: learn the frame size again and re-prepare.
                if (++frame.ScoringFailures >= options.MaxScoringAttempts)
                {
                    DeadLetter(frame, DeadLetterReasons.ScoringRefused, failed.Reason);
                    Release(frame);
                    return;
                }

                metrics.ScoringRetried("refused");
                frameSize = null;
                StartPreparing(frame);
                return;
            default:
                if (++frame.ScoringFailures >= options.MaxScoringAttempts)
                {
                    DeadLetter(frame, DeadLetterReasons.ScoringFailed, $"Scoring failed {frame.ScoringFailures} times; last: {failed.Reason}");
                    Release(frame);
                    return;
                }

                metrics.ScoringRetried("model-failed");
                Timers.StartSingleTimer(RetryKey(frame), new RetryScoring(frame.Ticket), options.RetryDelayFor(frame.ScoringFailures));
                return;
        }
    });

    private void Busy(ScoringBusy busy) => WithAwaitedFrame(busy.Correlation, frame =>
    {
        frame.SentAt = null;
        waitingForCapacity.Add(frame);
        if (scoringBusySince is null)
        {
            scoringBusySince = clock.GetUtcNow();
            consumer?.Hold(true);
            log.Info("Scoring is busy ({0} of {1} frames queued); reading paused until it has room", busy.QueuedFrames, busy.QueueCapacity);
        }
    });

    private void ResumeScoring()
    {
        if (scoringBusySince is null) return;
        scoringBusySince = null;
        consumer?.Hold(false);
        var resend = waitingForCapacity.OrderBy(frame => frame.Ticket).ToArray();
        waitingForCapacity.Clear();
        foreach (var frame in resend) SendToScoring(frame);
    }

    private void Retry(long ticket) => WithFrame(ticket, frame =>
    {
        if (frame.Outcome is null && frame.SentAt is null && frame.Prepared is not null) SendToScoring(frame);
    });

    private void AskForFrameSize()
    {
        if (askingForFrameSize || frameSize is not null) return;
        askingForFrameSize = true;
        scoring.Ask<ScoringNodeStatus>(GetScoringStatus.Instance, StatusTimeout).PipeTo(Self);
    }

    private void LearnFrameSize(ScoringNodeStatus status)
    {
        askingForFrameSize = false;
        if (status.ImageSize is not { } size) return; // no model yet: asked again at the next sweep
        if (frameSize != size) log.Info("Scoring takes {0}×{0} frames (model {1}); preparing frames to that size", size, status.Scorers[0].ModelVersion);
        frameSize = size;
        var waiting = waitingForFrameSize.ToArray();
        waitingForFrameSize.Clear();
        foreach (var frame in waiting) StartPreparing(frame);
    }

    /// <summary>
    /// Once a second: the frame size is asked for until known; frames unanswered for too long are sent again; a scorer
    /// silent since it said busy is tried again.
    /// </summary>
    private void SweepOverdue()
    {
        var now = clock.GetUtcNow();
        if (frameSize is null) AskForFrameSize();
        if (scoringBusySince is { } since && now - since > options.ScoringTimeout)
        {
            log.Warning("Scoring said it was busy {0:0} s ago and has not said it has room since; sending the waiting frames again", (now - since).TotalSeconds);
            ResumeScoring();
        }

        foreach (var frame in frames.Values.Where(f => f.SentAt is { } sent && now - sent > options.ScoringTimeout).ToArray())
        {
            log.Warning("Frame {0} has had no answer from scoring for {1:0} s; sending it again", frame.Metadata!.FrameId, (now - frame.SentAt!.Value).TotalSeconds);
            metrics.ScoringRetried("timeout");
            frame.SentAt = null;
            SendToScoring(frame);
        }
    }

    private void DeadLetter(InFlightFrame frame, string reasonCode, string detail) => DeadLetter(frame, new FrameRejection(reasonCode, detail));

    private void DeadLetter(InFlightFrame frame, FrameRejection why)
    {
        frame.Outcome = new PublishDeadLetter(why);
        frame.Prepared = null;
    }

    /// <summary>Publishes the camera's finished frames in the order they were read, up to the first one still in work.</summary>
    private void Release(InFlightFrame finished)
    {
        var camera = finished.Metadata!.CameraId;
        var queue = cameraOrder[camera];
        while (queue.TryPeek(out var head) && head.Outcome is not null)
            Publish(queue.Dequeue());
        if (queue.Count == 0) cameraOrder.Remove(camera);
    }

    private void Publish(InFlightFrame frame)
    {
        var messages = frame.Outcome switch
        {
            PublishResult result => ResultMessages(result.Result with { PublishedAt = clock.GetUtcNow() }, result.Map),
            PublishDeadLetter dead => [(kafka.Topics.DeadLetter, DeadLetters.Create(frame.Source, dead.Why, clock.GetUtcNow()))],
            _ => throw new InvalidOperationException($"Frame {frame.Name} has no outcome to publish."),
        };
        var (self, ticket, attempt) = (Self, frame.Ticket, ++frame.PublishAttempts);
        frame.UnacknowledgedMessages = messages.Count;
        frame.PublishFailed = false;
        try
        {
            foreach (var (topic, message) in messages)
                producers!.Produce(topic, message, report => self.Tell(new Acknowledged(ticket, attempt, topic, report.Error)));
        }
        catch (KafkaException e)
        {
            log.Warning("Publishing the outcome of {0} failed ({1}); trying again", frame.Name, e.Error.Reason);
            frame.UnacknowledgedMessages = 0;
            Timers.StartSingleTimer(PublishKey(frame), new RetryPublishing(ticket), options.RetryDelayFor(attempt));
        }
    }

    /// <summary>The result's message (serialized once) for each topic it goes to, and its anomaly map's when it has one: all acknowledged before the frame is committed.</summary>
    private List<(string Topic, Message<string, byte[]> Message)> ResultMessages(InspectionResult result, FrameAnomalyMap? map)
    {
        var message = InspectionEvents.ToMessage(result);
        var messages = kafka.Topics.DestinationsOf(result).Select(topic => (topic, message)).ToList();
        if (map is not null)
            messages.Add((kafka.Topics.AnomalyMaps, InspectionEvents.ToMapMessage(result.CameraId, result.FrameId, map.Png, map.Peak, map.RegionLevel)));
        return messages;
    }

    private void Acknowledge(Acknowledged acknowledged) => WithFrame(acknowledged.Ticket, frame =>
    {
        if (acknowledged.Attempt != frame.PublishAttempts) return; // a report of an earlier attempt
        if (acknowledged.Error.IsError)
        {
            frame.PublishFailed = true;
            log.Warning("Kafka did not take the outcome of {0} on {1}: {2}; publishing it again", frame.Name, acknowledged.Topic, acknowledged.Error.Reason);
        }

        if (--frame.UnacknowledgedMessages > 0) return;
        if (frame.PublishFailed)
        {
            Timers.StartSingleTimer(PublishKey(frame), new RetryPublishing(frame.Ticket), options.RetryDelayFor(frame.PublishAttempts));
            return;
        }

        frames.Remove(frame.Ticket);
        consumer?.Completed(frame.Source);
        var now = clock.GetUtcNow();
        switch (frame.Outcome)
        {
            case PublishResult result:
                metrics.ResultPublished(result.Result, now);
                break;
            case PublishDeadLetter dead:
                metrics.FrameDeadLettered(dead.Why.ReasonCode);
                log.Warning("Frame {0} went to {1}: {2} ({3})", frame.Name, kafka.Topics.DeadLetter, dead.Why.Detail, dead.Why.ReasonCode);
                break;
        }
    });

    private void WithFrame(long ticket, Action<InFlightFrame> handle)
    {
        if (frames.TryGetValue(ticket, out var frame)) handle(frame);
    }

    /// <summary>Handles a scoring answer for a frame that waits for one; late or repeated answers are dropped.</summary>
    private void WithAwaitedFrame(object? correlation, Action<InFlightFrame> handle)
    {
        if (correlation is long ticket && frames.TryGetValue(ticket, out var frame) && frame.SentAt is not null && frame.Outcome is null)
            handle(frame);
    }

    private Queue<InFlightFrame> CameraQueue(string camera)
    {
        if (!cameraOrder.TryGetValue(camera, out var queue)) cameraOrder[camera] = queue = new Queue<InFlightFrame>();
        return queue;
    }

    private static string RetryKey(InFlightFrame frame) => $"retry-scoring-{frame.Ticket}";

    private static string PublishKey(InFlightFrame frame) => $"retry-publishing-{frame.Ticket}";

    /// <summary>A frame from the moment it is read until Kafka acknowledged its outcome.</summary>
    private sealed class InFlightFrame(long ticket, ConsumeResult<string, byte[]> source, FrameMetadata? metadata, DateTimeOffset ingestedAt)
    {
        public long Ticket { get; } = ticket;
        public ConsumeResult<string, byte[]> Source { get; } = source;
        public FrameMetadata? Metadata { get; } = metadata;
        public DateTimeOffset IngestedAt { get; } = ingestedAt;
        public RgbImage? Prepared { get; set; }

        /// <summary>The frame's size as the camera sent it, before preparation (anomaly regions are in its pixels).</summary>
        public FrameSize? OriginalSize { get; set; }
        public DateTimeOffset? SentAt { get; set; }
        public int ScoringFailures { get; set; }
        public FrameOutcome? Outcome { get; set; }
        public int PublishAttempts { get; set; }
        public int UnacknowledgedMessages { get; set; }
        public bool PublishFailed { get; set; }

        /// <summary>How logs and dead letters name the frame: its id when known, and where it was read.</summary>
        public string Name => $"frame {Metadata?.FrameId ?? "(no id)"} at {Source.Topic}/{Source.Partition.Value}/{Source.Offset.Value}";
    }

    private abstract record FrameOutcome;

    private sealed record PublishResult(InspectionResult Result, FrameAnomalyMap? Map) : FrameOutcome;

    private sealed record PublishDeadLetter(FrameRejection Why) : FrameOutcome;

    private sealed record FrameRead(ConsumeResult<string, byte[]> Message);

    private sealed record ConsumerStopped(Exception Error);

    private sealed record FramePrepared(long Ticket, RgbImage Image, int Size, FrameSize OriginalSize);

    private sealed record FrameUnreadable(long Ticket, string ReasonCode, string Detail);

    private sealed record RetryScoring(long Ticket);

    private sealed record RetryPublishing(long Ticket);

    private sealed record Acknowledged(long Ticket, int Attempt, string Topic, Confluent.Kafka.Error Error);

    private sealed record Sweep
    {
        public static readonly Sweep Instance = new();
    }
}

/// <summary>Thrown by <see cref="FrameIngestActor"/> when its consumer stopped; its supervisor restarts it.</summary>
public sealed class IngestStoppedException(string message, Exception inner) : Exception(message, inner);
