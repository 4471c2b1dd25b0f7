namespace Pipeline.Scoring;

/// <summary>
/// Collects frames into batches as an inference server's dynamic batcher does: a batch is ready when it holds
/// <see cref="MaxBatchViews"/> views (frames × views per frame) or when its oldest frame has waited
/// <see cref="MaxWait"/>. Frames leave in arrival order and whole: a frame's views are never split across
/// batches, and a frame with more views than the limit goes alone. Not thread-safe; time comes from the
/// injected clock.
/// </summary>
public sealed class DynamicBatcher<T>
{
    private readonly Queue<(T Item, DateTimeOffset EnqueuedAt)> waiting = new();
    private readonly TimeProvider clock;

    public DynamicBatcher(int maxBatchViews, TimeSpan maxWait, TimeProvider clock)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchViews, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWait, TimeSpan.Zero);
        MaxBatchViews = maxBatchViews;
        MaxWait = maxWait;
        this.clock = clock;
    }

    public int MaxBatchViews { get; }
    public TimeSpan MaxWait { get; }

    /// <summary>Frames waiting for a batch.</summary>
    public int Count => waiting.Count;

    public void Add(T item) => waiting.Enqueue((item, clock.GetUtcNow()));

    /// <summary>How many frames of <paramref name="viewsPerFrame"/> views one batch holds: at least one.</summary>
    public int FramesPerBatch(int viewsPerFrame)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(viewsPerFrame, 1);
        return Math.Max(1, MaxBatchViews / viewsPerFrame);
    }

    /// <summary>
    /// The next batch if one is ready (full, or its oldest frame has waited <see cref="MaxWait"/>), else an empty list.
    /// </summary>
    public IReadOnlyList<T> TakeReady(int viewsPerFrame)
    {
        var full = waiting.Count >= FramesPerBatch(viewsPerFrame);
        return full || DueIn() == TimeSpan.Zero ? TakeNext(viewsPerFrame) : [];
    }

    /// <summary>
    /// The next batch now, however long its frames have waited: up to a full batch of the oldest frames (empty when
    /// none wait). For a device that just finished a batch while these frames waited.
    /// </summary>
    public IReadOnlyList<T> TakeNext(int viewsPerFrame)
    {
        var batch = new T[Math.Min(waiting.Count, FramesPerBatch(viewsPerFrame))];
        for (var i = 0; i < batch.Length; i++) batch[i] = waiting.Dequeue().Item;
        return batch;
    }

    /// <summary>Every waiting frame, oldest first, leaving the batcher empty.</summary>
    public IReadOnlyList<T> TakeAll()
    {
        var all = waiting.Select(entry => entry.Item).ToArray();
        waiting.Clear();
        return all;
    }

    /// <summary>How long until the oldest waiting frame has waited <see cref="MaxWait"/> (zero when it has); null when none wait.</summary>
    public TimeSpan? DueIn()
    {
        if (waiting.Count == 0) return null;
        var waited = clock.GetUtcNow() - waiting.Peek().EnqueuedAt;
        return waited >= MaxWait ? TimeSpan.Zero : MaxWait - waited;
    }
}
