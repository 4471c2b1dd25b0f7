using Microsoft.Extensions.Options;

namespace Pipeline.Shared.Configuration;

/// <summary>
/// Checks <see cref="HttpAuthOptions"/> before the node starts: generated from the rules on its settings, whose
/// messages name the setting and the value found. The keys themselves are read and checked by the host's signing key
/// ring.
/// </summary>
[OptionsValidator]
public sealed partial class HttpAuthOptionsValidator : IValidateOptions<HttpAuthOptions>;
