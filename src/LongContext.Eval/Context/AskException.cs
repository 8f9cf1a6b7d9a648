
namespace LongContext.Eval.Context;

/// <summary>Packing a folder into a prompt and asking about it: the message names the option, path or URL at fault and the fix.</summary>
public sealed class AskException : LongContextException
{
    public AskException(string message) : base(message) { }
    public AskException(string message, Exception inner) : base(message, inner) { }
}
