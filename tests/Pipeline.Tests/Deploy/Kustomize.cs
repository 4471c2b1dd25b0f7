using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Pipeline.Tests.Deploy;

/// <summary>
/// Renders a Kustomize directory the way <c>kubectl kustomize</c> does, for the features the manifests in <c>k8s/</c>
/// use, so that the tests need neither kubectl nor kustomize: <c>resources</c> (files and kustomization directories),
/// <c>patches</c> (JSON 6902 operations add, remove, replace and test, targeted by kind and name), <c>namespace</c>,
/// <c>replicas</c> and <c>images</c>, applied in kustomize's order (patches, namespace, replicas, images) to what the
/// resources rendered. Anything else in a kustomization.yaml is refused with a message, so that a manifest change the
/// renderer would get wrong fails loudly instead. docs/deploy.md says how the output was compared with kubectl's.
/// </summary>
internal static class Kustomize
{
    private static readonly HashSet<string> SupportedFields = ["apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches"];

    /// <summary>Kinds the namespace transformer leaves alone (cluster-wide objects).</summary>
    private static readonly HashSet<string> ClusterScoped =
        ["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume", "StorageClass", "PriorityClass"];

    /// <summary>The objects the kustomization in <paramref name="directory"/> renders, in the order of its resources.</summary>
    public static List<JsonObject> Render(string directory)
    {
        var file = Path.Combine(directory, "kustomization.yaml");
        if (!File.Exists(file)) throw new InvalidDataException($"{directory} has no kustomization.yaml.");
        var kustomization = Single(YamlDocuments.Load(file), file).AsObject();
        var unsupported = kustomization.Select(field => field.Key).Where(field => !SupportedFields.Contains(field)).ToArray();
        if (unsupported.Length > 0)
            throw new NotSupportedException($"{file}: {string.Join(", ", unsupported)} is not rendered by the tests' Kustomize subset (tests/Pipeline.Tests/Deploy/Kustomize.cs); extend it, or use {string.Join(", ", SupportedFields.Skip(2))}.");

        var objects = new List<JsonObject>();
        foreach (var resource in Strings(kustomization["resources"], file, "resources"))
        {
            var path = Path.GetFullPath(Path.Combine(directory, resource));
            if (Directory.Exists(path)) objects.AddRange(Render(path));
            else if (File.Exists(path)) objects.AddRange(YamlDocuments.Load(path).Select(node => AsResource(node, path)));
            else throw new FileNotFoundException($"{file}: resource {resource} does not exist.");
        }

        foreach (var patch in Array(kustomization["patches"], file, "patches")) ApplyPatch(objects, patch, directory, file);
        if (kustomization["namespace"]?.GetValue<string>() is { } ns) SetNamespace(objects, ns);
        foreach (var replicas in Array(kustomization["replicas"], file, "replicas")) SetReplicas(objects, replicas, file);
        foreach (var image in Array(kustomization["images"], file, "images")) SetImage(objects, image, file);
        return objects;
    }

    private static JsonObject AsResource(JsonNode node, string path) =>
        node is JsonObject { } obj && obj["kind"] is not null && obj["metadata"]?["name"] is not null
            ? obj
            : throw new InvalidDataException($"{path}: every document must be a Kubernetes object with kind and metadata.name.");

    private static void ApplyPatch(List<JsonObject> objects, JsonNode patch, string directory, string file)
    {
        var entry = patch.AsObject();
        var unknown = entry.Select(field => field.Key).Except(["path", "patch", "target"]).ToArray();
        if (unknown.Length > 0) throw new NotSupportedException($"{file}: patch field {string.Join(", ", unknown)} is not supported by the tests' renderer.");
        var source = entry["path"]?.GetValue<string>() is { } relative ? Path.Combine(directory, relative) : file;
        var body = entry["path"] is not null ? YamlDocuments.Load(source) : YamlDocuments.Parse(entry["patch"]?.GetValue<string>() ?? "", file);
        if (Single(body, source) is not JsonArray operations)
            throw new NotSupportedException($"{source}: only JSON 6902 patches (a list of operations) are rendered by the tests; strategic merge patches are not.");

        var target = entry["target"]?.AsObject() ?? throw new NotSupportedException($"{source}: a JSON 6902 patch needs a target.");
        var unsupportedSelectors = target.Select(field => field.Key).Except(["kind", "name"]).ToArray();
        if (unsupportedSelectors.Length > 0)
            throw new NotSupportedException($"{file}: patch targets by {string.Join(", ", unsupportedSelectors)} are not rendered by the tests; select by kind and name.");
        var matches = objects.Where(obj => Matches(target["kind"], obj["kind"]) && Matches(target["name"], obj["metadata"]?["name"])).ToArray();
        if (matches.Length == 0) throw new InvalidDataException($"{file}: the patch {source} matches no resource.");
        foreach (var obj in matches) Json6902.Apply(obj, operations, source);
    }

