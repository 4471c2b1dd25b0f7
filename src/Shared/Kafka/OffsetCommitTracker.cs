using Confluent.Kafka;

namespace Pipeline.Shared.Kafka;

/// <summary>
/// Which offsets a consumer may commit when frames finish out of order. A frame is
/// <see cref="Started"/> when it is read and <see cref="Completed"/> when what it produced (its result,
/// or its dead letter) has been acknowledged by Kafka. Per partition, the committable position is the
/// offset after the last frame before which every started frame has completed (Kafka's convention: the
/// committed offset is the next one to read). Offsets never started (compacted away, transaction
/// markers) do not hold a partition back.
/// </summary>
/// <remarks>
/// Pure bookkeeping, no Kafka calls, and not thread-safe: one owner (the consuming actor or loop)
/// calls it. On a rebalance, <see cref="Revoked"/> hands out the last commits for partitions that
/// leave in order; <see cref="Lost"/> forgets partitions whose commits could no longer succeed.
/// </remarks>
public sealed class OffsetCommitTracker
{
    private readonly Dictionary<TopicPartition, PartitionProgress> _partitions = [];

    /// <summary>Frames started and not yet completed, over all partitions.</summary>
    public int InFlight { get; private set; }

    /// <summary>Frames started and not yet completed in <paramref name="partition"/>.</summary>
    public int InFlightIn(TopicPartition partition) =>
        _partitions.TryGetValue(partition, out var progress) ? progress.Pending.Count : 0;

    /// <summary>The frame at <paramref name="position"/> was read and its work begins.</summary>
    /// <exception cref="ArgumentException">The offset is not a real one, or that frame is already in flight.</exception>
    public void Started(TopicPartitionOffset position)
    {
        var offset = RealOffset(position);
        if (!_partitions.TryGetValue(position.TopicPartition, out var progress))
        {
            progress = new PartitionProgress(offset);
            _partitions.Add(position.TopicPartition, progress);
        }

        if (!progress.Pending.Add(offset))
        {
            throw new ArgumentException($"The frame at {position} is already in flight; each read starts once.", nameof(position));
        }

        progress.HighestStarted = Math.Max(progress.HighestStarted, offset);
        InFlight++;
    }

    /// <summary>
    /// The work of the frame at <paramref name="position"/> is safely in Kafka. Returns false when the
    /// frame is not in flight here: its partition was revoked meanwhile, or it completed already (a late
    /// or repeated acknowledgement, which is ignored).
    /// </summary>
    public bool Completed(TopicPartitionOffset position)
    {
        var offset = RealOffset(position);
        if (!_partitions.TryGetValue(position.TopicPartition, out var progress) || !progress.Pending.Remove(offset))
        {
            return false;
        }

        InFlight--;
        return true;
    }

    /// <summary>
    /// The commits that have become possible since the last call: for each partition whose committable
    /// position moved, that position (the offset after its last completed frame before any still in
    /// flight). Commit them with <c>IConsumer.Commit(offsets)</c>.
    /// </summary>
    public IReadOnlyList<TopicPartitionOffset> TakeCommittable()
    {
        var commits = new List<TopicPartitionOffset>();
        foreach (var (partition, progress) in _partitions)
        {
            if (TakeCommit(partition, progress) is { } commit)
            {
                commits.Add(commit);
            }
        }

        return commits;
    }

    /// <summary>
    /// <paramref name="partitions"/> are taken away in an orderly rebalance. Returns their final commits
    /// (commit them in the revoked handler, before the next owner starts), and forgets them: frames of
    /// these partitions still in flight will be read again by the next owner, and their completions
    /// here return false.
    /// </summary>
    public IReadOnlyList<TopicPartitionOffset> Revoked(IEnumerable<TopicPartition> partitions)
    {
        var commits = new List<TopicPartitionOffset>();
        foreach (var partition in partitions)
        {
            if (_partitions.Remove(partition, out var progress))
            {
                if (TakeCommit(partition, progress) is { } commit)
                {
                    commits.Add(commit);
                }

                InFlight -= progress.Pending.Count;
            }
        }

        return commits;
    }

    /// <summary><paramref name="partitions"/> were lost (the group moved on without us); forget them without commits.</summary>
    public void Lost(IEnumerable<TopicPartition> partitions)
    {
        foreach (var partition in partitions)
        {
            if (_partitions.Remove(partition, out var progress))
            {
                InFlight -= progress.Pending.Count;
            }
        }
    }

    private static TopicPartitionOffset? TakeCommit(TopicPartition partition, PartitionProgress progress)
    {
        var position = progress.Pending.Count > 0 ? progress.Pending.Min : progress.HighestStarted + 1;
        if (position <= progress.LastTaken)
        {
            return null;
        }

        progress.LastTaken = position;
        return new TopicPartitionOffset(partition, new Offset(position));
    }

    private static long RealOffset(TopicPartitionOffset position)
    {
        ArgumentNullException.ThrowIfNull(position);
        if (position.Offset.IsSpecial || position.Offset.Value < 0)
        {
            throw new ArgumentException($"{position} is not the offset of a message.", nameof(position));
        }

        return position.Offset.Value;
    }

    private sealed class PartitionProgress(long firstOffset)
    {
        public SortedSet<long> Pending { get; } = [];

        public long HighestStarted { get; set; } = firstOffset;

        /// <summary>The position last handed out; starts at the first frame read, which needs no commit.</summary>
        public long LastTaken { get; set; } = firstOffset;
    }
}
