using System.CommandLine;
using System.Net;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline refit</c>: asks the running training node to refit now (<c>POST /training/refit</c> on its HTTP port, with
/// an operator token) and waits for the outcome. Exit code 0 when a new version was published, 3 when the validation
/// gate rejected it (the serving version stays), 2 when the node cannot be reached or refuses the token.
/// </summary>
public static class RefitCommand
{
    public const int Rejected = 3;

    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "HTTP address of a node with the training role", DefaultValueFactory = _ => "http://localhost:8080" };
        var tokenFile = NodeClient.TokenFileOption();
        var command = new Command("refit", "Refit the flow on the stored known-good samples now; publish the result if it passes the validation gate. Needs an operator token.") { url, tokenFile };
        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(async token =>
        {
            using var node = NodeClient.Create("--url", parse.GetValue(url)!, parse.GetValue(tokenFile), Hosting.TrainingRole.RefitPatience + TimeSpan.FromMinutes(1));
            Console.Error.WriteLine($"asking {node.Address} to refit; this waits until the refit has run…");
            var (status, body) = await node.SendAsync(HttpMethod.Post, "/training/refit", token);
            if (status == HttpStatusCode.NotFound)
                throw new Shared.PipelineInputException($"{node.Address} has no /training/refit: that node does not have the training role.");
            var summary = body.TryGetProperty("summary", out var s) ? s.GetString() : body.ToString();
            if (status == HttpStatusCode.OK)
            {
                Console.WriteLine($"published {body.GetProperty("version").GetString()}: {summary}");
                return CommandRunner.Success;
            }
            Console.WriteLine($"rejected: {summary}");
            return status == HttpStatusCode.Conflict ? Rejected : CommandRunner.UnexpectedFailure;
        }, cancellation));
        return command;
    }
}
