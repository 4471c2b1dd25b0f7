using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Maps;
using Xunit;

namespace Pipeline.Tests.Kafka;

public class InspectionEventsTests
{
    private static readonly InspectionResult Result = new()
    {
        FrameId = "f-0001",
        CameraId = "cam-7",
        Score = 3.25,
        Threshold = 2.5,
        Verdict = InspectionVerdict.Anomalous,
        ModelVersion = "20250301T0800Z",
        CapturedAt = new DateTimeOffset(2025, 3, 1, 8, 15, 30, 123, TimeSpan.Zero),
        IngestedAt = new DateTimeOffset(2025, 3, 1, 8, 15, 30, 140, TimeSpan.Zero),
        ScoredAt = new DateTimeOffset(2025, 3, 1, 8, 15, 30, 210, TimeSpan.Zero),
        PublishedAt = new DateTimeOffset(2025, 3, 1, 8, 15, 30, 215, TimeSpan.Zero),
        SourcePartition = 3,
        SourceOffset = 1042,
    };

    private static string Text(byte[] json) => Encoding.UTF8.GetString(json);

    [Fact]
    public void A_result_is_written_as_snake_case_json_with_its_schema_version()
    {
        var json = JsonNode.Parse(InspectionEvents.Serialize(Result))!.AsObject();

        Assert.Equal(
            ["schema_version", "frame_id", "camera_id", "product", "score", "threshold", "verdict", "model_version", "captured_at",
             "ingested_at", "scored_at", "published_at", "source_partition", "source_offset"],
            json.Select(p => p.Key));
        Assert.Equal(3, (int)json["schema_version"]!);
        Assert.Equal("default", (string)json["product"]!);
        Assert.Equal("anomalous", (string)json["verdict"]!);
        Assert.Equal("2025-03-01T08:15:30.123+00:00", (string)json["captured_at"]!);
        Assert.Equal(1042, (long)json["source_offset"]!);
    }

    [Fact]
    public void Regions_are_written_in_snake_case_after_the_fields_of_version_1_and_read_back()
    {
        var withRegions = Result with { Regions = [new AnomalyRegion(120, 40, 36, 28, 0.0042, 138, 52, 610)] };

        var json = JsonNode.Parse(InspectionEvents.Serialize(withRegions))!.AsObject();

        Assert.Equal("regions", json.Last().Key);
        Assert.Equal("""[{"x":120,"y":40,"width":36,"height":28,"peak":0.0042,"peak_x":138,"peak_y":52,"area":610}]""", json["regions"]!.ToJsonString());
        Assert.Equal(withRegions.Regions, InspectionEvents.DeserializeInspectionResult(InspectionEvents.Serialize(withRegions)).Regions);
    }

