using System.CommandLine;
using Pipeline.Host.Cli;

var root = new RootCommand("Visual inspection pipeline: finds defects on images of manufactured parts with DifferNet (trained on defect-free parts only).")
{
    TrainCommand.Create(),
    EvalCommand.Create(),
    BenchmarkCommand.Create(),
    DemoCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
