namespace Pipeline.Ingest;

/// <summary>
/// The closing of Kafka clients that stopped actors left behind (closing a consumer commits and leaves its group,
/// flushing a producer waits for acknowledgements: work no actor thread may wait on). The node waits on it when it
/// shuts down, so that it leaves Kafka cleanly before the process ends. Thread-safe.
/// </summary>
public sealed class KafkaClientsClosing
{
    private readonly Lock gate = new();
    private readonly List<Task> closing = [];

    public void Track(Task close)
    {
        lock (gate)
        {
            closing.RemoveAll(task => task.IsCompleted);
            closing.Add(close);
        }
    }

    /// <summary>Completes when every tracked close has finished, or <paramref name="timeout"/> has passed; true when all finished.</summary>
    public async Task<bool> WhenClosedAsync(TimeSpan timeout)
    {
        Task[] pending;
        lock (gate) pending = closing.ToArray();
        var all = Task.WhenAll(pending);
        return await Task.WhenAny(all, Task.Delay(timeout)) == all;
    }
}
