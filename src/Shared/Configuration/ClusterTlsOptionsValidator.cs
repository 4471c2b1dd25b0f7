using Microsoft.Extensions.Options;

namespace Pipeline.Shared.Configuration;

/// <summary>
/// Checks <see cref="ClusterTlsOptions"/> before the node starts: which settings go together and that the files are
/// there. What is in the files (a certificate with its key, issued by the CA) is checked when they are read
/// (<c>ClusterCertificates.Load</c> in the host). Every message names the setting and the file.
/// </summary>
public sealed class ClusterTlsOptionsValidator : IValidateOptions<ClusterTlsOptions>
{
    private const string Key = ClusterTlsOptions.Section;

    public ValidateOptionsResult Validate(string? name, ClusterTlsOptions options)
    {
        var failures = new List<string>();
        if (!options.Enabled)
        {
            var given = new[]
            {
                (nameof(options.CertificatePath), options.CertificatePath), (nameof(options.KeyPath), options.KeyPath),
                (nameof(options.CertificatePassword), options.CertificatePassword), (nameof(options.CaCertificatePath), options.CaCertificatePath),
            }.Where(setting => !string.IsNullOrEmpty(setting.Item2)).Select(setting => $"{Key}:{setting.Item1}").ToArray();
            if (given.Length > 0)
                failures.Add($"{string.Join(", ", given)} {(given.Length == 1 ? "is" : "are")} set but {Key}:Enabled is false, so remoting would run without TLS; set {Key}:Enabled to true, or remove {(given.Length == 1 ? "it" : "them")}.");
            return Result(failures);
        }

        RequireFile(options.CertificatePath, nameof(options.CertificatePath), "this node's certificate (PEM, e.g. cert-manager's tls.crt, or PKCS#12 .pfx/.p12)", failures);
        RequireFile(options.CaCertificatePath, nameof(options.CaCertificatePath), "the PEM certificate of the CA that issues the cluster's node certificates (cert-manager's ca.crt)", failures);
        if (options.IsPkcs12)
        {
            if (!string.IsNullOrEmpty(options.KeyPath))
                failures.Add($"{Key}:KeyPath is set but {Key}:CertificatePath '{options.CertificatePath}' is a PKCS#12 file, which holds the key itself; remove {Key}:KeyPath.");
        }
        else
        {
            if (!string.IsNullOrEmpty(options.CertificatePassword))
                failures.Add($"{Key}:CertificatePassword is set but {Key}:CertificatePath '{options.CertificatePath}' is not a PKCS#12 file (.pfx, .p12); a PEM key is read from {Key}:KeyPath, unencrypted.");
            RequireFile(options.KeyPath, nameof(options.KeyPath), "the PEM private key of the certificate in " + Key + ":CertificatePath (cert-manager's tls.key)", failures);
        }
        return Result(failures);
    }

    private static void RequireFile(string? path, string setting, string what, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(path))
            failures.Add($"{Key}:{setting} is not set but {Key}:Enabled is true; set it to {what}.");
        else if (Directory.Exists(path))
            failures.Add($"{Key}:{setting} is '{path}', which is a directory; give the file ({what}).");
        else if (!File.Exists(path))
            failures.Add($"{Key}:{setting} is '{path}', which does not exist; it should be {what} (is the Secret mounted there?).");
    }

    private static ValidateOptionsResult Result(List<string> failures) =>
        failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
}
