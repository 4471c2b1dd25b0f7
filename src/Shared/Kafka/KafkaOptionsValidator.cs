using Microsoft.Extensions.Options;

namespace Pipeline.Shared.Kafka;

/// <summary>
/// <see cref="KafkaOptions.Validate"/> (producers) or <see cref="KafkaOptions.ValidateForConsumer"/> as an options
/// validator, for binding section <c>Pipeline:Kafka</c> the way the other settings are bound.
/// </summary>
/// <param name="forConsumer">Check what consumers need too (a consumer group).</param>
public sealed class KafkaOptionsValidator(bool forConsumer = false) : IValidateOptions<KafkaOptions>
{
    public ValidateOptionsResult Validate(string? name, KafkaOptions options)
    {
        var problems = forConsumer ? options.ValidateForConsumer() : options.Validate();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
