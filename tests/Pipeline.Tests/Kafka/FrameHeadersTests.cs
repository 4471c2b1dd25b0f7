using System.Text;
using Confluent.Kafka;
using Pipeline.Shared.Kafka;
using Xunit;

namespace Pipeline.Tests.Kafka;

public class FrameHeadersTests
{
    private static Headers HeadersOf(params (string Name, string Value)[] headers)
    {
        var result = new Headers();
        foreach (var (name, value) in headers)
        {
            result.Add(name, Encoding.UTF8.GetBytes(value));
        }

        return result;
    }

    private static (string, string)[] ValidHeaders(string capturedAt = "2025-03-01T08:15:30.123Z") =>
    [
        ("frame-id", "f-0001"),
        ("camera-id", "cam-7"),
        ("captured-at", capturedAt),
        ("content-type", "image/jpeg"),
    ];

    private static FrameRejection Rejection(Headers headers, string? key = "cam-7")
    {
        var result = FrameHeaders.Parse(headers, key);
        Assert.False(result.IsValid, "the frame was accepted");
        return result.Rejection;
    }

    [Fact]
    public void A_frame_with_all_headers_gives_its_metadata()
    {
        var result = FrameHeaders.Parse(HeadersOf([.. ValidHeaders(), ("label", "defect")]), "cam-7");

        Assert.True(result.IsValid);
        Assert.Equal(
            new FrameMetadata("f-0001", "cam-7", new DateTimeOffset(2025, 3, 1, 8, 15, 30, 123, TimeSpan.Zero), "image/jpeg", FrameLabel.Defect),
            result.Metadata);
    }

    [Theory]
    [InlineData("2025-03-01T08:15:30.123Z", "2025-03-01T08:15:30.1230000+00:00")]
    [InlineData("2025-03-01T08:15:30Z", "2025-03-01T08:15:30.0000000+00:00")]
    [InlineData("2025-03-01T09:15:30.5+01:00", "2025-03-01T09:15:30.5000000+01:00")]
    [InlineData("2025-03-01T08:15:30.1234567", "2025-03-01T08:15:30.1234567+00:00")]
    [InlineData("2025-03-01 08:15:30Z", "2025-03-01T08:15:30.0000000+00:00")]
    [InlineData("1740816930123", "2025-03-01T08:15:30.1230000+00:00")]
    [InlineData("0", "1970-01-01T00:00:00.0000000+00:00")]
    public void Captured_at_may_be_iso_8601_or_epoch_milliseconds(string header, string expected)
    {
        var result = FrameHeaders.Parse(HeadersOf(ValidHeaders(header)), "cam-7");

        Assert.True(result.IsValid, result.Rejection?.Detail);
        Assert.Equal(DateTimeOffset.Parse(expected), result.Metadata.CapturedAt);
        Assert.Equal(DateTimeOffset.Parse(expected).Offset, result.Metadata.CapturedAt.Offset);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("01/03/2025 08:15")]
    [InlineData("2025-03-01")]
    [InlineData("2025-13-01T08:15:30Z")]
    [InlineData("-1740816930123")]
    [InlineData("99999999999999999999")]
    [InlineData("1740816930.123")]
    public void An_unparsable_captured_at_is_refused_with_its_reason(string header)
    {
        var rejection = Rejection(HeadersOf(ValidHeaders(header)));

        Assert.Equal(DeadLetterReasons.InvalidCapturedAt, rejection.ReasonCode);
        Assert.Contains(header, rejection.Detail);
    }

    [Theory]
    [InlineData("frame-id")]
    [InlineData("camera-id")]
    [InlineData("captured-at")]
    [InlineData("content-type")]
    public void A_missing_required_header_is_named(string missing)
    {
        var rejection = Rejection(HeadersOf(ValidHeaders().Where(h => h.Item1 != missing).ToArray()));

        Assert.Equal(DeadLetterReasons.MissingHeader, rejection.ReasonCode);
        Assert.Contains($"'{missing}'", rejection.Detail);
        Assert.Contains("missing", rejection.Detail);
    }

