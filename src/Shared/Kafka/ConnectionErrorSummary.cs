namespace Pipeline.Shared.Kafka;

/// <summary>
/// Turns a Kafka client's stream of connection errors into one log line per change of state. While the brokers are
/// unreachable librdkafka reports every failed connection attempt, twice (as an error and as a log line), for every
/// client of the process: about 86 lines a second in one outage. Here the first error of an outage is logged, the
/// ones after it are counted, a reminder with the count comes every <c>reminderInterval</c>, and once no error has
/// come for <c>quietPeriod</c> one line says so, with the count and the duration.
/// </summary>
/// <remarks>
/// librdkafka says nothing when a connection succeeds again (at its default log level), so the end of an outage is
/// taken from the errors stopping, and the closing line says just that. Pure: the time comes from the
/// <see cref="TimeProvider"/>, and <see cref="Poll"/> is called by the owner's timer (tests call it). Thread-safe:
/// librdkafka calls the error and log handlers on threads of its own.
/// </remarks>
public sealed class ConnectionErrorSummary(TimeProvider clock, TimeSpan quietPeriod, TimeSpan reminderInterval)
{
    /// <summary>No error for this long ends an outage; longer than librdkafka's longest reconnect back-off (10 s by default).</summary>
    public static readonly TimeSpan DefaultQuietPeriod = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan DefaultReminderInterval = TimeSpan.FromSeconds(60);

    private readonly Lock gate = new();
    private Outage? outage;

    /// <summary>True from the first error of an outage until <see cref="Poll"/> ends it.</summary>
    public bool InOutage
    {
        get
        {
            lock (gate) return outage is not null;
        }
    }

    /// <summary>A connection error: the note to log when it begins an outage, null when it is only counted.</summary>
    public ConnectionErrorNote? Failed(string reason)
    {
        var now = clock.GetUtcNow();
        lock (gate)
        {
            if (outage is { } current)
            {
                current.Errors++;
                current.LastReason = reason;
                current.LastErrorAt = now;
                return null;
            }

            outage = new Outage(now, reason);
            return new ConnectionErrorNote(ConnectionErrorState.Unreachable, reason, 1, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// Called every second or so while <see cref="InOutage"/>: the reminder when one is due, the closing note once no
    /// error has come for the quiet period, else null.
    /// </summary>
    public ConnectionErrorNote? Poll()
    {
        var now = clock.GetUtcNow();
        lock (gate)
        {
            if (outage is not { } current) return null;
            if (now - current.LastErrorAt >= quietPeriod)
            {
                outage = null;
                return new ConnectionErrorNote(ConnectionErrorState.Quiet, current.LastReason, current.Errors, current.LastErrorAt - current.Since);
            }

            if (now - current.RemindedAt < reminderInterval) return null;
            current.RemindedAt = now;
            return new ConnectionErrorNote(ConnectionErrorState.StillUnreachable, current.LastReason, current.Errors, now - current.Since);
        }
    }

    private sealed class Outage(DateTimeOffset since, string reason)
    {
        public DateTimeOffset Since { get; } = since;
        public DateTimeOffset LastErrorAt { get; set; } = since;
        public DateTimeOffset RemindedAt { get; set; } = since;
        public string LastReason { get; set; } = reason;
        public int Errors { get; set; } = 1;
    }
}

/// <summary>What a <see cref="ConnectionErrorNote"/> tells.</summary>
public enum ConnectionErrorState
{
    /// <summary>The first connection error after a quiet time: an outage begins.</summary>
    Unreachable,

    /// <summary>The errors go on: a reminder with the count so far.</summary>
    StillUnreachable,

    /// <summary>No error for the quiet period: the outage is over (or the client stopped trying).</summary>
    Quiet,
}

/// <summary>One line for the log about a client's connection errors.</summary>
/// <param name="Reason">The error that began the outage (<see cref="ConnectionErrorState.Unreachable"/>), else the last one.</param>
/// <param name="Errors">Errors in the outage so far (all of them, when it is over).</param>
/// <param name="Duration">From the first error to now, or to the last one when it is over.</param>
public sealed record ConnectionErrorNote(ConnectionErrorState State, string Reason, int Errors, TimeSpan Duration)
{
    public string Text => State switch
    {
        ConnectionErrorState.Unreachable => $"brokers unreachable: {Reason}; further connection errors are counted, not logged, until none comes for a while",
        ConnectionErrorState.StillUnreachable => $"brokers still unreachable: {Errors} connection errors in {Duration.TotalSeconds:0} s; last: {Reason}",
        _ => $"no connection error any more: reachable again after {Errors} connection errors in {Duration.TotalSeconds:0} s (last: {Reason})",
    };
}
