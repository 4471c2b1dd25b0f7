using Confluent.Kafka;

namespace Pipeline.Ingest;

/// <summary>
/// Which of a consumer's assigned partitions the application has told librdkafka to pause, and what to tell it next so
/// that every assigned partition is paused exactly while the consumer should not read (backpressure).
/// </summary>
/// <remarks>
/// <para>
/// librdkafka keeps the application's pause on its partition object, not on the assignment: a partition paused, then
/// lost (the group session expired during a broker outage) and granted again comes back still paused, while
/// librdkafka only clears its own, internal pause. A single "paused" flag for the whole consumer cannot see that
/// (after the loss there is nothing to resume, and the re-granted partitions never are), so the state is kept per
/// partition, and a partition that joins the assignment has no known state until it is told one explicitly.
/// </para>
/// <para>Pure bookkeeping, no Kafka calls, not thread-safe: the consumer's thread owns it.</para>
/// </remarks>
public sealed class PartitionPauses
{
    private readonly Dictionary<TopicPartition, bool> told = [];

    /// <summary>Partitions told to pause and not resumed since, among those still known.</summary>
    public int PausedCount => told.Count(entry => entry.Value);

    /// <summary>
    /// <paramref name="partitions"/> joined the assignment: whatever state librdkafka kept for them is unknown here, so
    /// the next <see cref="Reconcile"/> tells them explicitly.
    /// </summary>
    public void Assigned(IEnumerable<TopicPartition> partitions)
    {
        foreach (var partition in partitions) told.Remove(partition);
    }

    /// <summary><paramref name="partitions"/> left the assignment (revoked or lost); forgotten.</summary>
    public void Removed(IEnumerable<TopicPartition> partitions)
    {
        foreach (var partition in partitions) told.Remove(partition);
    }

    /// <summary>
    /// What to pause and what to resume so that every partition of <paramref name="assignment"/> is paused if and only
    /// if <paramref name="pause"/>; records it as told (call <c>Pause</c>/<c>Resume</c> with the lists, or
    /// <see cref="Assigned"/> them again when that fails). Partitions no longer assigned are forgotten.
    /// </summary>
    public (IReadOnlyList<TopicPartition> Pause, IReadOnlyList<TopicPartition> Resume) Reconcile(IReadOnlyCollection<TopicPartition> assignment, bool pause)
    {
        var toPause = new List<TopicPartition>();
        var toResume = new List<TopicPartition>();
        foreach (var partition in assignment)
        {
            if (told.TryGetValue(partition, out var paused) && paused == pause) continue;
            (pause ? toPause : toResume).Add(partition);
            told[partition] = pause;
        }

        if (told.Count > assignment.Count)
        {
            var assigned = assignment.ToHashSet();
            foreach (var gone in told.Keys.Where(partition => !assigned.Contains(partition)).ToArray()) told.Remove(gone);
        }

        return (toPause, toResume);
    }
}
