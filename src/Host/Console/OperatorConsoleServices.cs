using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Host.Hosting;
using Pipeline.Shared.Kafka;

namespace Pipeline.Host.OperatorConsole;

/// <summary>
/// Registers the operator console on a node with the training role (<see cref="TrainingRole"/>): that node holds the
/// model registry and the training singleton the console's controls act on, and is one replica, so there is one live
/// feed and one consumer group for it. Nothing is registered when <see cref="ConsoleOptions.Enabled"/> is false.
/// </summary>
internal static class OperatorConsoleServices
{
    public static void AddOperatorConsole(this IServiceCollection services, IConfiguration configuration)
    {
        var options = ValidatedOptions.Load(configuration, ConsoleOptions.SectionName, new ConsoleOptionsValidator());
        if (!options.Enabled) return;
        ValidatedOptions.Register(services, options);
        services.AddSingleton(provider => new ConsoleKafka(provider.GetRequiredService<IOptions<KafkaOptions>>().Value, options));
        services.AddSingleton(provider => new ConsoleFeed(options, TimeProvider.System));
        services.AddSingleton<FrameImages>(provider => ActivatorUtilities.CreateInstance<FrameImages>(provider, options));
        services.AddSingleton<LabelPublisher>();
        services.AddSingleton<ClusterHealth>();
        services.AddHostedService<ConsoleFeedConsumer>();
        services.AddSingleton<IHttpRoutes, ConsoleRoutes>();
    }
}
