namespace Pipeline.Scoring;

/// <summary>
/// Collects frames into batches as an inference server's dynamic batcher does: a batch is ready when it holds
/// <see cref="MaxBatchViews"/> views (frames × views per frame) or when its oldest frame has waited
/// <see cref="MaxWait"/>. Frames leave in arrival order and whole: a frame's views are never split across
/// batches, and a frame with more views than the limit goes alone. Not thread-safe; time comes from the
/// injected clock.
/// <para>
/// Kinds: frames that cannot share a batch (frames of different prepared sizes: one backbone pass takes one tensor)
/// are of different kinds. The oldest waiting frame decides the next batch's kind; the batch is that frame and the
/// frames of its kind after it, in arrival order, as many as fit. Frames of other kinds keep their places and wait
/// for a batch of their own, which comes at the latest once one of them is the oldest.
/// </para>
/// <para>
/// Shares: frames of one kind may still go through different networks after the shared part (each product's frames
/// through that product's flow). <see cref="MaxBatchViews"/> then bounds each share: a batch holds up to
/// <see cref="MaxBatchViews"/> views of every share, so each flow runs on as many rows as it would with its product
/// alone, and the shared part (the backbone) runs over the batch in passes of at most <see cref="MaxBatchViews"/>
/// views. The batch is full when the oldest frame's share is; frames of other shares join it up to their own limit.
/// Without shares (one share for every frame) this is the plain rule above.
/// </para>
/// </summary>
public sealed class DynamicBatcher<T>
{
    private readonly List<(T Item, DateTimeOffset EnqueuedAt)> waiting = [];
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

    public void Add(T item) => waiting.Add((item, clock.GetUtcNow()));

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
        ArgumentOutOfRangeException.ThrowIfLessThan(viewsPerFrame, 1);
        return TakeReady(_ => 0, _ => viewsPerFrame);
    }

    /// <summary>
    /// The next batch now, however long its frames have waited: up to a full batch of the oldest frames (empty when
    /// none wait). For a device that just finished a batch while these frames waited.
    /// </summary>
    public IReadOnlyList<T> TakeNext(int viewsPerFrame)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(viewsPerFrame, 1);
        return TakeNext(_ => 0, _ => viewsPerFrame);
    }

    /// <summary>
    /// The next batch of the oldest frame's kind if it is ready, else an empty list: ready when no more frames fit (a
    /// frame of that kind is left over, or there is no room for another like those taken) or the oldest has waited
    /// <see cref="MaxWait"/>.
    /// </summary>
    /// <param name="kindOf">What frames must share to be batched together (their prepared size).</param>
    /// <param name="viewsOf">What a frame weighs in a batch: its test views.</param>
    public IReadOnlyList<T> TakeReady<TKind>(Func<T, TKind> kindOf, Func<T, int> viewsOf) => TakeReady(kindOf, _ => 0, viewsOf);

    /// <summary>
    /// The next batch now, however long its frames have waited: the oldest frame and the frames of its kind after it,
    /// as many as fit (empty when none wait).
    /// </summary>
    public IReadOnlyList<T> TakeNext<TKind>(Func<T, TKind> kindOf, Func<T, int> viewsOf) => TakeNext(kindOf, _ => 0, viewsOf);

    /// <summary>
    /// <see cref="TakeReady{TKind}(Func{T,TKind},Func{T,int})"/> with shares: up to <see cref="MaxBatchViews"/> views
    /// of each share; ready when the oldest frame's share is full or the oldest has waited <see cref="MaxWait"/>.
    /// </summary>
    /// <param name="shareOf">Which network after the shared pass a frame goes through (its product's flow).</param>
    public IReadOnlyList<T> TakeReady<TKind, TShare>(Func<T, TKind> kindOf, Func<T, TShare> shareOf, Func<T, int> viewsOf) where TShare : notnull
    {
        if (waiting.Count == 0) return [];
        var (batch, full) = NextBatch(kindOf, shareOf, viewsOf);
        return full || DueIn() == TimeSpan.Zero ? Take(batch) : [];
    }

    /// <summary><see cref="TakeNext{TKind}(Func{T,TKind},Func{T,int})"/> with shares: up to <see cref="MaxBatchViews"/> views of each share.</summary>
    public IReadOnlyList<T> TakeNext<TKind, TShare>(Func<T, TKind> kindOf, Func<T, TShare> shareOf, Func<T, int> viewsOf) where TShare : notnull =>
        waiting.Count == 0 ? [] : Take(NextBatch(kindOf, shareOf, viewsOf).Indexes);

    /// <summary>Takes the waiting frames that match, oldest first; the others keep their places.</summary>
    public IReadOnlyList<T> TakeWhere(Func<T, bool> match)
    {
        var taken = waiting.Where(entry => match(entry.Item)).Select(entry => entry.Item).ToArray();
        if (taken.Length > 0) waiting.RemoveAll(entry => match(entry.Item));
        return taken;
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
        var waited = clock.GetUtcNow() - waiting[0].EnqueuedAt;
        return waited >= MaxWait ? TimeSpan.Zero : MaxWait - waited;
    }

    /// <summary>
    /// The indexes of the next batch's frames (the oldest first) and whether the oldest frame's share is full: a frame
    /// of its share is left over, or there is no room for another like those it took.
    /// </summary>
    private (List<int> Indexes, bool Full) NextBatch<TKind, TShare>(Func<T, TKind> kindOf, Func<T, TShare> shareOf, Func<T, int> viewsOf) where TShare : notnull
    {
        var kind = kindOf(waiting[0].Item);
        var kinds = EqualityComparer<TKind>.Default;
        var oldestShare = shareOf(waiting[0].Item);
        var shares = EqualityComparer<TShare>.Default;
        var viewsByShare = new Dictionary<TShare, int>(shares) { [oldestShare] = viewsOf(waiting[0].Item) };
        var indexes = new List<int> { 0 };
        var lightest = viewsByShare[oldestShare];
        var closed = new HashSet<TShare>(shares); // a share that had a frame left over takes no later ones: its frames keep their order
        for (var i = 1; i < waiting.Count; i++)
        {
            var item = waiting[i].Item;
            if (!kinds.Equals(kindOf(item), kind)) continue;
            var share = shareOf(item);
            if (closed.Contains(share)) continue;
            var weight = viewsOf(item);
            var views = viewsByShare.GetValueOrDefault(share);
            if (views + weight > MaxBatchViews)
            {
                closed.Add(share);
                continue;
            }
            indexes.Add(i);
            viewsByShare[share] = views + weight;
            if (shares.Equals(share, oldestShare)) lightest = Math.Min(lightest, weight);
        }
        return (indexes, closed.Contains(oldestShare) || viewsByShare[oldestShare] + lightest > MaxBatchViews);
    }

    private T[] Take(List<int> indexes)
    {
        var batch = indexes.Select(i => waiting[i].Item).ToArray();
        for (var k = indexes.Count - 1; k >= 0; k--) waiting.RemoveAt(indexes[k]);
        return batch;
    }
}
