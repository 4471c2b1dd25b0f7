using Microsoft.Extensions.Configuration;
using Pipeline.Ingest;
using Pipeline.Shared.Kafka;
using Xunit;

namespace Pipeline.Tests.Ingest;

public class IngestOptionsTests
{
    [Fact]
    public void The_key_and_header_limits_bind_from_the_ingest_section_and_default_to_256_bytes_for_ids()
    {
        var options = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Pipeline:Ingest:MaxHeaderBytes"] = "1024" })
            .Build().GetSection(IngestOptions.Section).Get<IngestOptions>()!;

        Assert.Empty(options.Problems());
        Assert.Equal(new FrameHeaderLimits(MaxIdBytes: 256, MaxHeaderBytes: 1024), options.HeaderLimits);
    }

    [Theory]
    [InlineData(0, 8192, "Pipeline:Ingest:MaxIdBytes is 0; use at least 1 (256 by default).")]
    [InlineData(256, -1, "Pipeline:Ingest:MaxHeaderBytes is -1; use at least 1 (8192 by default).")]
    public void A_limit_below_one_byte_is_refused_naming_the_setting(int maxIdBytes, int maxHeaderBytes, string expected)
    {
        var options = new IngestOptions { MaxIdBytes = maxIdBytes, MaxHeaderBytes = maxHeaderBytes };

        Assert.Equal([expected], options.Problems());
    }

    [Fact]
    public void Every_bad_setting_is_told_at_once_with_its_key_its_value_and_what_would_do()
    {
        var options = new IngestOptions { MaxInFlightFrames = 0, DecodeWorkers = 0, RetryDelayMilliseconds = -5, ScoringTimeoutMilliseconds = 10 };

        Assert.Equal(
            [
                "Pipeline:Ingest:MaxInFlightFrames is 0; use at least 1 (64 by default).",
                "Pipeline:Ingest:DecodeWorkers is 0; use 1 to 256 (one per processor core by default).",
                "Pipeline:Ingest:ScoringTimeoutMilliseconds is 10; use at least 100 (a batch on a CPU takes seconds).",
                "Pipeline:Ingest:RetryDelayMilliseconds is -5; use 0 or more (500 by default).",
            ],
            options.Problems());
    }

    [Fact]
    public void A_liveness_stall_shorter_than_the_readiness_stall_is_refused_naming_both()
    {
        var options = new IngestOptions { NotReadyAfterStalledSeconds = 120, NotLiveAfterStalledSeconds = 60 };

        var problem = Assert.Single(options.Problems());
        Assert.StartsWith("Pipeline:Ingest:NotLiveAfterStalledSeconds is 60; use at least Pipeline:Ingest:NotReadyAfterStalledSeconds (120)", problem);
    }

    [Fact]
    public void The_defaults_pass_and_decode_with_one_worker_per_processor_core()
    {
        var options = new IngestOptions();

        Assert.Empty(options.Problems());
        Assert.Equal(Environment.ProcessorCount, options.DecodeWorkers);
        Assert.True(new IngestOptionsValidator().Validate(null, options).Succeeded);
    }
}
