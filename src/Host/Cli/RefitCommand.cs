using System.CommandLine;
using System.Net;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline refit</c>: asks the running training node to refit now (<c>POST /training/refit</c> on its HTTP port, with
/// an operator token) and waits for the outcome. Exit code 0 when a new version was published, 3 when the validation
/// gate rejected it (the serving version stays), 2 when the node cannot be reached, refuses the token or does not know
/// the product. <c>--product &lt;name&gt;</c> refits that product's flow on its own samples; without it, the default product's.
/// </summary>
public static class RefitCommand
{
    public const int Rejected = 3;

    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "HTTP address of a node with the training role", DefaultValueFactory = _ => "http://localhost:8080" };
        var tokenFile = NodeClient.TokenFileOption();
        var productOption = ModelsCommand.ProductOption();
        var command = new Command("refit", "Refit the flow on the stored known-good samples now; publish the result if it passes the validation gate. Needs an operator token.") { url, tokenFile, productOption };
        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(async token =>
        {
            var product = ModelsCommand.ProductOf(parse, productOption);
            using var node = NodeClient.Create("--url", parse.GetValue(url)!, parse.GetValue(tokenFile), Hosting.TrainingRole.RefitPatience + TimeSpan.FromMinutes(1));
            var what = product == Shared.Products.ProductName.Default ? "" : $" product {product}";
            Console.Error.WriteLine($"asking {node.Address} to refit{what}; this waits until the refit has run…");
            var (status, body) = await node.SendAsync(HttpMethod.Post, "/training/refit" + ModelsCommand.ProductQuery(product), token);
            if (status == HttpStatusCode.NotFound)
                throw new Shared.PipelineInputException(body.TryGetProperty("error", out var unknown)
                    ? $"{node.Address} refused ({(int)status}): {unknown.GetString()}"
                    : $"{node.Address} has no /training/refit: that node does not have the training role.");
            if (status == HttpStatusCode.BadRequest)
                throw new Shared.PipelineInputException($"{node.Address} refused ({(int)status}): {(body.TryGetProperty("error", out var bad) ? bad.GetString() : body.ToString())}");
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
