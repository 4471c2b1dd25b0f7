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
/// model's frame size (<see cref="FramePreparation.Prepare"/>, the same path as <c>pipeline eval</c>) by the
/// actor's <see cref="FrameDecodeWorkers"/>, threads of their own, never on this actor's thread nor on the thread
/// pool the actors run on. The frame size comes from scoring (<see cref="ScoringNodeStatus.ImageSize"/>); frames wait
/// until it is known.</item>
/// <item>The prepared 8-bit frame goes to scoring (<see cref="ScoreFrame"/>), which answers this actor.</item>
/// <item>Outcomes are published by the <see cref="OutcomePublisher"/>, per camera in the order the frames were read:
/// a result to the results topic (and the anomalies topic when anomalous), a frame that cannot be inspected to the
/// dead-letter topic with its reason. Once Kafka acknowledged every message of a frame, the loop may commit its
/// offset.</item>
/// </list>
/// <para>
/// Failures: a frame the model failed on is sent again after a back-off, up to
/// <see cref="IngestOptions.MaxScoringAttempts"/>, then dead-lettered; an interrupted or unanswered frame is sent
/// again without limit (the scoring node may be restarting). <see cref="ScoringBusy"/> holds the consumer until
/// <see cref="ScoringAvailable"/>. A publish Kafka did not acknowledge is retried after a back-off. A consumer that
/// stops on a fatal error makes this actor throw; its supervisor restarts it with back-off, and frames not yet
/// committed are read again (at least once: a result may be published twice, with the same frame id).
/// </para>
/// <para>
/// Time: every timer (retries, the sweep) runs on the <see cref="TimeProvider"/> given (<see cref="ClockTimers"/>), so
/// tests move time instead of waiting for it.
/// </para>
/// </summary>
public sealed class FrameIngestActor : ReceiveActor
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
    private readonly Func<DecodeFrame, RgbImage>? prepareFrame;
    private readonly Dictionary<long, InFlightFrame> frames = [];
    private readonly List<InFlightFrame> waitingForFrameSize = [];
    private readonly Queue<InFlightFrame> waitingForDecodeWorker = new();
    private readonly List<InFlightFrame> waitingForCapacity = [];
    private FrameConsumerLoop? consumer;
    private TopicProducers? producers;
    private FrameDecodeWorkers? decoders;
    private OutcomePublisher? publisher;
    private ClockTimers? timers;
    private long nextTicket;
    private int? frameSize;
    private bool askingForFrameSize;
    private DateTimeOffset? scoringBusySince;

    public FrameIngestActor(IngestOptions options, KafkaOptions kafka, IActorRef scoring, IngestMetrics metrics, ILoggerFactory loggerFactory, KafkaClientsClosing closing, TimeProvider clock, ConsumerStallWatch stallWatch, Func<DecodeFrame, RgbImage>? prepareFrame = null)
    {
        this.prepareFrame = prepareFrame;
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
        Receive<FrameDecoded>(Prepared);
        Receive<FrameUndecodable>(Unreadable);
        Receive<ScoringNodeStatus>(LearnFrameSize);
        Receive<Status.Failure>(_ => askingForFrameSize = false);
        Receive<FrameScored>(Scored);
        Receive<ScoringFailed>(Failed);
        Receive<ScoringBusy>(Busy);
        Receive<ScoringAvailable>(_ => ResumeScoring());
        Receive<RetryScoring>(retry => Retry(retry.Ticket));
        Receive<RetryPublishing>(retry => publisher!.Retry(retry));
        Receive<OutcomeAcknowledged>(Acknowledge);
        Receive<Sweep>(_ => SweepOverdue());
        Receive<GetIngestStatus>(_ => Sender.Tell(new IngestStatus(frames.Count, frameSize, consumer?.Connected ?? false, consumer?.Lag ?? 0)));
    }

    /// <param name="scoring">Where frames are scored: this node's scoring actor, or the cluster router to scoring nodes.</param>
    /// <param name="closing">Where the actor leaves the closing of its Kafka clients when it stops, for the node to wait on.</param>
    /// <param name="stallWatch">Told of the consumer's progress, for the node's health checks (the node's one; a private one when null).</param>
    /// <param name="clock">Time for the actor's timers and its consumer (the system's when null).</param>
    public static Props Props(IngestOptions options, KafkaOptions kafka, IActorRef scoring, IngestMetrics metrics, ILoggerFactory loggerFactory, KafkaClientsClosing closing, TimeProvider? clock = null, ConsumerStallWatch? stallWatch = null) =>
        Props(options, kafka, scoring, metrics, loggerFactory, closing, clock, stallWatch, prepareFrame: null);

    /// <param name="prepareFrame">Stands in for decoding and preparing on the decode workers (tests).</param>
    internal static Props Props(IngestOptions options, KafkaOptions kafka, IActorRef scoring, IngestMetrics metrics, ILoggerFactory loggerFactory, KafkaClientsClosing closing, TimeProvider? clock, ConsumerStallWatch? stallWatch, Func<DecodeFrame, RgbImage>? prepareFrame) =>
        Akka.Actor.Props.Create(() => new FrameIngestActor(options, kafka, scoring, metrics, loggerFactory, closing, clock ?? TimeProvider.System, stallWatch ?? new ConsumerStallWatch(clock ?? TimeProvider.System), prepareFrame));

    protected override void PreStart()
    {
        var self = Self;
        timers = new ClockTimers(clock, self);
        decoders = prepareFrame is null
            ? new FrameDecodeWorkers(options.DecodeWorkers, options.MaxInFlightFrames)
            : new FrameDecodeWorkers(options.DecodeWorkers, options.MaxInFlightFrames, prepareFrame);
        producers = KafkaClients.CreateProducers(kafka, "ingest", [PipelineTopic.Results, PipelineTopic.Anomalies, PipelineTopic.DeadLetter, PipelineTopic.AnomalyMaps],
            loggerFactory.CreateLogger("Pipeline.Ingest.Producer"));
        publisher = new OutcomePublisher(kafka, producers, options, metrics, clock, timers, self, log);
        consumer = new FrameConsumerLoop(kafka, options.MaxInFlightFrames,
            message => self.Tell(new FrameRead(message)),
            error => self.Tell(new ConsumerStopped(error)),
            loggerFactory.CreateLogger<FrameConsumerLoop>(), metrics, stallWatch, clock);
        consumer.Start();
        timers.StartPeriodic(SweepTimer, Sweep.Instance, SweepInterval);
        AskForFrameSize();
    }

    protected override void PostStop()
    {
        // Closing commits what is done and leaves the group; flushing waits for acknowledgements: both block, so not
        // here. Frames still in flight are not committed and will be read again.
        timers?.Dispose();
        decoders?.Dispose();
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
            publisher!.Read(ticket, camera: null);
            Finish(unordered, new DeadLetterOutcome(parsed.Rejection));
            return;
        }

        var frame = new InFlightFrame(ticket, message, parsed.Metadata, clock.GetUtcNow());
        frames.Add(ticket, frame);
        publisher!.Read(ticket, frame.Metadata!.CameraId);
        var size = message.Message.Value?.Length ?? 0;
        if (size > options.MaxFrameBytes)
        {
            DeadLetter(frame, DeadLetterReasons.Oversized, $"The frame is {size:N0} bytes, over {IngestOptions.Section}:MaxFrameBytes ({options.MaxFrameBytes:N0}).");
            return;
        }

        StartPreparing(frame);
    }

    /// <summary>Hands the frame to a decode worker once the model's frame size is known and the workers' queue has room.</summary>
    private void StartPreparing(InFlightFrame frame)
    {
        if (frameSize is not { } size)
        {
            waitingForFrameSize.Add(frame);
            AskForFrameSize();
            return;
        }

        if (waitingForDecodeWorker.Count > 0 || !TryQueueForDecoding(frame, size)) waitingForDecodeWorker.Enqueue(frame);
    }

    private bool TryQueueForDecoding(InFlightFrame frame, int size) =>
        decoders!.TryQueue(new DecodeFrame(frame.Ticket, frame.Source.Message.Value ?? [], frame.Name, options.MaxImagePixels, size, Self));

    /// <summary>A decode worker answered, so its queue has room: frames that did not fit go now, in the order they came.</summary>
    private void QueueWaitingForDecodeWorker()
    {
        while (waitingForDecodeWorker.TryPeek(out var next))
        {
            if (frames.ContainsKey(next.Ticket))
            {
                if (frameSize is not { } size) waitingForFrameSize.Add(next);
                else if (!TryQueueForDecoding(next, size)) return;
            }

            waitingForDecodeWorker.Dequeue();
        }
    }

    private void Prepared(FrameDecoded prepared)
    {
        QueueWaitingForDecodeWorker();
        WithFrame(prepared.Ticket, frame => UsePrepared(frame, prepared));
    }

    private void UsePrepared(InFlightFrame frame, FrameDecoded prepared)
    {
        if (prepared.Size != frameSize)
        {
            StartPreparing(frame); // the model's frame size changed meanwhile
            return;
        }

        frame.Prepared = prepared.Image;
        frame.OriginalSize = prepared.OriginalSize;
        SendToScoring(frame);
    }

    private void Unreadable(FrameUndecodable unreadable)
    {
        QueueWaitingForDecodeWorker();
        WithFrame(unreadable.Ticket, frame =>
        {
            DeadLetter(frame, unreadable.ReasonCode, unreadable.Detail);
        });
    }

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
        Finish(frame, new ResultOutcome(new InspectionResult
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
        }, scored.Map));
    });

    private void Failed(ScoringFailed failed) => WithAwaitedFrame(failed.Correlation, frame =>
    {
        frame.SentAt = null;
        switch (failed.Kind)
        {
            case ScoringFailureKind.Interrupted:
                metrics.ScoringRetried("interrupted");
                timers!.StartSingle(RetryKey(frame), new RetryScoring(frame.Ticket), options.RetryDelay);
                return;
            case ScoringFailureKind.InvalidFrame:
                // Prepared for another model than the one scoring now: learn the frame size again and re-prepare.
                if (++frame.ScoringFailures >= options.MaxScoringAttempts)
                {
                    DeadLetter(frame, DeadLetterReasons.ScoringRefused, failed.Reason);
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
                    return;
                }

                metrics.ScoringRetried("model-failed");
                timers!.StartSingle(RetryKey(frame), new RetryScoring(frame.Ticket), options.RetryDelayFor(frame.ScoringFailures));
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

    private void DeadLetter(InFlightFrame frame, string reasonCode, string detail) => Finish(frame, new DeadLetterOutcome(new FrameRejection(reasonCode, detail)));

    /// <summary>The frame has its outcome: nothing more is sent to scoring for it, and it goes to Kafka in its camera's turn.</summary>
    private void Finish(InFlightFrame frame, FrameOutcome outcome)
    {
        frame.Outcome = outcome;
        frame.Prepared = null;
        publisher!.Publish(frame.Ticket, frame.Source, frame.Name, outcome);
    }

    private void Acknowledge(OutcomeAcknowledged acknowledged)
    {
        if (publisher!.Acknowledge(acknowledged) is not { } source) return;
        frames.Remove(acknowledged.Ticket);
        consumer?.Completed(source);
    }

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

    private static string RetryKey(InFlightFrame frame) => $"retry-scoring-{frame.Ticket}";

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

        /// <summary>How logs and dead letters name the frame: its id when known, and where it was read.</summary>
        public string Name => $"frame {Metadata?.FrameId ?? "(no id)"} at {Source.Topic}/{Source.Partition.Value}/{Source.Offset.Value}";
    }

    private sealed record FrameRead(ConsumeResult<string, byte[]> Message);

    private sealed record ConsumerStopped(Exception Error);

    private sealed record RetryScoring(long Ticket);

    private sealed record Sweep
    {
        public static readonly Sweep Instance = new();
    }
}

/// <summary>Thrown by <see cref="FrameIngestActor"/> when its consumer stopped; its supervisor restarts it.</summary>
public sealed class IngestStoppedException(string message, Exception inner) : Exception(message, inner);