    [Fact]
    public void An_empty_or_null_required_header_counts_as_missing()
    {
        var empty = HeadersOf(ValidHeaders().Select(h => h.Item1 == "frame-id" ? (h.Item1, "  ") : h).ToArray());
        Assert.Equal(DeadLetterReasons.MissingHeader, Rejection(empty).ReasonCode);
        Assert.Contains("empty", Rejection(empty).Detail);

        var nullValue = HeadersOf(ValidHeaders().Where(h => h.Item1 != "frame-id").ToArray());
        nullValue.Add("frame-id", null);
        Assert.Equal(DeadLetterReasons.MissingHeader, Rejection(nullValue).ReasonCode);

        Assert.Equal(DeadLetterReasons.MissingHeader, Rejection(new Headers()).ReasonCode);
        Assert.Equal(DeadLetterReasons.MissingHeader, FrameHeaders.Parse(null, "cam-7").Rejection?.ReasonCode);
    }

    [Theory]
    [InlineData("scratched")]
    [InlineData("")]
    [InlineData("1")]
    public void An_unknown_label_is_refused(string label)
    {
        var rejection = Rejection(HeadersOf([.. ValidHeaders(), ("label", label)]));

        Assert.Equal(DeadLetterReasons.UnknownLabel, rejection.ReasonCode);
    }

    [Theory]
    [InlineData("good", FrameLabel.Good)]
    [InlineData("defect", FrameLabel.Defect)]
    [InlineData("Defect", FrameLabel.Defect)]
    public void Labels_are_good_or_defect(string label, FrameLabel expected)
    {
        var result = FrameHeaders.Parse(HeadersOf([.. ValidHeaders(), ("label", label)]), "cam-7");

        Assert.True(result.IsValid);
        Assert.Equal(expected, result.Metadata.Label);
    }

