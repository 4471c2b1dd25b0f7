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
    private readonly Dictionary<string, ITimer> timers = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private bool disposed;

    /// <summary>Tells <paramref name="message"/> once, after <paramref name="delay"/>.</summary>
    public void StartSingle(string key, object message, TimeSpan delay) => Start(key, message, delay, Timeout.InfiniteTimeSpan);

    /// <summary>Tells <paramref name="message"/> every <paramref name="interval"/>, the first time after one interval.</summary>
    public void StartPeriodic(string key, object message, TimeSpan interval) => Start(key, message, interval, interval);

    /// <summary>Whether a timer is waiting under <paramref name="key"/>.</summary>
    public bool IsActive(string key)
    {
        lock (gate) return timers.ContainsKey(key);
    }

    public void Cancel(string key)
    {
        lock (gate)
        {
            if (timers.Remove(key, out var timer)) timer.Dispose();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
            foreach (var timer in timers.Values) timer.Dispose();
            timers.Clear();
        }
    }

    private void Start(string key, object message, TimeSpan due, TimeSpan period)
    {
        lock (gate)
        {
            if (disposed) return;
            if (timers.Remove(key, out var previous)) previous.Dispose();
            var entry = new TimerEntry();
            // The timer is created inside the lock, so a callback (which takes the lock) sees its entry.
            entry.Timer = clock.CreateTimer(_ => Fire(key, entry, message, period), null, due, period);
            timers[key] = entry.Timer;
        }
    }

    private void Fire(string key, TimerEntry entry, object message, TimeSpan period)
    {
        lock (gate)
        {
            if (disposed || !timers.TryGetValue(key, out var current) || !ReferenceEquals(current, entry.Timer)) return;
            if (period == Timeout.InfiniteTimeSpan)
            {
                timers.Remove(key);
                current.Dispose();
            }
        }

        owner.Tell(message, ActorRefs.NoSender);
    }

    private sealed class TimerEntry
    {
        public ITimer? Timer { get; set; }
    }
}