    [Fact]
    public void A_version_1_result_without_regions_or_product_still_reads_as_the_default_products()
    {
        var json = JsonNode.Parse(InspectionEvents.Serialize(Result with { Product = "bracket-a" }))!.AsObject();
        json["schema_version"] = 1;
        json.Remove("product");

        var read = InspectionEvents.DeserializeInspectionResult(Encoding.UTF8.GetBytes(json.ToJsonString()));

        Assert.Equal((1, "default"), (read.SchemaVersion, read.Product));
        Assert.Null(read.Regions);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Results_of_every_schema_version_up_to_the_current_one_read(int version)
    {
        var json = JsonNode.Parse(InspectionEvents.Serialize(Result))!.AsObject();
        json["schema_version"] = version;

        Assert.Equal(version, InspectionEvents.DeserializeInspectionResult(Encoding.UTF8.GetBytes(json.ToJsonString())).SchemaVersion);
        Assert.Equal(3, InspectionResult.CurrentSchemaVersion);
    }

    [Fact]
    public void A_result_names_its_product_and_round_trips_with_it()
    {
        var ofBracket = Result with { Product = "bracket-a" };

        var json = InspectionEvents.Serialize(ofBracket);

        Assert.Contains("\"camera_id\":\"cam-7\",\"product\":\"bracket-a\",", Text(json));
        Assert.Equal(ofBracket, InspectionEvents.DeserializeInspectionResult(json));
    }

    [Fact]
    public void A_result_round_trips()
    {
        Assert.Equal(Result, InspectionEvents.DeserializeInspectionResult(InspectionEvents.Serialize(Result)));

        var unpublished = Result with { PublishedAt = null, Verdict = InspectionVerdict.Good };
        var json = InspectionEvents.Serialize(unpublished);
        Assert.DoesNotContain("published_at", Text(json));
        Assert.Contains("\"verdict\":\"good\"", Text(json));
        Assert.Equal(unpublished, InspectionEvents.DeserializeInspectionResult(json));
    }

    [Fact]
    public void Label_feedback_round_trips()
    {
        var feedback = new LabelFeedback { FrameId = "f-0001", Label = FrameLabel.Defect };

        var json = InspectionEvents.Serialize(feedback);

        Assert.Equal("""{"schema_version":2,"frame_id":"f-0001","label":"defect"}""", Text(json));
        Assert.Equal(feedback, InspectionEvents.DeserializeLabelFeedback(json));
    }

    [Fact]
    public void Label_feedback_may_name_its_product_and_version_1_feedback_without_one_still_reads()
    {
        var feedback = new LabelFeedback { FrameId = "f-0001", Label = FrameLabel.Good, Product = "bracket-a" };

        var json = InspectionEvents.Serialize(feedback);

        Assert.Equal("""{"schema_version":2,"frame_id":"f-0001","label":"good","product":"bracket-a"}""", Text(json));
        Assert.Equal(feedback, InspectionEvents.DeserializeLabelFeedback(json));
        var version1 = InspectionEvents.DeserializeLabelFeedback("""{"schema_version":1,"frame_id":"f-0001","label":"good"}"""u8);
        Assert.Equal((1, null), (version1.SchemaVersion, version1.Product));
    }

    [Fact]
    public void A_model_event_names_its_product_and_version_1_events_read_as_the_default_products()
    {
        var published = new ModelEvent
        {
            Kind = ModelEventKind.Published, Product = "bracket-a", Version = "v2", PreviousVersion = "v1",
            Detail = "passed", At = new DateTimeOffset(2026, 11, 26, 16, 3, 41, TimeSpan.Zero),
        };

        var json = JsonNode.Parse(InspectionEvents.Serialize(published))!.AsObject();

        Assert.Equal((2, "bracket-a"), ((int)json["schema_version"]!, (string)json["product"]!));
        Assert.Equal(published, InspectionEvents.DeserializeModelEvent(InspectionEvents.Serialize(published)));
        json["schema_version"] = 1;
        json.Remove("product");
        var version1 = InspectionEvents.DeserializeModelEvent(Encoding.UTF8.GetBytes(json.ToJsonString()));
        Assert.Equal((1, "default", "v2"), (version1.SchemaVersion, version1.Product, version1.Version));
    }

    [Fact]
    public void A_newer_schema_version_is_refused_before_anything_else()
    {
        var json = """{"schema_version":4,"frame_id":"f-1","something_new":{}}"""u8.ToArray();

        var error = Assert.Throws<EventFormatException>(() => InspectionEvents.DeserializeInspectionResult(json));

        Assert.Contains("schema version 4; this build reads versions 1 to 3", error.Message);
        Assert.Contains("Upgrade", error.Message);
        var label = Assert.Throws<EventFormatException>(() => InspectionEvents.DeserializeLabelFeedback("""{"schema_version":3,"frame_id":"f-1","label":"good"}"""u8));
        Assert.Contains("schema version 3; this build reads versions 1 to 2", label.Message);
    }

    [Theory]
    [InlineData("""{"frame_id":"f-1","label":"good"}""", "schema_version")]
    [InlineData("""{"schema_version":"1","frame_id":"f-1","label":"good"}""", "schema_version")]
    [InlineData("""{"schema_version":1,"label":"good"}""", "frame_id")]
    [InlineData("""{"schema_version":1,"frame_id":null,"label":"good"}""", "frame_id")]
    [InlineData("""{"schema_version":1,"frame_id":"f-1","label":"scratched"}""", "label")]
    [InlineData("""{"schema_version":1,"frame_id":"f-1","label":1}""", "label")]
    [InlineData("""[1, 2]""", "not an object")]
    [InlineData("""{"schema_version":1,""", "not valid")]
    public void Invalid_label_feedback_is_refused_saying_what_is_wrong(string json, string expected)
    {
        var error = Assert.Throws<EventFormatException>(() => InspectionEvents.DeserializeLabelFeedback(Encoding.UTF8.GetBytes(json)));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_result_missing_a_field_is_refused()
    {
        var json = JsonNode.Parse(InspectionEvents.Serialize(Result))!.AsObject();
        json.Remove("score");

        var error = Assert.Throws<EventFormatException>(
            () => InspectionEvents.DeserializeInspectionResult(Encoding.UTF8.GetBytes(json.ToJsonString())));

        Assert.Contains("score", error.Message);
    }

    [Fact]
    public void A_result_with_a_score_that_is_not_a_number_is_not_published()
    {
        var error = Assert.Throws<ArgumentException>(() => InspectionEvents.Serialize(Result with { Score = double.NaN }));

        Assert.Contains("f-0001", error.Message);
    }

    [Fact]
    public void Every_result_goes_to_the_results_topic_and_anomalous_ones_to_the_anomalies_topic_too()
    {
        var topics = new TopicNames();

        Assert.Equal(["inspection-results", "anomalies"], topics.DestinationsOf(Result));
        Assert.Equal(["inspection-results"], topics.DestinationsOf(Result with { Verdict = InspectionVerdict.Good }));
    }

    [Theory]
    [InlineData(2.5, 2.5, InspectionVerdict.Good)]
    [InlineData(2.51, 2.5, InspectionVerdict.Anomalous)]
    [InlineData(0.1, 2.5, InspectionVerdict.Good)]
    public void A_score_above_the_threshold_is_anomalous(double score, double threshold, InspectionVerdict expected)
    {
        Assert.Equal(expected, InspectionResult.VerdictFor(score, threshold));
    }

    [Fact]
    public void Event_messages_are_keyed_by_camera_and_name_their_frame()
    {
        var message = InspectionEvents.ToMessage(Result);
        Assert.Equal("cam-7", message.Key);
        Assert.Equal("f-0001", Encoding.UTF8.GetString(message.Headers.GetLastBytes("frame-id")));
        Assert.Equal("application/json", Encoding.UTF8.GetString(message.Headers.GetLastBytes("content-type")));
        Assert.Equal(Result, InspectionEvents.DeserializeInspectionResult(message.Value));

        var label = InspectionEvents.ToMessage("cam-7", new LabelFeedback { FrameId = "f-0001", Label = FrameLabel.Good });
        Assert.Equal("cam-7", label.Key);
        Assert.Equal(FrameLabel.Good, InspectionEvents.DeserializeLabelFeedback(label.Value).Label);
    }
}
