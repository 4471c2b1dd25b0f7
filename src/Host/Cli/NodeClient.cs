using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Pipeline.Shared;

namespace Pipeline.Host.Cli;

/// <summary>
/// The client side of a node's HTTP control endpoints, for <c>pipeline refit</c> and <c>pipeline models … --url</c>:
/// the node's address, the access token (from <c>--token-file</c> or the environment variable <see cref="TokenVariable"/>;
/// never printed), and refusals (401, 403, unreachable) turned into messages that say what to do.
/// </summary>
/// <remarks>
/// There is no <c>--token</c> option on purpose: a token on the command line ends up in the shell's history and in
/// every process listing on the machine.
/// </remarks>
internal sealed class NodeClient : IDisposable
{
    public const string TokenVariable = "PIPELINE_TOKEN";

    private readonly HttpClient http;

    private NodeClient(string address, HttpClient http, bool hasToken)
    {
        Address = address;
        this.http = http;
        HasToken = hasToken;
    }

    public string Address { get; }

    public bool HasToken { get; }

    public static Option<string?> TokenFileOption() => new("--token-file")
    {
        Description = $"file that holds the access token (default: the environment variable {TokenVariable}); make one with 'pipeline token'",
    };

    /// <summary>A client of the node at <paramref name="address"/> with the token from <paramref name="tokenFile"/> or the environment.</summary>
    public static NodeClient Create(string option, string address, string? tokenFile, TimeSpan timeout)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
            throw new PipelineInputException($"{option} '{address}' is not an http:// or https:// address.");
        var token = ReadToken(tokenFile);
        var http = new HttpClient { BaseAddress = baseUri, Timeout = timeout };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return new NodeClient(address, http, token is not null);
    }

    /// <summary>Sends the request; 401 and 403 become a <see cref="PipelineInputException"/> with the node's reason.</summary>
    /// <returns>The status code and the JSON body (an empty object when there is none).</returns>
    public async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, CancellationToken cancellation)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(new HttpRequestMessage(method, path), cancellation);
        }
        catch (HttpRequestException e)
        {
            throw new PipelineInputException($"The node at {Address} cannot be reached ({e.Message}); is it running, and is its HTTP port right?", e);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellation);
            var body = JsonBody(text);
            var reason = body.TryGetProperty("reason", out var r) ? r.GetString() : null;
            if (response.StatusCode == HttpStatusCode.Unauthorized)
                throw new PipelineInputException(HasToken
                    ? $"{Address} refused the token (401): {reason ?? "not valid"}. Get a new one from an operator ('pipeline token')."
                    : $"{Address} needs an access token (401): pass --token-file <file> or set {TokenVariable} (an operator makes one with 'pipeline token --role operator').");
            if (response.StatusCode == HttpStatusCode.Forbidden)
                throw new PipelineInputException($"{Address} refused the request (403): {reason ?? "the token's role is not enough"}.");
            return (response.StatusCode, body);
        }
    }

    public void Dispose() => http.Dispose();

    private static string? ReadToken(string? tokenFile)
    {
        string? token;
        string source;
        if (tokenFile is not null)
        {
            source = $"--token-file '{tokenFile}'";
            try
            {
                token = File.ReadAllText(tokenFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PipelineInputException($"{source} cannot be read: {e.Message}", e);
            }
        }
        else
        {
            source = $"the environment variable {TokenVariable}";
            token = Environment.GetEnvironmentVariable(TokenVariable);
            if (string.IsNullOrWhiteSpace(token)) return null;
        }
        token = token.Trim();
        if (token.Length == 0 || token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new PipelineInputException($"{source} does not hold one access token (a single line, as 'pipeline token' prints it).");
        return token;
    }

    private static JsonElement JsonBody(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) return JsonDocument.Parse("{}").RootElement;
        try
        {
            return JsonDocument.Parse(text).RootElement;
        }
        catch (JsonException)
        {
            return JsonDocument.Parse(JsonSerializer.Serialize(new { reason = text.Length > 200 ? text[..200] : text })).RootElement;
        }
    }
}
