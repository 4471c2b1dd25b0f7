using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Pipeline.Host.Cli;

/// <summary>
/// The configuration the client commands (<c>camera</c>, <c>models</c>) read: the same sources as <c>pipeline serve</c>
/// (appsettings.json next to the executable, appsettings.{Environment}.json, environment variables).
/// </summary>
public static class CliConfiguration
{
    public static IConfigurationManager Read() =>
        Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory }).Configuration;
}
