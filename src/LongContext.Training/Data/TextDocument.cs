namespace LongContext.Training.Data;

/// <summary>One document of a corpus: its id (relative path, or "file.jsonl:line") and its text.</summary>
public sealed record TextDocument(string Id, string Text);
