namespace Pipeline.Shared.Data;

/// <summary>A dataset folder is missing, unreadable, or not laid out as expected; the message says which and how to fix it.</summary>
public sealed class DatasetLayoutException : PipelineInputException
{
    public DatasetLayoutException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