    /// <summary>Kustomize's selectors are regular expressions matched against the whole value.</summary>
    private static bool Matches(JsonNode? selector, JsonNode? value) =>
        selector is null || (value is not null && Regex.IsMatch(value.GetValue<string>(), $"^(?:{selector.GetValue<string>()})$"));

    private static void SetNamespace(List<JsonObject> objects, string ns)
    {
        foreach (var obj in objects.Where(obj => !ClusterScoped.Contains(obj["kind"]!.GetValue<string>())))
        {
            obj["metadata"]!["namespace"] = ns;
            // As kustomize does: a binding's service accounts without a namespace are in the new one.
            if (obj["kind"]!.GetValue<string>() is "RoleBinding" or "ClusterRoleBinding" && obj["subjects"] is JsonArray subjects)
            {
                foreach (var subject in subjects.OfType<JsonObject>().Where(s => s["kind"]?.GetValue<string>() == "ServiceAccount" && s["namespace"] is null))
                    subject["namespace"] = ns;
            }
        }
    }

    private static void SetReplicas(List<JsonObject> objects, JsonNode entry, string file)
    {
        var name = entry["name"]?.GetValue<string>() ?? throw new InvalidDataException($"{file}: a replicas entry needs a name.");
        var count = entry["count"]?.GetValue<long>() ?? throw new InvalidDataException($"{file}: replicas of {name} need a count.");
        var targets = objects.Where(obj => obj["kind"]!.GetValue<string>() is "Deployment" or "StatefulSet" or "ReplicaSet" && obj["metadata"]!["name"]!.GetValue<string>() == name).ToArray();
        if (targets.Length == 0) throw new InvalidDataException($"{file}: replicas for {name}, which is not a workload here.");
        foreach (var obj in targets) obj["spec"]!["replicas"] = count;
    }

    private static void SetImage(List<JsonObject> objects, JsonNode entry, string file)
    {
        var name = entry["name"]?.GetValue<string>() ?? throw new InvalidDataException($"{file}: an images entry needs a name.");
        var unknown = entry.AsObject().Select(field => field.Key).Except(["name", "newName", "newTag", "digest"]).ToArray();
        if (unknown.Length > 0) throw new NotSupportedException($"{file}: image field {string.Join(", ", unknown)} is not supported by the tests' renderer.");
        foreach (var container in objects.SelectMany(Containers))
        {
            var image = container["image"]?.GetValue<string>();
            if (image is null) continue;
            var (imageName, tag, digest) = ImageReference.Parse(image);
            if (imageName != name) continue;
            var newName = entry["newName"]?.GetValue<string>() ?? imageName;
            var newDigest = entry["digest"]?.GetValue<string>();
            var newTag = entry["newTag"]?.GetValue<string>();
            container["image"] = newDigest is not null ? $"{newName}@{newDigest}"
                : newTag is not null ? $"{newName}:{newTag}"
                : newName + (tag is not null ? $":{tag}" : "") + (digest is not null ? $"@{digest}" : "");
        }
    }

    /// <summary>Every container and init container anywhere in <paramref name="node"/> (pod templates of any workload).</summary>
    private static IEnumerable<JsonObject> Containers(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj.ToArray())
                {
                    if (key is "containers" or "initContainers" && value is JsonArray list)
                        foreach (var container in list.OfType<JsonObject>()) yield return container;
                    else
                        foreach (var container in Containers(value)) yield return container;
                }
                break;
            case JsonArray array:
                foreach (var item in array.ToArray())
                    foreach (var container in Containers(item)) yield return container;
                break;
        }
    }

    private static JsonNode Single(IReadOnlyList<JsonNode> documents, string source) =>
        documents.Count == 1 ? documents[0] : throw new InvalidDataException($"{source}: expected one YAML document, found {documents.Count}.");

    private static IEnumerable<JsonNode> Array(JsonNode? node, string file, string field) => node switch
    {
        null => [],
        JsonArray array => array.Select(item => item ?? throw new InvalidDataException($"{file}: {field} has an empty entry.")),
        _ => throw new InvalidDataException($"{file}: {field} must be a list."),
    };

    private static IEnumerable<string> Strings(JsonNode? node, string file, string field) => Array(node, file, field).Select(item => item.GetValue<string>());
}

