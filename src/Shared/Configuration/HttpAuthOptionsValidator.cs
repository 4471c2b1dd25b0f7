using Microsoft.Extensions.Options;

namespace Pipeline.Shared.Configuration;

/// <summary>
/// Checks <see cref="HttpAuthOptions"/> before the node starts; the keys themselves are read and checked by the host's
/// signing key ring. Messages name the setting and the value found.
/// </summary>
public sealed class HttpAuthOptionsValidator : IValidateOptions<HttpAuthOptions>
{
    private const string Key = HttpAuthOptions.Section;

    public ValidateOptionsResult Validate(string? name, HttpAuthOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Issuer))
            failures.Add($"{Key}:Issuer is empty; tokens are checked against it (default {HttpAuthOptions.DefaultIssuer}).");
        if (string.IsNullOrWhiteSpace(options.Audience))
            failures.Add($"{Key}:Audience is empty; tokens are checked against it (default {HttpAuthOptions.DefaultIssuer}).");
        if (options.SigningKeysPath is { } path && !string.IsNullOrWhiteSpace(path) && !File.Exists(path) && !Directory.Exists(path))
            failures.Add($"{Key}:SigningKeysPath is '{path}', which does not exist; give the directory of the signing keys (a mounted Secret) or one key file.");
        if (options.KeyReloadSeconds is < 1 or > 3600 || double.IsNaN(options.KeyReloadSeconds))
            failures.Add($"{Key}:KeyReloadSeconds is {options.KeyReloadSeconds}; it must be between 1 and 3600.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
