
namespace LongContext.Training.Data;

/// <summary>Training data: corpus folders, JSONL files, token caches, packing options.</summary>
public sealed class DataException(string message) : LongContextException(message);
