using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.Tests.Deploy;
using Xunit;

namespace Pipeline.Tests.Streaming;

/// <summary>
/// The contract of the pipeline's output topics as docs/events.md writes it, read from its tables (the result's fields
/// with their types, the dead-letter headers, the reason codes), so that a test checks messages against the page
/// people read and not against a copy of it.
/// </summary>
internal sealed partial class EventsContract
{
    private EventsContract(IReadOnlyList<ResultField> resultFields, IReadOnlyList<string> deadLetterHeaders, IReadOnlyList<string> reasonCodes, int schemaVersion)
    {
        ResultFields = resultFields;
        DeadLetterHeaders = deadLetterHeaders;
        ReasonCodes = reasonCodes;
        SchemaVersion = schemaVersion;
    }

    public static string DocumentPath { get; } = Path.Combine(DeployFiles.RepositoryRoot, "docs", "events.md");

    /// <summary>The fields of an inspection result (table under "Inspection results").</summary>
    public IReadOnlyList<ResultField> ResultFields { get; }

    /// <summary>The headers a dead letter adds to the frame (first table under "Dead letters").</summary>
    public IReadOnlyList<string> DeadLetterHeaders { get; }

    /// <summary>The codes <c>dead-letter-reason</c> may hold (second table under "Dead letters").</summary>
    public IReadOnlyList<string> ReasonCodes { get; }

    /// <summary>The <c>schema_version</c> a result carries (the meaning column of its row).</summary>
    public int SchemaVersion { get; }

    public static EventsContract Read()
    {
        var lines = File.ReadAllLines(DocumentPath);
        var fields = Tables(lines, "## Inspection results")[0]
            .Select(row => new ResultField(Code(row[0]), row[1], row[2]))
            .ToArray();
        var deadLetterTables = Tables(lines, "## Dead letters");
        var schemaRow = fields.Single(field => field.Name == "schema_version");
        return new EventsContract(
            fields,
            deadLetterTables[0].Select(row => Code(row[0])).ToArray(),
            deadLetterTables[1].Select(row => Code(row[0])).ToArray(),
            int.Parse(Code(schemaRow.Meaning), CultureInfo.InvariantCulture));
    }

    /// <summary>What is wrong with <paramref name="result"/> against the documented fields; empty when nothing is.</summary>
    public IReadOnlyList<string> ResultProblems(JsonElement result)
    {
        var problems = new List<string>();
        if (result.ValueKind != JsonValueKind.Object) return [$"a result is a JSON object, not {result.ValueKind}"];
        var documented = ResultFields.ToDictionary(field => field.Name);
        foreach (var property in result.EnumerateObject().Where(property => !documented.ContainsKey(property.Name)))
            problems.Add($"field '{property.Name}' is not in docs/events.md");
        foreach (var field in ResultFields)
        {
            if (!result.TryGetProperty(field.Name, out var value))
            {
                if (!field.Optional) problems.Add($"field '{field.Name}' ({field.Type}) is missing");
                continue;
            }

            if (!field.Accepts(value)) problems.Add($"field '{field.Name}' is {value.GetRawText()}, not {field.Type}");
        }

        if (result.TryGetProperty("schema_version", out var version) && version.ValueKind == JsonValueKind.Number && version.GetInt32() != SchemaVersion)
            problems.Add($"schema_version is {version.GetInt32()}, docs/events.md says {SchemaVersion}");
        return problems;
    }

    /// <summary>The rows (cells without the header and separator rows) of each table in the section under <paramref name="heading"/>.</summary>
    private static List<List<string[]>> Tables(string[] lines, string heading)
    {
        var start = Array.IndexOf(lines, heading);
        Assert.True(start >= 0, $"docs/events.md has no heading '{heading}'");
        var tables = new List<List<string[]>>();
        List<string[]>? table = null;
        for (var i = start + 1; i < lines.Length && !lines[i].StartsWith("## ", StringComparison.Ordinal); i++)
        {
            if (!lines[i].StartsWith('|'))
            {
                table = null;
                continue;
            }

            if (table is null) tables.Add(table = []);
            table.Add(Cells(lines[i]));
        }

        Assert.True(tables.Count > 0, $"docs/events.md has no table under '{heading}'");
        return tables.Select(rows => rows.Skip(2).ToList()).ToList(); // the header row and the separator row
    }

    /// <summary>A table row's cells; <c>\|</c> inside a cell is a literal bar.</summary>
    private static string[] Cells(string row) =>
        UnescapedBar().Split(row.Trim().Trim('|')).Select(cell => cell.Trim().Replace("\\|", "|")).ToArray();

    /// <summary>The text inside the first pair of backticks of a cell (the cell itself when it has none).</summary>
    private static string Code(string cell) => CodeSpan().Match(cell) is { Success: true } match ? match.Groups[1].Value : cell;

    [GeneratedRegex(@"(?<!\\)\|")]
    private static partial Regex UnescapedBar();

    [GeneratedRegex("`([^`]*)`")]
    private static partial Regex CodeSpan();
}

/// <summary>A result field as docs/events.md lists it: name, type (as written there) and meaning.</summary>
internal sealed record ResultField(string Name, string Type, string Meaning)
{
    public bool Optional => Type.EndsWith(", optional", StringComparison.Ordinal);

    /// <summary>Whether <paramref name="value"/> is of the documented type; a type the page spells differently fails loudly.</summary>
    public bool Accepts(JsonElement value)
    {
        var type = Optional ? Type[..^", optional".Length] : Type;
        var choices = Regex.Matches(type, "`\"([^\"`]*)\"`").Select(match => match.Groups[1].Value).ToArray();
        if (choices.Length > 0) return value.ValueKind == JsonValueKind.String && choices.Contains(value.GetString());
        return type switch
        {
            "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
            "number" => value.ValueKind == JsonValueKind.Number,
            "string" => value.ValueKind == JsonValueKind.String,
            "ISO 8601" => value.ValueKind == JsonValueKind.String && IsIso8601(value.GetString()!),
            "array" => value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(HasTheDocumentedMembers),
            _ => throw new InvalidDataException($"docs/events.md gives field '{Name}' the type '{Type}', which the contract test does not know; use integer, number, string, ISO 8601, array or a list of quoted values."),
        };
    }

    /// <summary>
    /// An element of an array field: an object with exactly the numeric members its meaning lists in braces
    /// (<c>`{x, y, width, height}`</c>); a meaning that lists none fails loudly.
    /// </summary>
    private bool HasTheDocumentedMembers(JsonElement element)
    {
        var listed = Regex.Match(Meaning, @"`\{([^}`]*)\}`");
        if (!listed.Success)
            throw new InvalidDataException($"docs/events.md gives field '{Name}' the type array but names no members of its elements (write them as `{{a, b}}`)");
        var members = listed.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return element.ValueKind == JsonValueKind.Object
               && element.EnumerateObject().Select(member => member.Name).Order().SequenceEqual(members.Order())
               && members.All(member => element.GetProperty(member).ValueKind == JsonValueKind.Number);
    }

    /// <summary>A date-time with a date, a time of day with seconds, and an offset (Z or ±hh:mm).</summary>
    public static bool IsIso8601(string text) =>
        Regex.IsMatch(text, @"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
}
