namespace Pipeline.Shared;

/// <summary>A problem with what the user gave us (a file, a folder, an option): shown as a message, without a stack trace.</summary>
public class PipelineInputException : Exception
{
    public PipelineInputException(string message, Exception? innerException = null) : base(message, innerException) { }
}
