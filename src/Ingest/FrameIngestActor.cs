using Akka.Actor;
using Akka.Event;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Maps;
using Pipeline.Shared.Products;
using Pipeline.Shared.Scoring;

namespace Pipeline.Ingest;

/// <summary>
/// A node's ingest: follows every frame from the frames topic to its outcome in Kafka.
/// <list type="number">
/// <item>A <see cref="FrameConsumerLoop"/> reads frames on its own thread and tells them here.</item>
/// <item>Headers and size are checked (<see cref="FrameHeaders.Parse"/>). The frame's product is its <c>product</c>
/// header, else its camera's in <c>Pipeline:Products</c>, else the default one (<see cref="ProductCatalog.ProductOf"/>).
/// The image is decoded and prepared at the frame size of that product's model (<see cref="FramePreparation.Prepare"/>,
/// the same path as <c>pipeline eval</c>) by the actor's <see cref="FrameDecodeWorkers"/>, threads of their own, never
/// on this actor's thread nor on the thread pool the actors run on. The sizes come from scoring
/// (<see cref="ScoringNodeStatus.ImageSizeOf"/>); what becomes of a frame whose product scoring does not serve is
/// <see cref="ProductReadiness.Of"/>'s to say: it waits (asked again at every sweep) or is dead-lettered
/// (<c>unknown-product</c>, <c>no-model-for-product</c>).</item>
/// <item>The prepared 8-bit frame goes to scoring (<see cref="ScoreFrame"/> with its product), which answers this actor.</item>
/// <item>Outcomes are published by the <see cref="OutcomePublisher"/>, per camera in the order the frames were read:
/// a result to the results topic (and the anomalies topic when anomalous), a frame that cannot be inspected to the
/// dead-letter topic with its reason. Once Kafka acknowledged every message of a frame, the loop may commit its
/// offset.</item>
/// </list>
/// <para>
/// Failures: a frame the model failed on is sent again after a back-off, up to
/// <see cref="IngestOptions.MaxScoringAttempts"/>, then dead-lettered; an interrupted or unanswered frame is sent
/// again without limit (the scoring node may be restarting); a frame a scorer serves no model for
/// (<see cref="ScoringFailureKind.NoModelForProduct"/>) makes this actor ask scoring's status again and decide anew,
/// up to <see cref="IngestOptions.MaxScoringAttempts"/> such answers. Backpressure is per scorer
/// (<see cref="BusyScorers{TScorer, TFrame}"/>): a <see cref="ScoringBusy"/> holds only the frame that scorer refused,
/// until that scorer's <see cref="ScoringAvailable"/>; other frames keep going, and reading stops only while the frames
/// held reach half of <see cref="IngestOptions.MaxInFlightFrames"/>. A publish Kafka did not acknowledge is retried after a back-off. A consumer that
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
    private readonly ProductCatalog products;
    private readonly List<InFlightFrame> waitingForModel = [];
    private readonly Queue<InFlightFrame> waitingForDecodeWorker = new();
    private readonly BusyScorers<IActorRef, InFlightFrame> busyScorers;
    private FrameConsumerLoop? consumer;
    private TopicProducers? producers;
    private FrameDecodeWorkers? decoders;
    private OutcomePublisher? publisher;
    private ClockTimers? timers;
    private long nextTicket;
    private ScoringNodeStatus? scoringStatus;
    private bool askingForStatus;
    private bool readingHeld;

    public FrameIngestActor(IngestOptions options, KafkaOptions kafka, IActorRef scoring, IngestMetrics metrics, ILoggerFactory loggerFactory, KafkaClientsClosing closing, TimeProvider clock, ConsumerStallWatch stallWatch, ProductCatalog products, Func<DecodeFrame, RgbImage>? prepareFrame = null)
    {
        this.products = products;
        this.prepareFrame = prepareFrame;
        this.stallWatch = stallWatch;
        this.closing = closing;
        this.options = options.Validated();
        this.kafka = kafka;
        this.scoring = scoring;
        this.metrics = metrics;
        this.loggerFactory = loggerFactory;
        this.clock = clock;
        busyScorers = new BusyScorers<IActorRef, InFlightFrame>(Math.Max(1, this.options.MaxInFlightFrames / 2));

        Receive<FrameRead>(read => Accept(read.Message));
        Receive<ConsumerStopped>(stopped => throw new IngestStoppedException($"The frames consumer stopped: {stopped.Error.Message}", stopped.Error));
        Receive<FrameDecoded>(Prepared);
        Receive<FrameUndecodable>(Unreadable);
        Receive<ScoringNodeStatus>(LearnModels);
        Receive<Status.Failure>(_ => askingForStatus = false);
        Receive<FrameScored>(Scored);
        Receive<ScoringFailed>(Failed);
        Receive<ScoringBusy>(Busy);
        Receive<ScoringAvailable>(_ => Release(Sender));
        Receive<RetryScoring>(retry => Retry(retry.Ticket));
        Receive<DecideAgain>(again => WithFrame(again.Ticket, frame =>
        {
            if (frame.Outcome is null && frame.SentAt is null) StartPreparing(frame);
        }));
        Receive<RetryPublishing>(retry => publisher!.Retry(retry));
        Receive<OutcomeAcknowledged>(Acknowledge);
        Receive<Sweep>(_ => SweepOverdue());
        Receive<GetIngestStatus>(_ => Sender.Tell(new IngestStatus(frames.Count, FrameSizeServed(), consumer?.Connected ?? false, consumer?.Lag ?? 0, busyScorers.Waiting, readingHeld)));
    }

    /// <param name="scoring">Where frames are scored: this node's scoring actor, or the cluster router to scoring nodes.</param>
    /// <param name="closing">Where the actor leaves the closing of its Kafka clients when it stops, for the node to wait on.</param>
    /// <param name="stallWatch">Told of the consumer's progress, for the node's health checks (the node's one; a private one when null).</param>
    /// <param name="clock">Time for the actor's timers and its consumer (the system's when null).</param>
    /// <param name="products">Which product a frame is (the node's <c>Pipeline:Products</c>); every frame the default product's when null.</param>
    public static Props Props(IngestOptions options, KafkaOptions kafka, IActorRef scoring, IngestMetrics metrics, ILoggerFactory loggerFactory, KafkaClientsClosing closing, TimeProvider? clock = null, ConsumerStallWatch? stallWatch = null, ProductCatalog? products = null) =>
        Props(options, kafka, scoring, metrics, loggerFactory, closing, clock, stallWatch, prepareFrame: null, products);

    /// <param name="prepareFrame">Stands in for decoding and preparing on the decode workers (tests).</param>
    internal static Props Props(IngestOptions options, KafkaOptions kafka, IActorRef scoring, IngestMetrics metrics, ILoggerFactory loggerFactory, KafkaClientsClosing closing, TimeProvider? clock, ConsumerStallWatch? stallWatch, Func<DecodeFrame, RgbImage>? prepareFrame, ProductCatalog? products = null) =>
        Akka.Actor.Props.Create(() => new FrameIngestActor(options, kafka, scoring, metrics, loggerFactory, closing, clock ?? TimeProvider.System, stallWatch ?? new ConsumerStallWatch(clock ?? TimeProvider.System), products ?? ProductCatalog.DefaultOnly, prepareFrame));

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
        AskForStatus();
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

        var metadata = parsed.Metadata;
        var product = products.ProductOf(metadata.CameraId, metadata.Product);
        var frame = new InFlightFrame(ticket, message, metadata, clock.GetUtcNow(), product, ProductSource(metadata, product));
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

    /// <summary>
    /// Hands the frame to a decode worker once its product's frame size is known and the workers' queue has room (or
    /// straight to scoring when it is prepared at that size already); dead-letters it when scoring serves no model of
    /// its product and will not (<see cref="ProductReadiness.Of"/>).
    /// </summary>
    private void StartPreparing(InFlightFrame frame)
    {
        switch (ProductReadiness.Of(scoringStatus, products, frame.Product, frame.ProductSource))
        {
            case ProductReadiness.NotServed notServed:
                Finish(frame, new DeadLetterOutcome(notServed.Rejection, frame.Product));
                return;
            case ProductReadiness.Served { ImageSize: var size }:
                if (frame.Prepared is not null && frame.PreparedSize == size)
                {
                    SendToScoring(frame);
                    return;
                }

                frame.Prepared = null;
                if (waitingForDecodeWorker.Count > 0 || !TryQueueForDecoding(frame, size)) waitingForDecodeWorker.Enqueue(frame);
                return;
            default:
                waitingForModel.Add(frame);
                AskForStatus();
                return;
        }
    }

    /// <summary>The frame size scoring serves <paramref name="product"/> at; null while it does not.</summary>
    private int? SizeOf(string product) => scoringStatus?.ImageSizeOf(product);

    private bool TryQueueForDecoding(InFlightFrame frame, int size) =>
        decoders!.TryQueue(new DecodeFrame(frame.Ticket, frame.Source.Message.Value ?? [], frame.Name, options.MaxImagePixels, size, Self));

    /// <summary>A decode worker answered, so its queue has room: frames that did not fit go now, in the order they came.</summary>
    private void QueueWaitingForDecodeWorker()
    {
        while (waitingForDecodeWorker.TryPeek(out var next))
        {
            if (frames.ContainsKey(next.Ticket))
            {
                if (SizeOf(next.Product) is not { } size) waitingForModel.Add(next);
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
        if (prepared.Size != SizeOf(frame.Product))
        {
            StartPreparing(frame); // the product's frame size changed meanwhile
            return;
        }

        frame.Prepared = prepared.Image;
        frame.PreparedSize = prepared.Size;
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
        var metadata = frame.Metadata!;
        frame.SentAt = clock.GetUtcNow();
        scoring.Tell(new ScoreFrame(metadata.FrameId, metadata.CameraId, metadata.CapturedAt, frame.IngestedAt, frame.Prepared!, frame.Ticket, metadata.Label, frame.OriginalSize, frame.Product), Self);
    }

    private void Scored(FrameScored scored) => WithAwaitedFrame(scored.Correlation, frame =>
    {
        var source = frame.Source.TopicPartitionOffset;
        frame.SentAt = null;
        Finish(frame, new ResultOutcome(new InspectionResult
        {
            FrameId = scored.FrameId,
            CameraId = scored.CameraId,
            Product = scored.Product,
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
                metrics.ScoringRetried("interrupted", frame.Product);
                timers!.StartSingle(RetryKey(frame), new RetryScoring(frame.Ticket), options.RetryDelay);
                return;
            case ScoringFailureKind.InvalidFrame:
                // Prepared for another model than the one scoring now: learn the frame size again and re-prepare.
                if (++frame.ScoringFailures >= options.MaxScoringAttempts)
                {
                    DeadLetter(frame, DeadLetterReasons.ScoringRefused, failed.Reason);
                    return;
                }

                metrics.ScoringRetried("refused", frame.Product);
                scoringStatus = null;
                StartPreparing(frame);
                return;
            case ScoringFailureKind.NoModelForProduct:
                // The scorer serves no model of the frame's product: ask which products scoring serves, and after a
                // back-off decide again (send, wait, or dead-letter), as often as the options allow.
                if (++frame.NoModelAnswers >= options.MaxScoringAttempts)
                {
                    DeadLetter(frame, products.Known.Contains(frame.Product) ? DeadLetterReasons.NoModelForProduct : DeadLetterReasons.UnknownProduct,
                        $"Scoring answered {frame.NoModelAnswers} times that it serves no model of product '{frame.Product}' ({frame.ProductSource}); last: {failed.Reason}");
                    return;
                }

                metrics.ScoringRetried("no-model", frame.Product);
                AskForStatus();
                timers!.StartSingle(RetryKey(frame), new DecideAgain(frame.Ticket), options.RetryDelayFor(frame.NoModelAnswers));
                return;
            default:
                if (++frame.ScoringFailures >= options.MaxScoringAttempts)
                {
                    DeadLetter(frame, DeadLetterReasons.ScoringFailed, $"Scoring failed {frame.ScoringFailures} times; last: {failed.Reason}");
                    return;
                }

                metrics.ScoringRetried("model-failed", frame.Product);
                timers!.StartSingle(RetryKey(frame), new RetryScoring(frame.Ticket), options.RetryDelayFor(frame.ScoringFailures));
                return;
        }
    });

    /// <summary>The scorer that answered (<see cref="ActorBase.Sender"/>) refused the frame: it waits for that scorer's room.</summary>
    private void Busy(ScoringBusy busy) => WithAwaitedFrame(busy.Correlation, frame =>
    {
        frame.SentAt = null;
        var scorer = Sender ?? ActorRefs.Nobody;
        if (busyScorers.Refused(scorer, frame, clock.GetUtcNow()))
            log.Info("Scorer {0} is busy ({1} of {2} frames queued); its frames wait until it has room, others go on", scorer.Path, busy.QueuedFrames, busy.QueueCapacity);
        HoldReadingWhileManyWait();
    });

    /// <summary><paramref name="scorer"/> has room again (or was silent too long): the frames it refused go again, in read order.</summary>
    private void Release(IActorRef scorer)
    {
        foreach (var frame in busyScorers.Available(scorer ?? ActorRefs.Nobody).OrderBy(frame => frame.Ticket))
        {
            if (frames.ContainsKey(frame.Ticket) && frame.Outcome is null && frame.SentAt is null && frame.Prepared is not null) SendToScoring(frame);
        }

        HoldReadingWhileManyWait();
    }

    /// <summary>Reading stops while the frames busy scorers refused reach the bound (half the in-flight frames), and goes on below it.</summary>
    private void HoldReadingWhileManyWait()
    {
        if (busyScorers.HoldsReading == readingHeld) return;
        readingHeld = busyScorers.HoldsReading;
        consumer?.Hold(readingHeld);
        if (readingHeld)
            log.Info("{0} frames wait for busy scorers ({1}); reading paused until they have room", busyScorers.Waiting, busyScorers.Scorers.Count);
        else
            log.Info("{0} frames wait for busy scorers; reading again", busyScorers.Waiting);
    }

    private void Retry(long ticket) => WithFrame(ticket, frame =>
    {
        if (frame.Outcome is null && frame.SentAt is null && frame.Prepared is not null) SendToScoring(frame);
    });

    private void AskForStatus()
    {
        if (askingForStatus) return;
        askingForStatus = true;
        scoring.Ask<ScoringNodeStatus>(GetScoringStatus.Instance, StatusTimeout).PipeTo(Self);
    }

    /// <summary>Scoring said which products it serves at which sizes: the frames waiting for a model are decided again.</summary>
    private void LearnModels(ScoringNodeStatus status)
    {
        askingForStatus = false;
        foreach (var model in status.Scorers.FirstOrDefault()?.ServedModels ?? [])
        {
            if (status.ImageSizeOf(model.Product) is { } size && scoringStatus?.ImageSizeOf(model.Product) != size)
                log.Info("Scoring takes {0}×{0} frames of product {1} (model {2}); preparing its frames to that size", size, model.Product, model.Version);
        }

        scoringStatus = status;
        var waiting = waitingForModel.ToArray();
        waitingForModel.Clear();
        foreach (var frame in waiting.Where(frame => frames.ContainsKey(frame.Ticket) && frame.Outcome is null && frame.SentAt is null)) StartPreparing(frame);
    }

    /// <summary>The frame size of the default product's model, else of the first product served; null while none is.</summary>
    private int? FrameSizeServed() =>
        scoringStatus is not { } status ? null
        : status.ImageSizeOf(ProductName.Default) ?? status.Products.Select(status.ImageSizeOf).FirstOrDefault(size => size is not null);

    /// <summary>Where a frame's product came from, in words, for dead letters.</summary>
    private string ProductSource(FrameMetadata metadata, string product) =>
        metadata.Product is not null ? "the frame's product header"
        : product != ProductName.Default ? $"the product of camera {FrameHeaders.Excerpt(metadata.CameraId)} in {ProductCatalog.Section}"
        : "the default product: the frame names none and its camera is mapped to none";

    /// <summary>
    /// Once a second: scoring's status is asked for until it serves a model (the node is not ready before: see
    /// <see cref="IngestStatus.FrameSize"/>) and while frames wait for their product's model; frames
    /// unanswered for too long are sent again; a scorer silent since it said busy is tried again.
    /// </summary>
    private void SweepOverdue()
    {
        var now = clock.GetUtcNow();
        if (FrameSizeServed() is null || waitingForModel.Count > 0) AskForStatus();
        foreach (var scorer in busyScorers.BusySince(now - options.ScoringTimeout))
        {
            log.Warning("Scorer {0} said it was busy {1:0} s ago and has not said it has room since; sending its frames again", scorer.Path, busyScorers.BusyFor(scorer, now)!.Value.TotalSeconds);
            Release(scorer);
        }

        foreach (var frame in frames.Values.Where(f => f.SentAt is { } sent && now - sent > options.ScoringTimeout).ToArray())
        {
            log.Warning("Frame {0} has had no answer from scoring for {1:0} s; sending it again", frame.Metadata!.FrameId, (now - frame.SentAt!.Value).TotalSeconds);
            metrics.ScoringRetried("timeout", frame.Product);
            frame.SentAt = null;
            SendToScoring(frame);
        }
    }

    private void DeadLetter(InFlightFrame frame, string reasonCode, string detail) => Finish(frame, new DeadLetterOutcome(new FrameRejection(reasonCode, detail), frame.Metadata is null ? null : frame.Product));

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
    private sealed class InFlightFrame(long ticket, ConsumeResult<string, byte[]> source, FrameMetadata? metadata, DateTimeOffset ingestedAt, string product = ProductName.Default, string productSource = "")
    {
        public long Ticket { get; } = ticket;

        /// <summary>The frame's product (<see cref="ProductCatalog.ProductOf"/>): its model scores it.</summary>
        public string Product { get; } = product;

        /// <summary>Where <see cref="Product"/> came from, in words.</summary>
        public string ProductSource { get; } = productSource;

        /// <summary>The size <see cref="Prepared"/> was prepared at.</summary>
        public int PreparedSize { get; set; }

        /// <summary>How often scoring answered that it serves no model of the frame's product.</summary>
        public int NoModelAnswers { get; set; }
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

    /// <summary>Decide again what becomes of a frame a scorer had no model for (send, wait or dead-letter).</summary>
    private sealed record DecideAgain(long Ticket);

    private sealed record Sweep
    {
        public static readonly Sweep Instance = new();
    }
}

/// <summary>Thrown by <see cref="FrameIngestActor"/> when its consumer stopped; its supervisor restarts it.</summary>
public sealed class IngestStoppedException(string message, Exception inner) : Exception(message, inner);
