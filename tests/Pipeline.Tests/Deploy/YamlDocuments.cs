using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pipeline.Tests.Deploy;

/// <summary>
/// Reads YAML (YamlDotNet, which comes with KubernetesClient) into System.Text.Json nodes, typing plain scalars by the
/// YAML 1.2 core schema as Kubernetes' own decoder does: <c>4053</c> is a number, <c>"4053"</c> a string, <c>true</c> a
/// boolean, <c>0.0.0.0</c> a string. The typed models then refuse a number where Kubernetes wants a string.
/// </summary>
internal static class YamlDocuments
{
    /// <summary>Every non-empty document of <paramref name="text"/>; <paramref name="source"/> names it in errors.</summary>
    public static IReadOnlyList<JsonNode> Parse(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new InvalidDataException($"{source}: not valid YAML: {e.Message}", e);
        }
        return stream.Documents
            .Where(document => document.RootNode is not YamlScalarNode { Value: null or "" })
            .Select(document => ToJson(document.RootNode, source))
            .OfType<JsonNode>()
            .ToArray();
    }

    public static IReadOnlyList<JsonNode> Load(string path) => Parse(File.ReadAllText(path), path);

    private static JsonNode? ToJson(YamlNode node, string source)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name })
                        throw new InvalidDataException($"{source} line {key.Start.Line}: a mapping key must be a plain value.");
                    if (obj.ContainsKey(name))
                        throw new InvalidDataException($"{source} line {key.Start.Line}: key '{name}' appears twice.");
                    obj[name] = ToJson(value, source);
                }
                return obj;
            case YamlSequenceNode sequence:
                return new JsonArray(sequence.Children.Select(child => ToJson(child, source)).ToArray());
            case YamlScalarNode scalar:
                return scalar.Style is ScalarStyle.Plain ? PlainScalar(scalar.Value ?? "") : JsonValue.Create(scalar.Value ?? "");
            default:
                throw new InvalidDataException($"{source} line {node.Start.Line}: anchors and aliases are not used in our manifests.");
        }
    }

    /// <summary>The YAML 1.2 core schema's reading of an unquoted scalar.</summary>
    private static JsonNode? PlainScalar(string text)
    {
        if (text is "" or "~" or "null" or "Null" or "NULL") return null;
        if (text is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (text is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (System.Text.RegularExpressions.Regex.IsMatch(text, "^[-+]?[0-9]+$") && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            return JsonValue.Create(integer);
        if (System.Text.RegularExpressions.Regex.IsMatch(text, @"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"))
            return JsonValue.Create(double.Parse(text, CultureInfo.InvariantCulture));
        return JsonValue.Create(text);
    }
}
