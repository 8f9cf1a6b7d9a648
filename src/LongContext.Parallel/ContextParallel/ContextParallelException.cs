using LongContext.Core;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// Context parallelism cannot run as asked: a sequence length the layout cannot split, shards that disagree with the
/// layout, an attention call the ring cannot serve. The message says what to change.
/// </summary>
public sealed class ContextParallelException(string message) : LongContextException(message);
