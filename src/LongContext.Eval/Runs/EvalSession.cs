using LongContext.Eval.Backends;

namespace LongContext.Eval.Runs;

/// <summary>What every suite needs: the backend, how prompts are measured, and names for the manifest.</summary>
public sealed record EvalSession(IGenerationBackend Backend, PromptMeasurer Measurer, string TokenizerId)
{
    public string Placement => EvalRunner.Placement(Backend.PrefixPlacement);
}
