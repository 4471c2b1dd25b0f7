using Akka.Actor;

namespace Pipeline.Ingest;

/// <summary>
/// An actor's keyed timers (as Akka's <see cref="ITimerScheduler"/>) that run on a <see cref="TimeProvider"/>, so that
/// a test moves the actor's time (<c>FakeTimeProvider.Advance</c>) instead of sleeping and hoping. Each timer tells its
/// message to the owner; starting a timer under a key that has one replaces it. Thread-safe: the clock's callbacks
/// run on its own threads. <see cref="Dispose"/> (in <c>PostStop</c>) cancels them all.
/// </summary>
/// <remarks>
/// Unlike Akka's timers, a message a timer told just before it was cancelled or replaced may still arrive: the
/// owner's handlers check that what the message asks for is still due.
/// </remarks>
public sealed class ClockTimers(TimeProvider clock, IActorRef owner) : IDisposable
{
    private readonly Dictionary<string, TimerEntry> timers = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private bool disposed;

    /// <summary>Tells <paramref name="message"/> once, after <paramref name="delay"/>.</summary>
    public void StartSingle(string key, object message, TimeSpan delay) => Start(key, message, delay, Timeout.InfiniteTimeSpan);

    /// <summary>Tells <paramref name="message"/> every <paramref name="interval"/>, the first time after one interval.</summary>
    public void StartPeriodic(string key, object message, TimeSpan interval) => Start(key, message, interval, interval);

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
            foreach (var entry in timers.Values) entry.Timer?.Dispose();
            timers.Clear();
        }
    }

    private void Start(string key, object message, TimeSpan due, TimeSpan period)
    {
        lock (gate)
        {
            if (disposed) return;
            if (timers.Remove(key, out var previous)) previous.Timer?.Dispose();
            // Registered before the timer exists: a clock may run a timer that is due at once within CreateTimer.
            var entry = new TimerEntry();
            timers[key] = entry;
            entry.Timer = clock.CreateTimer(_ => Fire(key, entry, message, period), null, due, period);
        }
    }

    private void Fire(string key, TimerEntry entry, object message, TimeSpan period)
    {
        lock (gate)
        {
            if (disposed || !timers.TryGetValue(key, out var current) || !ReferenceEquals(current, entry)) return;
            if (period == Timeout.InfiniteTimeSpan)
            {
                timers.Remove(key);
                entry.Timer?.Dispose();
            }
        }

        owner.Tell(message, ActorRefs.NoSender);
    }

    private sealed class TimerEntry
    {
        public ITimer? Timer { get; set; }
    }
}
