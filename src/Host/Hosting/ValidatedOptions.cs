using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Shared;

namespace Pipeline.Host.Hosting;

/// <summary>Binds one configuration section to its options type and validates it, or says in one message what is wrong.</summary>
internal static class ValidatedOptions
{
    /// <param name="nested">Sections under <paramref name="section"/> that other options types read (their keys are not this type's).</param>
    public static T Load<T>(IConfiguration configuration, string section, IValidateOptions<T> validator, IReadOnlyList<string>? nested = null)
        where T : class, new()
    {
        var values = configuration.GetSection(section);

        // A misspelt key would otherwise be ignored without a word, and its default used. The binder's own check
        // (BinderOptions.ErrorOnUnknownConfiguration) says "'ErrorOnUnknownConfiguration' was set on the provided
        // BinderOptions, but the following properties were not found on the instance of ClusterOptions: 'Prot'":
        // neither the section nor the settings there are, and it cannot allow the sections other types read.
        // So the check is ours.
        var settings = typeof(T).GetProperties().Where(property => property.CanWrite).Select(property => property.Name)
            .Concat((nested ?? []).Select(path => path[(path.LastIndexOf(':') + 1)..])).ToArray();
        var unknown = values.GetChildren().Select(child => child.Key).Where(key => !settings.Contains(key, StringComparer.OrdinalIgnoreCase)).ToArray();
        if (unknown.Length > 0)
            throw new PipelineInputException($"{string.Join(", ", unknown.Select(key => $"{section}:{key}"))} is not a setting; the settings under {section} are {string.Join(", ", settings)}.");

        var options = new T();
        try
        {
            values.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new PipelineInputException($"configuration section {section} cannot be read: {e.Message}", e);
        }
        BindCommaSeparatedLists(values, options);
        var result = validator.Validate(Options.DefaultName, options);
        if (result.Failed) throw new PipelineInputException(string.Join(" ", result.Failures));
        return options;
    }

    /// <summary>
    /// A list setting may also be one comma-separated value (<c>Pipeline__Cluster__Roles=ingest,scoring</c>), which
    /// replaces the whole list: configuration sources merge arrays element by element, so a shorter array from an
    /// environment variable could never remove the extra elements of one in appsettings.json.
    /// </summary>
    /// <summary>
    /// Makes <paramref name="value"/> what <c>IOptions&lt;T&gt;</c>, <c>IOptionsSnapshot&lt;T&gt;</c> and
    /// <c>IOptionsMonitor&lt;T&gt;</c> hand out: all three create their values through the options factory.
    /// </summary>
    public static void Register<T>(IServiceCollection services, T value)
        where T : class =>
        services.AddSingleton<IOptionsFactory<T>>(new FixedOptionsFactory<T>(value));

    private sealed class FixedOptionsFactory<T>(T value) : IOptionsFactory<T>
        where T : class
    {
        public T Create(string name) => value;
    }

    private static void BindCommaSeparatedLists<T>(IConfigurationSection values, T options)
    {
        foreach (var property in typeof(T).GetProperties().Where(property => property.CanWrite && property.PropertyType == typeof(string[])))
        {
            if (values.GetSection(property.Name).Value is { } commaSeparated)
                property.SetValue(options, commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
    }
}
