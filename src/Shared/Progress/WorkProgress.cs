namespace Pipeline.Shared.Progress;

/// <summary>How far a long piece of work (feature extraction, an epoch loop) has come.</summary>
/// <param name="Stage">Short name of the stage, e.g. "features (train)".</param>
/// <param name="Done">Units finished so far.</param>
/// <param name="Total">Units in the stage.</param>
/// <param name="Detail">Optional extra, e.g. "loss 1.234".</param>
public sealed record WorkProgress(string Stage, long Done, long Total, string? Detail = null);

/// <summary>Receives progress of long work; implementations decide how often to show it.</summary>
public interface IWorkProgressSink
{
    void Report(WorkProgress progress);

    /// <summary>A one-off line of information (what was loaded, what was decided).</summary>
    void Note(string message);
}

/// <summary>Discards progress; for tests and embedded use.</summary>
public sealed class SilentProgress : IWorkProgressSink
{
    public static readonly SilentProgress Instance = new();
    public void Report(WorkProgress progress) { }
    public void Note(string message) { }
}
