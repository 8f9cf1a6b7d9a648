namespace LongContext;

/// <summary>
/// An error the user can act on: the message names the file or field at fault and how to fix it. The CLI prints
/// the message alone (the stack trace only with --verbose) and exits non-zero. One subclass per domain.
/// </summary>
public class LongContextException : Exception
{
    public LongContextException(string message) : base(message) { }
    public LongContextException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>config.json / tokenizer_config.json / our own job configs.</summary>
public sealed class ConfigException(string message) : LongContextException(message);

/// <summary>safetensors files, shard indexes, checkpoints.</summary>
public sealed class CheckpointException(string message) : LongContextException(message);

/// <summary>tokenizer.json and chat templates.</summary>
public sealed class TokenizerException(string message) : LongContextException(message);

/// <summary>libtorch, CUDA, the native add-on.</summary>
public sealed class RuntimeSetupException(string message) : LongContextException(message);