/// <summary>JSON 6902 patch operations as Kustomize applies them (add, remove, replace, test).</summary>
internal static class Json6902
{
    public static void Apply(JsonObject target, JsonArray operations, string source)
    {
        foreach (var operation in operations.Select(op => op!.AsObject()))
        {
            var op = operation["op"]?.GetValue<string>();
            var path = operation["path"]?.GetValue<string>() ?? throw new InvalidDataException($"{source}: an operation without a path.");
            var (parent, key) = Locate(target, path, source);
            var value = operation["value"]?.DeepClone();
            switch (op)
            {
                case "add" when parent is JsonObject obj:
                    obj[key] = value;
                    break;
                case "add" when parent is JsonArray array:
                    if (key == "-") array.Add(value);
                    else array.Insert(Index(array, key, path, source, allowEnd: true), value);
                    break;
                case "remove" or "replace" when parent is JsonObject obj:
                    if (!obj.ContainsKey(key)) throw new InvalidDataException($"{source}: {op} {path}: no such member in {Name(target)}.");
                    if (op == "remove") obj.Remove(key);
                    else obj[key] = value;
                    break;
                case "remove" or "replace" when parent is JsonArray array:
                    var index = Index(array, key, path, source, allowEnd: false);
                    if (op == "remove") array.RemoveAt(index);
                    else array[index] = value;
                    break;
                case "test":
                    var actual = parent is JsonObject o ? o[key] : ((JsonArray)parent)[Index((JsonArray)parent, key, path, source, allowEnd: false)];
                    if (!JsonNode.DeepEquals(actual, operation["value"]))
                        throw new InvalidDataException($"{source}: test {path} failed on {Name(target)}: it is {actual?.ToJsonString() ?? "absent"}, not {operation["value"]?.ToJsonString()}.");
                    break;
                default:
                    throw new NotSupportedException($"{source}: operation '{op}' is not rendered by the tests (add, remove, replace, test).");
            }
        }
    }

    private static (JsonNode Parent, string Key) Locate(JsonObject target, string path, string source)
    {
        if (!path.StartsWith('/')) throw new InvalidDataException($"{source}: path {path} must start with '/'.");
        var segments = path[1..].Split('/').Select(segment => segment.Replace("~1", "/").Replace("~0", "~")).ToArray();
        JsonNode node = target;
        foreach (var segment in segments[..^1])
        {
            node = node switch
            {
                JsonObject obj when obj[segment] is { } child => child,
                JsonArray array when int.TryParse(segment, out var i) && i >= 0 && i < array.Count && array[i] is { } item => item,
                _ => throw new InvalidDataException($"{source}: path {path} does not exist in {Name(target)} (at '{segment}')."),
            };
        }
        return (node, segments[^1]);
    }

    private static int Index(JsonArray array, string key, string path, string source, bool allowEnd) =>
        int.TryParse(key, out var index) && index >= 0 && (index < array.Count || (allowEnd && index == array.Count))
            ? index
            : throw new InvalidDataException($"{source}: path {path}: index {key} is outside the list of {array.Count}.");

    private static string Name(JsonObject obj) => $"{obj["kind"]} {obj["metadata"]?["name"]}";
}

/// <summary>An image reference split as Kustomize and the container runtime read it.</summary>
internal static class ImageReference
{
    public static (string Name, string? Tag, string? Digest) Parse(string image)
    {
        string? digest = null;
        var at = image.IndexOf('@');
        if (at >= 0) (image, digest) = (image[..at], image[(at + 1)..]);
        var colon = image.LastIndexOf(':');
        // A colon after the last '/' separates the tag; one before it belongs to a registry's port.
        return colon > image.LastIndexOf('/') ? (image[..colon], image[(colon + 1)..], digest) : (image, null, digest);
    }
}
