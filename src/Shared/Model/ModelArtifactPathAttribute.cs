using Pipeline.Shared.Configuration;

namespace Pipeline.Shared.Model;

/// <summary>When set, the path of a model artifact: a <c>.dnfm</c> file, or a folder holding <see cref="ModelArtifact.DefaultFileName"/>.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ModelArtifactPathAttribute : SettingAttribute
{
    protected override string Rule => $"it is neither a model file nor a folder holding {ModelArtifact.DefaultFileName}";

    protected override bool Accepts(object? value) =>
        value is not string path || File.Exists(path) || File.Exists(Path.Combine(path, ModelArtifact.DefaultFileName));
}
