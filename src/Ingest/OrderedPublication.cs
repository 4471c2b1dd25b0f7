namespace Pipeline.Ingest;

/// <summary>
/// When each frame's outcome (its result, or its dead letter) may be published, and when it is safely in Kafka.
/// <list type="bullet">
/// <item>Order: a frame is <see cref="Read"/> with its camera and is <see cref="Done"/> when its outcome is known.
/// Per camera, outcomes go out in the order the frames were read: a frame that is done waits behind the earlier
/// frames of its camera still in work, and a slow frame holds back its own camera only. A frame without a
/// trustworthy camera (its headers were refused) has no order to keep and goes out as soon as it is done.</item>
/// <item>Acknowledgement: publishing an outcome is an attempt of one or more messages
/// (<see cref="Publishing"/>). The frame is published once Kafka acknowledged every message of its latest attempt;
/// when any was refused the attempt failed and the owner publishes again (a new attempt); reports of earlier
/// attempts are ignored.</item>
/// </list>
/// </summary>
/// <remarks>
/// Pure bookkeeping over the owner's tickets, no Kafka calls, and not thread-safe: one owner (the ingest actor) calls
/// it, as <see cref="Shared.Kafka.OffsetCommitTracker"/> is called by the consumer loop.
/// </remarks>
public sealed class OrderedPublication
{
    private readonly Dictionary<long, Publication> frames = [];
    private readonly Dictionary<string, Queue<long>> cameras = new(StringComparer.Ordinal);

    /// <summary>Frames read and not yet published.</summary>
    public int Count => frames.Count;

    /// <summary>The frame of <paramref name="ticket"/> was read from <paramref name="camera"/> (null: no order to keep).</summary>
    /// <exception cref="ArgumentException">The ticket is already here.</exception>
    public void Read(long ticket, string? camera)
    {
        if (!frames.TryAdd(ticket, new Publication(camera)))
            throw new ArgumentException($"Frame {ticket} was read already; each ticket is read once.", nameof(ticket));
        if (camera is null) return;
        if (!cameras.TryGetValue(camera, out var queue)) cameras[camera] = queue = new Queue<long>();
        queue.Enqueue(ticket);
    }

    /// <summary>
    /// The frame of <paramref name="ticket"/> has its outcome. Returns the frames whose outcome may now be published,
    /// in the order their camera's frames were read: this one and the done frames behind it, or none while an earlier
    /// frame of the camera is still in work. A frame is handed out once.
    /// </summary>
    /// <exception cref="ArgumentException">The ticket was never read here, or is published already.</exception>
    public IReadOnlyList<long> Done(long ticket)
    {
        var frame = Frame(ticket);
        if (frame.Done) return [];
        frame.Done = true;
        if (frame.Camera is not { } camera) return [ticket];

        var due = new List<long>();
        var queue = cameras[camera];
        while (queue.TryPeek(out var head) && frames[head].Done)
            due.Add(queue.Dequeue());
        if (queue.Count == 0) cameras.Remove(camera);
        return due;
    }

    /// <summary>An attempt to publish the frame's outcome as <paramref name="messages"/> messages begins; returns its number (1, 2, …).</summary>
    public int Publishing(long ticket, int messages)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(messages);
        var frame = Frame(ticket);
        frame.Attempt++;
        frame.Unacknowledged = messages;
        frame.Refused = false;
        return frame.Attempt;
    }

    /// <summary>
    /// Kafka's report on one message of attempt <paramref name="attempt"/>: <paramref name="delivered"/> or refused.
    /// When it says <see cref="PublicationState.Published"/>, the frame is forgotten here.
    /// </summary>
    public PublicationState Acknowledged(long ticket, int attempt, bool delivered)
    {
        if (!frames.TryGetValue(ticket, out var frame) || attempt != frame.Attempt || frame.Unacknowledged == 0)
            return PublicationState.Stale;
        frame.Refused |= !delivered;
        if (--frame.Unacknowledged > 0) return PublicationState.Waiting;
        if (frame.Refused) return PublicationState.Failed;
        frames.Remove(ticket);
        return PublicationState.Published;
    }

    private Publication Frame(long ticket) => frames.TryGetValue(ticket, out var frame)
        ? frame
        : throw new ArgumentException($"Frame {ticket} is not awaiting publication here (never read, or published already).", nameof(ticket));

    private sealed class Publication(string? camera)
    {
        public string? Camera { get; } = camera;
        public bool Done { get; set; }
        public int Attempt { get; set; }
        public int Unacknowledged { get; set; }
        public bool Refused { get; set; }
    }
}

/// <summary>Where a frame's publication stands after one of Kafka's reports.</summary>
public enum PublicationState
{
    /// <summary>A report of an earlier attempt, or of a frame no longer here: ignore it.</summary>
    Stale,

    /// <summary>Messages of the attempt are still unacknowledged.</summary>
    Waiting,

    /// <summary>Every message of the attempt was acknowledged: the outcome is safely in Kafka.</summary>
    Published,

    /// <summary>Every message was answered and Kafka refused at least one: publish the outcome again.</summary>
    Failed,
}
