using System.CommandLine;

namespace LongContext.Cli.Commands;

/// <summary>Options shared by the training commands (pretrain, extend).</summary>
public static class TrainingCommandOptions
{
    public static Option<bool> DocumentMask() => new("--document-mask")
    {
        Description = "Packed-document masking: no attention across document boundaries, positions restart at 0 in each document, "
            + "and no document's first token is predicted from the previous one (as Llama-3 and ProLong train on packed rows)",
    };
}
