namespace Pipeline.Ingest;

/// <summary>
/// Backpressure per scoring destination: the frames each scorer refused (<c>ScoringBusy</c>), held for that scorer
/// until it says it has room again (<c>ScoringAvailable</c>) or has been silent too long. Frames for other scorers are
/// not held. Reading stops only while <see cref="HoldsReading"/>: the frames held reach <see cref="ReadingHeldAt"/>,
/// so that a hot scorer cannot make the held frames, and their memory, grow without bound. Pure: the ingest actor
/// sends and logs; tests use any key.
/// </summary>
/// <typeparam name="TScorer">Who refused (the scorer actor that answered).</typeparam>
/// <typeparam name="TFrame">A frame waiting for it.</typeparam>
public sealed class BusyScorers<TScorer, TFrame>
    where TScorer : notnull
{
    private readonly Dictionary<TScorer, Busy> busy = [];

    /// <param name="readingHeldAt">Frames held, over all scorers, from which reading stops (at least 1).</param>
    public BusyScorers(int readingHeldAt)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(readingHeldAt);
        ReadingHeldAt = readingHeldAt;
    }

    /// <summary>Frames held, over all scorers, from which reading stops.</summary>
    public int ReadingHeldAt { get; }

    /// <summary>Frames held for all scorers together.</summary>
    public int Waiting { get; private set; }

    /// <summary>Whether the frames held are so many that reading should stop until some are released.</summary>
    public bool HoldsReading => Waiting >= ReadingHeldAt;

    /// <summary>The scorers that said they are busy and have not said they have room since.</summary>
    public IReadOnlyCollection<TScorer> Scorers => busy.Keys;

    /// <summary><paramref name="scorer"/> refused <paramref name="frame"/> at <paramref name="now"/>; true when it was not busy before.</summary>
    public bool Refused(TScorer scorer, TFrame frame, DateTimeOffset now)
    {
        var newly = !busy.TryGetValue(scorer, out var held);
        if (newly) busy[scorer] = held = new Busy(now);
        held!.Frames.Add(frame);
        Waiting++;
        return newly;
    }

    /// <summary><paramref name="scorer"/> has room: the frames it refused, in the order it refused them (none when it was not busy).</summary>
    public IReadOnlyList<TFrame> Available(TScorer scorer)
    {
        if (!busy.Remove(scorer, out var held)) return [];
        Waiting -= held.Frames.Count;
        return held.Frames;
    }

    /// <summary>The scorers busy since before <paramref name="cutoff"/> (silent since they refused the first frame held for them).</summary>
    public IReadOnlyList<TScorer> BusySince(DateTimeOffset cutoff) =>
        busy.Where(entry => entry.Value.Since < cutoff).Select(entry => entry.Key).ToArray();

    /// <summary>How long <paramref name="scorer"/> has been busy at <paramref name="now"/>; null when it is not.</summary>
    public TimeSpan? BusyFor(TScorer scorer, DateTimeOffset now) => busy.TryGetValue(scorer, out var held) ? now - held.Since : null;

    private sealed class Busy(DateTimeOffset since)
    {
        public DateTimeOffset Since { get; } = since;

        public List<TFrame> Frames { get; } = [];
    }
}
