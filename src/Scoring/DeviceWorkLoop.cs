using System.Collections.Concurrent;
using TorchSharp;

namespace Pipeline.Scoring;

/// <summary>
/// One device's work loop: a dedicated thread that runs the device's tensor work (loading, scoring and disposing
/// models) one item at a time, in the order it was given. Each item's outcome is a task, which an actor pipes
/// to itself, so no actor thread ever waits on the device. Items given after a model's last batch therefore
/// run after that batch: disposing a model through the loop is safe while a batch is still in flight.
/// </summary>
/// <remarks>
/// When the process exits (after a graceful stop, or on SIGTERM before it), the exit waits for the item running on
/// the loop and skips those queued behind it: a process that ends while libtorch computes on another thread can
/// crash in libtorch's teardown (a node stopped by SIGTERM mid-stream exited with SIGSEGV, 139).
/// </remarks>
public sealed class DeviceWorkLoop : IDisposable
{
    /// <summary>How long the exit of the process waits for the item running on the loop.</summary>
    private static readonly TimeSpan ExitPatience = TimeSpan.FromSeconds(10);

    private readonly BlockingCollection<Action> work = new();
    private readonly Thread thread;
    private volatile bool exiting;

    /// <param name="name">The thread's name, for debuggers and dumps.</param>
    /// <param name="cpuThreads">CPU threads libtorch may use for this loop's work; null leaves its choice.</param>
    public DeviceWorkLoop(string name, int? cpuThreads = null)
    {
        thread = new Thread(RunItems) { Name = name, IsBackground = true };
        thread.Start();
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        if (cpuThreads is { } threads) Run(() => torch.set_num_threads(threads));
    }

    /// <summary>Runs <paramref name="function"/> on the loop after the work given before it.</summary>
    public Task<T> Run<T>(Func<T> function)
    {
        var outcome = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(() =>
        {
            try { outcome.SetResult(function()); }
            catch (Exception e) { outcome.SetException(e); }
        });
        return outcome.Task;
    }

    /// <summary>Runs <paramref name="action"/> on the loop after the work given before it.</summary>
    public Task Run(Action action)
    {
        var outcome = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(() =>
        {
            try { action(); outcome.SetResult(); }
            catch (Exception e) { outcome.SetException(e); }
        });
        return outcome.Task;
    }

    /// <summary>Takes no more work; what was given still runs, then the thread ends. Does not wait for it.</summary>
    public void Dispose() => CompleteAdding();

    private void OnProcessExit(object? sender, EventArgs e)
    {
        exiting = true;
        CompleteAdding();
        if (thread != Thread.CurrentThread) thread.Join(ExitPatience);
    }

    private void CompleteAdding()
    {
        try { work.CompleteAdding(); }
        catch (ObjectDisposedException) { }
    }

    private void Enqueue(Action item)
    {
        try { work.Add(item); }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException) { throw new ObjectDisposedException(thread.Name, "The device work loop was stopped and takes no more work."); }
    }

    private void RunItems()
    {
        foreach (var item in work.GetConsumingEnumerable())
        {
            if (!exiting) item();
        }

        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        work.Dispose();
    }
}
