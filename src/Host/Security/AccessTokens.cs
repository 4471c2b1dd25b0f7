using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Pipeline.Shared.Configuration;

namespace Pipeline.Host.Security;

/// <summary>
/// The access tokens of the HTTP endpoints: JWTs signed with HMAC-SHA256 by one of the cluster's
/// <see cref="SigningKey"/>s, carrying who holds them (<c>sub</c>), their role (<c>role</c>: one of
/// <see cref="AccessRoles.All"/>), issuer, audience and expiry. <c>pipeline token</c> issues them; a demo or console can
/// issue one at start from a key it generated.
/// </summary>
public static class AccessTokens
{
    /// <summary>The claim that carries the role.</summary>
    public const string RoleClaim = "role";

    /// <summary>The claim that names the holder.</summary>
    public const string SubjectClaim = "sub";

    /// <summary>The longest lifetime <c>pipeline token</c> hands out: a token cannot be revoked on its own, only with its key.</summary>
    public static readonly TimeSpan MaximumLifetime = TimeSpan.FromDays(31);

    /// <summary>A signed token for <paramref name="subject"/> in <paramref name="role"/>, valid from now for <paramref name="lifetime"/>.</summary>
    public static string Issue(SigningKey key, string role, string subject, TimeSpan lifetime, string issuer, string audience, TimeProvider? time = null)
    {
        if (!AccessRoles.All.Contains(role)) throw new ArgumentException($"'{role}' is not a role; the roles are {string.Join(", ", AccessRoles.All)}.", nameof(role));
        var now = (time ?? TimeProvider.System).GetUtcNow().UtcDateTime;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Subject = new ClaimsIdentity([new Claim(SubjectClaim, subject), new Claim(RoleClaim, role)]),
            SigningCredentials = new SigningCredentials(key.ToSecurityKey(), SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>How a node checks a token: signed by one of <paramref name="ring"/>'s keys, for this issuer and audience, not expired.</summary>
    public static TokenValidationParameters ValidationParameters(HttpAuthOptions options, SigningKeyRing ring) => new()
    {
        ValidIssuer = options.Issuer,
        ValidAudience = options.Audience,
        ValidateIssuer = true,
        ValidateAudience = true,
        ValidateLifetime = true,
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        ValidateIssuerSigningKey = true,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ClockSkew = TimeSpan.FromSeconds(30),
        IssuerSigningKeyResolver = (_, _, _, _) => ring.Keys.Select(key => (SecurityKey)key.ToSecurityKey()),
        RoleClaimType = RoleClaim,
        NameClaimType = SubjectClaim,
    };
}
