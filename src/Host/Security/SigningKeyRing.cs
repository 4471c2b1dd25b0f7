using Microsoft.Extensions.Logging;
using Pipeline.Shared;
using Pipeline.Shared.Configuration;

namespace Pipeline.Host.Security;

/// <summary>
/// The signing keys a node accepts tokens from, read from <see cref="HttpAuthOptions.SigningKeysPath"/> and read again
/// when asked after <see cref="HttpAuthOptions.KeyReload"/> has passed, so that a key added to or removed from the
/// mounted Secret takes effect without a restart (Kubernetes updates a mounted Secret within about a minute). A reading
/// that fails (a file half-replaced, a bad key) keeps the keys of the last good one and is logged once.
/// </summary>
public sealed class SigningKeyRing
{
    private readonly HttpAuthOptions options;
    private readonly TimeProvider time;
    private readonly ILogger log;
    private readonly Lock gate = new();
    private IReadOnlyList<SigningKey> keys;
    private DateTimeOffset readAt;
    private string? lastProblem;

    /// <exception cref="PipelineInputException">The keys cannot be read at start; the message names the file.</exception>
    public SigningKeyRing(HttpAuthOptions options, TimeProvider time, ILogger<SigningKeyRing> log)
    {
        this.options = options;
        this.time = time;
        this.log = log;
        keys = SigningKeys.Read(options.SigningKeysPath);
        readAt = time.GetUtcNow();
    }

    /// <summary>Whether keys are configured at all (without them no token is accepted).</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(options.SigningKeysPath);

    /// <summary>The keys now, read again first when the last reading is older than <see cref="HttpAuthOptions.KeyReload"/>.</summary>
    public IReadOnlyList<SigningKey> Keys
    {
        get
        {
            lock (gate)
            {
                if (IsConfigured && time.GetUtcNow() - readAt >= options.KeyReload) Reread();
                return keys;
            }
        }
    }

    private void Reread()
    {
        readAt = time.GetUtcNow();
        IReadOnlyList<SigningKey> fresh;
        try
        {
            fresh = SigningKeys.Read(options.SigningKeysPath);
        }
        catch (PipelineInputException e)
        {
            if (e.Message != lastProblem) log.LogWarning("Keeping the signing keys {Keys}: reading {Path} again failed: {Problem}", Names(keys), options.SigningKeysPath, e.Message);
            lastProblem = e.Message;
            return;
        }
        lastProblem = null;
        if (Names(fresh) != Names(keys) || !fresh.Zip(keys).All(pair => pair.First.Bytes.AsSpan().SequenceEqual(pair.Second.Bytes)))
            log.LogInformation("Signing keys are now {Keys} (were {Previous})", Names(fresh), Names(keys));
        keys = fresh;
    }

    private static string Names(IReadOnlyList<SigningKey> keys) => keys.Count == 0 ? "none" : string.Join(", ", keys.Select(key => key.Id));
}
