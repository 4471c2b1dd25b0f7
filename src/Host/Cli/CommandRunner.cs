using Pipeline.Shared;

namespace Pipeline.Host.Cli;

/// <summary>
/// Runs a command body: input problems (bad files, folders, options, models) are printed as one message
/// and exit code 2, with no stack trace; Ctrl+C ends with exit code 130.
/// </summary>
public static class CommandRunner
{
    public const int Success = 0;
    public const int UnexpectedFailure = 1;
    public const int InputProblem = 2;
    public const int Cancelled = 130;

    public static Task<int> Run(Func<CancellationToken, int> body, CancellationToken cancellation) =>
        RunAsync(token => Task.FromResult(body(token)), cancellation);

    public static Task<int> RunAsync(Func<CancellationToken, Task<int>> body, CancellationToken cancellation) =>
        Task.Run(async () =>
        {
            try
            {
                return await body(cancellation);
            }
            catch (PipelineInputException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return InputProblem;
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                Console.Error.WriteLine("cancelled");
                return Cancelled;
            }
        }, CancellationToken.None);
}
