using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using Pipeline.Shared.Configuration;

namespace Pipeline.Host.Security;

/// <summary>
/// Authentication and authorization of the node's HTTP endpoints: ASP.NET Core's JwtBearer checks the bearer token
/// (<see cref="AccessTokens.ValidationParameters"/>), and two policies, <see cref="Viewer"/> and <see cref="Operator"/>,
/// decide by its role (the console's pages send the same token from the <see cref="TokenCookie"/> cookie). Every endpoint needs a viewer unless it says otherwise (the fallback policy): the probes are
/// mapped <c>AllowAnonymous</c>, state-changing routes <c>RequireAuthorization(Operator)</c>. A refusal says why, in
/// JSON: 401 without a valid token, 403 with too small a role.
/// </summary>
public static class HttpAuthentication
{
    /// <summary>Policy of the endpoints that read: a token with role viewer or operator.</summary>
    public const string Viewer = AccessRoles.Viewer;

    /// <summary>Policy of the endpoints that change state: a token with role operator.</summary>
    public const string Operator = AccessRoles.Operator;

    /// <summary>
    /// The cookie in which the console's login (<c>/?token=</c>) keeps the token (HttpOnly, SameSite=Strict); read when a
    /// request has no <c>Authorization</c> header.
    /// </summary>
    public const string TokenCookie = "pipeline_token";

    public static IServiceCollection AddPipelineAuthentication(this IServiceCollection services, HttpAuthOptions options, SigningKeyRing ring)
    {
        // AddAuthentication brings ASP.NET Core's data protection, whose key ring would be written into the user's
        // profile (read-only in the pods). Bearer tokens need none of it: its keys stay in memory.
        services.AddDataProtection();
        services.Configure<KeyManagementOptions>(keys =>
        {
            keys.XmlRepository = new InMemoryKeyRing();
            keys.XmlEncryptor = new NullXmlEncryptor();
        });
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(jwt =>
        {
            jwt.MapInboundClaims = false;
            jwt.RequireHttpsMetadata = false; // no metadata is fetched: the keys are local
            jwt.TokenValidationParameters = AccessTokens.ValidationParameters(options, ring);
            jwt.Events = new JwtBearerEvents
            {
                OnMessageReceived = context =>
                {
                    if (string.IsNullOrEmpty(context.Request.Headers.Authorization) && context.Request.Cookies.TryGetValue(TokenCookie, out var token))
                        context.Token = token;
                    return Task.CompletedTask;
                },
                OnChallenge = context =>
                {
                    context.HandleResponse();
                    var response = context.Response;
                    response.StatusCode = StatusCodes.Status401Unauthorized;
                    response.Headers.WWWAuthenticate = context.AuthenticateFailure is null ? "Bearer" : "Bearer error=\"invalid_token\"";
                    return response.WriteAsJsonAsync(new { error = "unauthorized", reason = WhyUnauthorized(context.AuthenticateFailure, options, ring) });
                },
                OnForbidden = context =>
                {
                    var needed = context.HttpContext.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(data => data.Policy).LastOrDefault(policy => policy is not null) ?? Viewer;
                    var role = context.HttpContext.User.FindFirst(AccessTokens.RoleClaim)?.Value ?? "none";
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return context.Response.WriteAsJsonAsync(new { error = "forbidden", reason = $"this needs a token with role {needed}; this token's role is {role}" });
                },
            };
        });
        services.AddAuthorization(authorization =>
        {
            authorization.AddPolicy(Viewer, policy => policy.RequireAuthenticatedUser().RequireRole(AccessRoles.Viewer, AccessRoles.Operator));
            authorization.AddPolicy(Operator, policy => policy.RequireAuthenticatedUser().RequireRole(AccessRoles.Operator));
            authorization.FallbackPolicy = authorization.GetPolicy(Viewer);
        });
        return services;
    }

    /// <summary>Why a request was not authenticated, for the 401's body (never the token itself).</summary>
    private static string WhyUnauthorized(Exception? failure, HttpAuthOptions options, SigningKeyRing ring)
    {
        if (!ring.IsConfigured)
            return $"this node accepts no tokens: it has no signing keys ({HttpAuthOptions.Section}:SigningKeysPath is not set)";
        if (ring.Keys.Count == 0)
            return $"this node accepts no tokens: {options.SigningKeysPath} ({HttpAuthOptions.Section}:SigningKeysPath) holds no signing key (is the Secret mounted there?)";
        return failure switch
        {
            null => "this needs a bearer token (Authorization: Bearer <token>); an operator makes one with 'pipeline token'",
            SecurityTokenExpiredException expired => $"the token expired at {expired.Expires:yyyy-MM-dd HH:mm:ss} UTC; get a new one",
            SecurityTokenNotYetValidException => "the token is not valid yet (is this machine's clock right?)",
            SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException =>
                "the token is not signed by any key this node knows (was its key rotated out?)",
            SecurityTokenInvalidIssuerException => $"the token's issuer is not {options.Issuer}",
            SecurityTokenInvalidAudienceException => $"the token's audience is not {options.Audience}",
            _ => "the token is not a valid access token of this cluster",
        };
    }

    /// <summary>Data protection's key ring, kept in memory only (nothing in this process protects data with it).</summary>
    private sealed class InMemoryKeyRing : IXmlRepository
    {
        private readonly List<XElement> elements = [];

        public IReadOnlyCollection<XElement> GetAllElements()
        {
            lock (elements) return [.. elements.Select(element => new XElement(element))];
        }

        public void StoreElement(XElement element, string friendlyName)
        {
            lock (elements) elements.Add(new XElement(element));
        }
    }
}