    [Fact]
    public void Without_a_label_header_the_label_is_unknown()
    {
        Assert.Null(FrameHeaders.Parse(HeadersOf(ValidHeaders()), "cam-7").Metadata?.Label);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void A_frame_without_a_key_is_refused(string? key)
    {
        Assert.Equal(DeadLetterReasons.MissingKey, Rejection(HeadersOf(ValidHeaders()), key).ReasonCode);
    }

    [Fact]
    public void A_key_naming_another_camera_is_refused()
    {
        var rejection = Rejection(HeadersOf(ValidHeaders()), "cam-8");

        Assert.Equal(DeadLetterReasons.CameraIdMismatch, rejection.ReasonCode);
        Assert.Contains("cam-8", rejection.Detail);
        Assert.Contains("cam-7", rejection.Detail);
    }

    [Theory]
    [InlineData("image/png", "image/png")]
    [InlineData("IMAGE/BMP", "image/bmp")]
    public void Known_content_types_are_accepted_in_any_case(string header, string expected)
    {
        var headers = HeadersOf(ValidHeaders().Select(h => h.Item1 == "content-type" ? (h.Item1, header) : h).ToArray());

        Assert.Equal(expected, FrameHeaders.Parse(headers, "cam-7").Metadata?.ContentType);
    }

    [Fact]
    public void An_unsupported_content_type_is_refused()
    {
        var headers = HeadersOf(ValidHeaders().Select(h => h.Item1 == "content-type" ? (h.Item1, "application/pdf") : h).ToArray());

        Assert.Equal(DeadLetterReasons.UnsupportedContentType, Rejection(headers).ReasonCode);
    }

    [Fact]
    public void A_header_that_is_not_utf8_is_refused()
    {
        var headers = HeadersOf(ValidHeaders().Where(h => h.Item1 != "frame-id").ToArray());
        headers.Add("frame-id", [0xff, 0xfe, 0x41]);

        var rejection = Rejection(headers);

        Assert.Equal(DeadLetterReasons.InvalidHeader, rejection.ReasonCode);
        Assert.Contains("frame-id", rejection.Detail);
    }

    [Fact]
    public void A_megabyte_key_equal_to_a_megabyte_camera_id_is_refused_naming_the_limit_without_copying_them()
    {
        var camera = new string('c', 1024 * 1024);
        var headers = HeadersOf(ValidHeaders().Select(h => h.Item1 == "camera-id" ? (h.Item1, camera) : h).ToArray());

        var rejection = Rejection(headers, camera);

        Assert.Equal(DeadLetterReasons.InvalidHeader, rejection.ReasonCode);
        Assert.Contains("message key is 1,048,576 bytes, over the limit of 256", rejection.Detail);
        Assert.Contains("header 'camera-id' is 1,048,576 bytes, over the limit of 256", rejection.Detail);
        Assert.Contains("Pipeline:Ingest:MaxIdBytes", rejection.Detail);
        Assert.True(rejection.Detail.Length < 600, $"the detail is {rejection.Detail.Length} characters: {rejection.Detail}");
        Assert.True(rejection.KeyWithheld);
        Assert.Equal(["camera-id"], rejection.WithheldHeaders);
    }

    [Fact]
    public void A_ten_kilobyte_frame_id_is_refused_and_one_at_the_limit_is_accepted()
    {
        Headers WithFrameId(string id) => HeadersOf(ValidHeaders().Select(h => h.Item1 == "frame-id" ? (h.Item1, id) : h).ToArray());

        var rejection = Rejection(WithFrameId(new string('f', 10 * 1024)));

        Assert.Equal(DeadLetterReasons.InvalidHeader, rejection.ReasonCode);
        Assert.StartsWith("Header 'frame-id' is 10,240 bytes, over the limit of 256 for ids", rejection.Detail);
        Assert.Contains($"it begins '{new string('f', FrameHeaders.ExcerptLength)}…'", rejection.Detail);
        Assert.Equal(["frame-id"], rejection.WithheldHeaders);
        Assert.False(rejection.KeyWithheld);
        Assert.True(FrameHeaders.Parse(WithFrameId(new string('f', 256)), "cam-7").IsValid);
        Assert.True(FrameHeaders.Parse(WithFrameId(new string('é', 128)), "cam-7").IsValid); // 256 bytes of UTF-8
        Assert.False(FrameHeaders.Parse(WithFrameId(new string('é', 129)), "cam-7").IsValid);
    }

    [Fact]
    public void Other_headers_and_header_names_over_their_limit_are_refused_even_outside_the_contract()
    {
        var bigTimestamp = HeadersOf(ValidHeaders(capturedAt: new string('1', 9000)));
        var bigTrace = HeadersOf([.. ValidHeaders(), ("traceparent", new string('t', 8193))]);
        var bigName = HeadersOf([.. ValidHeaders(), (new string('n', 8193), "x")]);

        Assert.Contains("header 'captured-at' is 9,000 bytes, over the limit of 8,192 for headers (Pipeline:Ingest:MaxHeaderBytes)", Rejection(bigTimestamp).Detail, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["traceparent"], Rejection(bigTrace).WithheldHeaders);
        Assert.Contains("header name is 8,193 bytes", Rejection(bigName).Detail);
        Assert.True(FrameHeaders.Parse(HeadersOf([.. ValidHeaders(), ("baggage", new string('b', 8192))]), "cam-7").IsValid);
    }

    [Fact]
    public void The_limits_are_configurable()
    {
        var limits = new FrameHeaderLimits(MaxIdBytes: 4, MaxHeaderBytes: 64);

        var rejection = FrameHeaders.Parse(HeadersOf(ValidHeaders()), "cam-7", limits).Rejection!;

        Assert.Equal(DeadLetterReasons.InvalidHeader, rejection.ReasonCode);
        Assert.Contains("message key is 5 bytes, over the limit of 4", rejection.Detail);
        Assert.Equal(["frame-id", "camera-id"], rejection.WithheldHeaders);
        Assert.True(FrameHeaders.Parse(HeadersOf(ValidHeaders()), "cam-7", new FrameHeaderLimits(MaxIdBytes: 6, MaxHeaderBytes: 64)).IsValid);
    }

    [Fact]
    public void Refused_values_are_quoted_short_and_without_line_breaks()
    {
        var label = "scratched\n" + new string('s', 500);

        var rejection = Rejection(HeadersOf([.. ValidHeaders(), ("label", label)]));

        Assert.Equal(DeadLetterReasons.UnknownLabel, rejection.ReasonCode);
        Assert.Contains($"'scratched?{new string('s', FrameHeaders.ExcerptLength - 10)}…'", rejection.Detail);
        Assert.DoesNotContain("\n", rejection.Detail);
        Assert.True(rejection.Detail.Length < 200, rejection.Detail);
    }

    [Fact]
    public void The_last_of_repeated_headers_counts()
    {
        var headers = HeadersOf([.. ValidHeaders(), ("frame-id", "f-0002")]);

        Assert.Equal("f-0002", FrameHeaders.Parse(headers, "cam-7").Metadata?.FrameId);
    }

    [Fact]
    public void Created_headers_parse_back_to_the_same_metadata()
    {
        var metadata = new FrameMetadata(
            "f-42", "line-2/cam-3", new DateTimeOffset(2025, 6, 30, 23, 59, 59, 999, TimeSpan.FromHours(2)), FrameContentTypes.Png, FrameLabel.Good);

        var message = FrameHeaders.CreateMessage(metadata, [1, 2, 3]);

        Assert.Equal("line-2/cam-3", message.Key);
        Assert.Equal([1, 2, 3], message.Value);
        Assert.Equal(metadata, FrameHeaders.Parse(message.Headers, message.Key).Metadata);
        Assert.Equal("2025-06-30T23:59:59.9990000+02:00", Encoding.UTF8.GetString(message.Headers.GetLastBytes("captured-at")));
        Assert.Equal("good", Encoding.UTF8.GetString(message.Headers.GetLastBytes("label")));
    }

    [Fact]
    public void Created_headers_leave_out_an_unknown_label()
    {
        var headers = FrameHeaders.Create(new FrameMetadata("f-1", "cam-1", DateTimeOffset.UnixEpoch, FrameContentTypes.Jpeg));

        Assert.False(headers.TryGetLastBytes("label", out _));
        Assert.Equal(4, headers.Count);
    }

    [Fact]
    public void A_frame_without_a_product_header_names_no_product()
    {
        var result = FrameHeaders.Parse(HeadersOf(ValidHeaders()), "cam-7");

        Assert.True(result.IsValid);
        Assert.Null(result.Metadata.Product); // the camera's product decides (ProductCatalog.ProductOf)
    }

    [Theory]
    [InlineData("bracket-a", "bracket-a")]
    [InlineData(" default ", "default")]
    [InlineData("p7", "p7")]
    public void The_product_header_is_the_frames_product(string header, string expected)
    {
        var result = FrameHeaders.Parse(HeadersOf([.. ValidHeaders(), ("product", header)]), "cam-7");

        Assert.True(result.IsValid, result.Rejection?.Detail);
        Assert.Equal(expected, result.Metadata.Product);
    }

    [Theory]
    [InlineData("Bracket-A")]
    [InlineData("bracket_a")]
    [InlineData("-bracket")]
    [InlineData("bracket-")]
    [InlineData("")]
    [InlineData("a/b")]
    public void A_product_header_that_is_not_a_product_name_is_refused_as_an_unknown_product(string header)
    {
        var rejection = Rejection(HeadersOf([.. ValidHeaders(), ("product", header)]));

        Assert.Equal(DeadLetterReasons.UnknownProduct, rejection.ReasonCode);
        Assert.Contains($"Header 'product' '{header}' is not a product name", rejection.Detail);
    }

    [Fact]
    public void A_long_product_header_is_quoted_cut_short()
    {
        var rejection = Rejection(HeadersOf([.. ValidHeaders(), ("product", new string('p', 64))]));

        Assert.Equal(DeadLetterReasons.UnknownProduct, rejection.ReasonCode);
        Assert.Contains($"'{new string('p', FrameHeaders.ExcerptLength)}…'", rejection.Detail);
    }

    [Fact]
    public void Created_headers_carry_the_product_and_parse_back_to_it()
    {
        var metadata = new FrameMetadata("f-1", "cam-1", DateTimeOffset.UnixEpoch, FrameContentTypes.Jpeg, Product: "bracket-a");

        var message = FrameHeaders.CreateMessage(metadata, [1]);

        Assert.Equal("bracket-a", Encoding.UTF8.GetString(message.Headers.GetLastBytes("product")));
        Assert.Equal(metadata, FrameHeaders.Parse(message.Headers, message.Key).Metadata);
        Assert.False(FrameHeaders.Create(metadata with { Product = null }).TryGetLastBytes("product", out _));
    }
}
