using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Pipeline.Shared.Configuration;

/// <summary>
/// A DataAnnotations rule for one setting whose message says what is wrong the way an operator needs it: the
/// configuration key, the value found and what would be accepted, e.g. <c>Pipeline:Ingest:MaxIdBytes is 0; use at
/// least 1 (256 by default).</c> The key is the options type's <c>Section</c> constant and the property's name. The
/// <c>[OptionsValidator]</c> source generator checks these like <see cref="RangeAttribute"/>, whose own message names
/// neither the key nor the value.
/// </summary>
public abstract class SettingAttribute : ValidationAttribute
{
    /// <summary>Said after the rule, in parentheses: the default, or why the rule is there.</summary>
    public string? Note { get; set; }

    /// <summary>What would be accepted, as the end of the sentence: "use at least 1".</summary>
    protected abstract string Rule { get; }

    protected abstract bool Accepts(object? value);

    /// <summary>How the message shows the value found: numbers as written, text in quotes.</summary>
    protected virtual string Shown(object? value) => value switch
    {
        null => "not set",
        string text => $"'{text}'",
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    protected sealed override ValidationResult? IsValid(object? value, ValidationContext context) =>
        Accepts(value)
            ? ValidationResult.Success
            : new ValidationResult($"{SettingKey.Of(context)} is {Shown(value)}; {Rule}{(Note is null ? "" : $" ({Note})")}.");
}

/// <summary>
/// A number of at least <paramref name="minimum"/>; a fractional one must also be finite. A nullable setting that is
/// not set passes: what "not set" means is the setting's own (say it in <see cref="SettingAttribute.Note"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class AtLeastAttribute(long minimum) : SettingAttribute
{
    public long Minimum { get; } = minimum;

    protected override string Rule => Minimum == 0 ? "use 0 or more" : $"use at least {Minimum}";

    protected override bool Accepts(object? value) => value switch
    {
        null => true,
        double or float or decimal => Convert.ToDouble(value, CultureInfo.InvariantCulture) is var number && double.IsFinite(number) && number >= Minimum,
        _ => Convert.ToInt64(value, CultureInfo.InvariantCulture) >= Minimum,
    };
}

/// <summary>A finite number above <paramref name="minimum"/>, such as a positive rate or period; not set passes.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MoreThanAttribute(double minimum) : SettingAttribute
{
    public double Minimum { get; } = minimum;

    protected override string Rule => string.Create(CultureInfo.InvariantCulture, $"use more than {Minimum}");

    protected override bool Accepts(object? value) =>
        value is null || Convert.ToDouble(value, CultureInfo.InvariantCulture) is var number && double.IsFinite(number) && number > Minimum;
}

/// <summary>
/// A number from <paramref name="minimum"/> to <paramref name="maximum"/> (not NaN), either end left out with
/// <see cref="MinimumIsExclusive"/> or <see cref="MaximumIsExclusive"/> (as on <see cref="RangeAttribute"/>); not set passes.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class BetweenAttribute(double minimum, double maximum) : SettingAttribute
{
    public double Minimum { get; } = minimum;

    public double Maximum { get; } = maximum;

    /// <summary>The minimum itself is not accepted, only numbers above it.</summary>
    public bool MinimumIsExclusive { get; set; }

    /// <summary>The maximum itself is not accepted, only numbers below it.</summary>
    public bool MaximumIsExclusive { get; set; }

    protected override string Rule => (MinimumIsExclusive, MaximumIsExclusive) switch
    {
        (false, false) => string.Create(CultureInfo.InvariantCulture, $"use {Minimum} to {Maximum}"),
        (true, false) => string.Create(CultureInfo.InvariantCulture, $"use more than {Minimum} and at most {Maximum}"),
        (false, true) => string.Create(CultureInfo.InvariantCulture, $"use at least {Minimum} and less than {Maximum}"),
        (true, true) => string.Create(CultureInfo.InvariantCulture, $"use more than {Minimum} and less than {Maximum}"),
    };

    protected override bool Accepts(object? value) =>
        value is null
        || Convert.ToDouble(value, CultureInfo.InvariantCulture) is var number
        && (MinimumIsExclusive ? number > Minimum : number >= Minimum)
        && (MaximumIsExclusive ? number < Maximum : number <= Maximum);
}

/// <summary>Text that matches <paramref name="pattern"/> (case ignored, around white space), said to the operator as <paramref name="rule"/>.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MatchesAttribute(string pattern, string rule) : SettingAttribute
{
    private readonly Regex regex = new($@"^\s*(?:{pattern})\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    public string Pattern { get; } = pattern;

    protected override string Rule { get; } = rule;

    protected override bool Accepts(object? value) => value is string text && regex.IsMatch(text);
}

/// <summary>Text that is not empty or white space.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class NotEmptyAttribute : SettingAttribute
{
    protected override string Rule => "set it";

    protected override bool Accepts(object? value) => value is string text && !string.IsNullOrWhiteSpace(text);

    protected override string Shown(object? value) => value is null ? "not set" : "empty";
}

/// <summary>An IP address (v4 or v6), such as 0.0.0.0 or 127.0.0.1.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class IpAddressAttribute : SettingAttribute
{
    protected override string Rule => "it must be an IP address such as 0.0.0.0 (every interface) or 127.0.0.1";

    protected override bool Accepts(object? value) => value is string text && IPAddress.TryParse(text, out _);
}

/// <summary>When set, the path of a file or directory that exists.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ExistingPathAttribute : SettingAttribute
{
    protected override string Rule => "no such file or directory exists";

    protected override bool Accepts(object? value) =>
        value is not string path || string.IsNullOrWhiteSpace(path) || File.Exists(path) || Directory.Exists(path);
}

/// <summary>The configuration key of the member a <see cref="ValidationContext"/> is about.</summary>
public static class SettingKey
{
    /// <summary>
    /// <c>Section:Member</c>, from the options type's public <c>Section</c> (or <c>SectionName</c>) constant (every
    /// options type here has one); the member alone when the type has none.
    /// </summary>
    public static string Of(ValidationContext context)
    {
        var section = (context.ObjectType.GetField("Section", BindingFlags.Public | BindingFlags.Static)
            ?? context.ObjectType.GetField("SectionName", BindingFlags.Public | BindingFlags.Static))?.GetRawConstantValue() as string;
        var member = context.MemberName ?? context.DisplayName;
        return section is null ? member : $"{section}:{member}";
    }
}
