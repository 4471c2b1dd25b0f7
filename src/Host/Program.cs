using System.CommandLine;
using Pipeline.Host.Cli;

var serve = ServeCommand.Create();
var root = new RootCommand("Visual inspection pipeline: finds defects on images of manufactured parts with DifferNet (trained on defect-free parts only).")
{
    TrainCommand.Create(),
    EvalCommand.Create(),
    BenchmarkCommand.Create(),
    DemoCommand.Create(),
    CameraCommand.Create(),
    ModelsCommand.Create(),
    RefitCommand.Create(),
    TokenCommand.Create(),
    serve,
};
var parse = root.Parse(args);
// `serve` leaves Ctrl+C and SIGTERM to the generic host, which stops the node gracefully: leaving the cluster can
// take longer than the two seconds System.CommandLine waits before it gives up on a cancelled command.
var invocation = new InvocationConfiguration();
if (parse.CommandResult.Command == serve) invocation.ProcessTerminationTimeout = null;
return await parse.InvokeAsync(invocation);
