namespace Pipeline.Shared.Configuration;

/// <summary>
/// Who may use the node's HTTP endpoints beyond the probes. Every endpoint other than <c>/healthz</c>, <c>/readyz</c>
/// (and <c>/metrics</c> unless <see cref="ProtectMetrics"/>) needs a bearer token: a JWT signed (HMAC-SHA256) with one
/// of the keys in <see cref="SigningKeysPath"/>, issued by <see cref="Issuer"/> for <see cref="Audience"/>, not
/// expired, whose <c>role</c> claim is <c>viewer</c> (read) or <c>operator</c> (read and change: refit, promote,
/// rollback). <c>pipeline token</c> makes such tokens. Without keys no token is accepted, so those endpoints answer
/// 401 to everyone. Bound from the <c>Pipeline:Http:Auth</c> section and checked by <see cref="HttpAuthOptionsValidator"/>.
/// </summary>
public sealed class HttpAuthOptions
{
    public const string Section = "Pipeline:Http:Auth";

    /// <summary>The issuer and audience tokens carry unless configured otherwise.</summary>
    public const string DefaultIssuer = "inspection-pipeline";

    /// <summary>
    /// A directory in which every file (names starting with '.' excepted, as in a mounted Secret) is one signing key,
    /// named by its file name (the tokens' <c>kid</c>), or a single key file. A key is at least 32 random bytes,
    /// base64-encoded (<c>pipeline token new-key</c>). The directory is read again every
    /// <see cref="KeyReloadSeconds"/>, so keys are added and removed without a restart.
    /// </summary>
    [ExistingPath(Note = "give the directory of the signing keys, a mounted Secret, or one key file")]
    public string? SigningKeysPath { get; set; }

    /// <summary>The <c>iss</c> every token must carry.</summary>
    [NotEmpty(Note = "tokens are checked against it; default " + DefaultIssuer)]
    public string Issuer { get; set; } = DefaultIssuer;

    /// <summary>The <c>aud</c> every token must carry.</summary>
    [NotEmpty(Note = "tokens are checked against it; default " + DefaultIssuer)]
    public string Audience { get; set; } = DefaultIssuer;

    /// <summary><c>/metrics</c> needs a viewer token too (the scraper then sends one).</summary>
    public bool ProtectMetrics { get; set; }

    /// <summary>How often <see cref="SigningKeysPath"/> is read again, at most.</summary>
    [Between(1, 3600, Note = "30 by default")]
    public double KeyReloadSeconds { get; set; } = 30;

    public TimeSpan KeyReload => TimeSpan.FromSeconds(KeyReloadSeconds);
}

/// <summary>The roles a token may carry, from least to most.</summary>
public static class AccessRoles
{
    /// <summary>Reads state: <c>/training/status</c>, <c>GET /models</c>, the console's pages.</summary>
    public const string Viewer = "viewer";

    /// <summary>Changes state: refit, promote, rollback, labels; and everything a viewer may.</summary>
    public const string Operator = "operator";

    public static IReadOnlyList<string> All { get; } = [Viewer, Operator];
}
