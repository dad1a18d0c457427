namespace CompiledNets.Generators.Model;

/// <summary>A diagnostic to report: its catalogue ID, where, and the message arguments (plain values only).</summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(string id, LocationInfo? location, params string[] arguments) =>
        new(id, location, arguments.ToEquatableArray());
}
