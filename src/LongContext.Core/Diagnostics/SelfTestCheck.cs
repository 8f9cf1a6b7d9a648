namespace LongContext.Core.Diagnostics;

/// <summary>One numerical self-check: a measured error against its tolerance.</summary>
public sealed record SelfTestCheck(string Name, bool Passed, double? Error, double? Tolerance, string Detail);
