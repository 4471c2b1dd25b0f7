using Akka.Actor;

namespace Pipeline.Training;

/// <summary>
/// The training singleton's file work (the sample store's writes and reads, the registry's small files), off the
/// actor's thread: one piece at a time, in the order it was queued, on pool threads. Each piece's outcome is told to
/// the actor from the work itself, so outcomes arrive in the order the work was queued; a piece that throws is told
/// as <see cref="StorageFailed"/>. Queue work only from the actor's thread.
/// </summary>
internal sealed class StorageWork(IActorRef owner)
{
    private Task tail = Task.CompletedTask;

    /// <summary>Queues <paramref name="work"/>; its result (a message) is told to the owner, or <see cref="StorageFailed"/> when it throws.</summary>
    public void Run(Func<object> work) =>
        tail = tail.ContinueWith(_ =>
        {
            object outcome;
            try
            {
                outcome = work();
            }
            catch (Exception e)
            {
                outcome = new StorageFailed(e);
            }
            owner.Tell(outcome);
        }, CancellationToken.None, TaskContinuationOptions.DenyChildAttach, TaskScheduler.Default);

    /// <summary>Queues <paramref name="work"/> that answers nothing (closing files at the end).</summary>
    public void Run(Action work) =>
        tail = tail.ContinueWith(_ => work(), CancellationToken.None, TaskContinuationOptions.DenyChildAttach, TaskScheduler.Default);
}

/// <summary>File work of the training singleton failed; the actor rethrows it, so that its supervisor restarts it.</summary>
internal sealed record StorageFailed(Exception Error);
