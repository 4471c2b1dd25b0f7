using System.Net;
using Microsoft.Extensions.Options;

namespace Pipeline.Shared.Configuration;

/// <summary>Checks <see cref="HttpOptions"/> before the node starts; messages name the key and the value found.</summary>
public sealed class HttpOptionsValidator : IValidateOptions<HttpOptions>
{
    private const string Key = HttpOptions.Section;

    public ValidateOptionsResult Validate(string? name, HttpOptions options)
    {
        var failures = new List<string>();
        if (options.Port is < 0 or > 65535)
            failures.Add($"{Key}:Port is {options.Port}; it must be between 1 and 65535, or 0 to turn the HTTP endpoints off.");
        if (!IPAddress.TryParse(options.BindAddress, out _))
            failures.Add($"{Key}:BindAddress is '{options.BindAddress}'; it must be an IP address such as 0.0.0.0 (every interface) or 127.0.0.1.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
