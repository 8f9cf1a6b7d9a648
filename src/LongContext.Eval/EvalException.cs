
namespace LongContext.Eval;

/// <summary>Evaluation inputs, endpoints and run folders: the message names the option, file or URL at fault and the fix.</summary>
public sealed class EvalException : LongContextException
{
    public EvalException(string message) : base(message) { }
    public EvalException(string message, Exception inner) : base(message, inner) { }
}
