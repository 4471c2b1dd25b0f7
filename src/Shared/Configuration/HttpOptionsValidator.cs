using Microsoft.Extensions.Options;

namespace Pipeline.Shared.Configuration;

/// <summary>Checks <see cref="HttpOptions"/> before the node starts: generated from the rules on its settings, whose messages name the key and the value found.</summary>
[OptionsValidator]
public sealed partial class HttpOptionsValidator : IValidateOptions<HttpOptions>;
