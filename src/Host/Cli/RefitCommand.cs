using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using Pipeline.Shared;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline refit</c>: asks the running training node to refit now (<c>POST /training/refit</c> on its HTTP port) and
/// waits for the outcome. Exit code 0 when a new version was published, 3 when the validation gate rejected it (the
/// serving version stays), 2 when the node cannot be reached.
/// </summary>
public static class RefitCommand
{
    public const int Rejected = 3;

    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "HTTP address of a node with the training role", DefaultValueFactory = _ => "http://localhost:8080" };
        var command = new Command("refit", "Refit the flow on the stored known-good samples now; publish the result if it passes the validation gate.") { url };
        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(async token =>
        {
            var address = parse.GetValue(url)!;
            if (!Uri.TryCreate(address, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
                throw new PipelineInputException($"--url '{address}' is not an http:// or https:// address.");
            using var http = new HttpClient { BaseAddress = baseUri, Timeout = Hosting.TrainingRole.RefitPatience + TimeSpan.FromMinutes(1) };
            Console.Error.WriteLine($"asking {address} to refit; this waits until the refit has run…");
            HttpResponseMessage response;
            try
            {
                response = await http.PostAsync("/training/refit", null, token);
            }
            catch (HttpRequestException e)
            {
                throw new PipelineInputException($"The training node at {address} cannot be reached ({e.Message}); is a node with the training role running there?", e);
            }
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
                throw new PipelineInputException($"{address} has no /training/refit: that node does not have the training role.");
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(token);
            var summary = body.TryGetProperty("summary", out var s) ? s.GetString() : body.ToString();
            if (response.IsSuccessStatusCode)
            {
                Console.WriteLine($"published {body.GetProperty("version").GetString()}: {summary}");
                return CommandRunner.Success;
            }
            Console.WriteLine($"rejected: {summary}");
            return response.StatusCode == System.Net.HttpStatusCode.Conflict ? Rejected : CommandRunner.UnexpectedFailure;
        }, cancellation));
        return command;
    }
}
