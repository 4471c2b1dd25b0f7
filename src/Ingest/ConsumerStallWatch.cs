namespace Pipeline.Ingest;

/// <summary>
/// Notices a frames consumer that should be reading and is not: it holds partitions with frames waiting (lag above 0)
/// and has room for them (not held by scoring, below its in-flight limit), yet reads nothing. The consumer's thread
/// <see cref="Report"/>s its progress on every pass; the health checks ask <see cref="Check"/> how long it has been
/// stalled (readiness and liveness turn it into "not ready" and, later, "not live", see
/// <see cref="IngestOptions.NotReadyAfterStalledSeconds"/>).
/// </summary>
/// <remarks>
/// A consumer whose thread stops reporting while it should be reading (frames waited at its last report, and it hangs
/// in a call) counts as stalled from that report on. One instance per node, shared by the consumers the ingest actor makes over its restarts; time comes
/// from the <see cref="TimeProvider"/>, so tests control it. Thread-safe.
/// </remarks>
public sealed class ConsumerStallWatch(TimeProvider clock)
{
    private readonly Lock gate = new();
    private ConsumerProgress? last;
    private DateTimeOffset lastReportAt;
    private DateTimeOffset lastReadAt;
    private DateTimeOffset? waitingSince;

    public ConsumerStallWatch()
        : this(TimeProvider.System)
    {
    }

    /// <summary>What the consumer has and has done, as of now.</summary>
    public void Report(ConsumerProgress progress)
    {
        var now = clock.GetUtcNow();
        lock (gate)
        {
            if (last is null || progress.FramesRead != last.Value.FramesRead) lastReadAt = now;
            waitingSince = progress.ShouldBeReading ? waitingSince ?? now : null;
            last = progress;
            lastReportAt = now;
        }
    }

    /// <summary>The consumer was stopped (the ingest actor restarts or the node shuts down): nothing is expected of it until it reports again.</summary>
    public void Stopped()
    {
        lock (gate)
        {
            last = null;
            waitingSince = null;
        }
    }

    /// <summary>How long the consumer has been stalled (zero when it is not), and why.</summary>
    public ConsumerStall Check()
    {
        var now = clock.GetUtcNow();
        lock (gate)
        {
            if (last is not { } progress || waitingSince is not { } since) return ConsumerStall.None;
            var stalledSince = since > lastReadAt ? since : lastReadAt;
            var stalledFor = now - stalledSince;
            if (stalledFor <= TimeSpan.Zero) return ConsumerStall.None;
            var silentFor = now - lastReportAt;
            var reason = $"the frames consumer holds {progress.AssignedPartitions} partition(s) with {progress.Lag} frame(s) waiting and room for " +
                $"{progress.FreeSlots} more, yet has read none for {stalledFor.TotalSeconds:0} s" +
                (progress.BrokersReachable ? "" : " (the brokers are unreachable)") +
                (silentFor > TimeSpan.FromSeconds(5) ? $"; its thread has not reported for {silentFor.TotalSeconds:0} s" : "");
            return new ConsumerStall(stalledFor, progress.BrokersReachable, reason);
        }
    }
}

/// <summary>A frames consumer's state on one pass of its loop.</summary>
/// <param name="AssignedPartitions">Partitions of the frames topic the group gave this consumer.</param>
/// <param name="Lag">Frames in those partitions not read yet.</param>
/// <param name="FreeSlots">Frames it may read before its in-flight limit; 0 while scoring holds it.</param>
/// <param name="FramesRead">Frames read since the consumer started (any increase is progress).</param>
/// <param name="BrokersReachable">False while every broker is down.</param>
public readonly record struct ConsumerProgress(int AssignedPartitions, long Lag, int FreeSlots, long FramesRead, bool BrokersReachable)
{
    /// <summary>Frames wait for this consumer and it has room for them.</summary>
    public bool ShouldBeReading => AssignedPartitions > 0 && Lag > 0 && FreeSlots > 0;
}

/// <summary>How long a consumer has been stalled; <see cref="StalledFor"/> is zero when it is not.</summary>
/// <param name="BrokersReachable">False when the brokers were unreachable at the last report (a restart would not help).</param>
public sealed record ConsumerStall(TimeSpan StalledFor, bool BrokersReachable, string? Reason)
{
    public static ConsumerStall None { get; } = new(TimeSpan.Zero, true, null);

    public bool IsStalled => StalledFor > TimeSpan.Zero;

    /// <summary>Stalled long enough for the node to report not ready (<see cref="IngestOptions.NotReadyAfterStalledSeconds"/>).</summary>
    public bool MakesNotReady(IngestOptions options) => IsStalled && StalledFor >= options.NotReadyAfterStalled;

    /// <summary>
    /// Stalled long enough, with the brokers reachable, for the node to report not live
    /// (<see cref="IngestOptions.NotLiveAfterStalledSeconds"/>): a restart would give it a new consumer.
    /// </summary>
    public bool MakesNotLive(IngestOptions options) => IsStalled && BrokersReachable && StalledFor >= options.NotLiveAfterStalled;
}
