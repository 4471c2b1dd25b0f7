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
}
