namespace Pipeline.Shared;

/// <summary>
/// Something the user or an upstream system handed in (a file, a folder, a frame) cannot be used.
/// Not a bug: the message says what is wrong, with what, and what to do, so a command line shows
/// it as it is, without a stack trace.
/// </summary>
public class PipelineInputException : Exception
{
    public PipelineInputException(string message)
        : base(message)
    {
    }

    public PipelineInputException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
