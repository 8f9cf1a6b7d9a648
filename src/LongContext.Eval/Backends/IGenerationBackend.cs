namespace LongContext.Eval.Backends;

/// <summary>The seam between evaluation and whatever generates text: an HTTP endpoint or the in-process engine.</summary>
public interface IGenerationBackend
{
    /// <summary>Describes the backend for manifests (e.g. "openai-chat:http://host/v1 model=x").</summary>
    string Describe { get; }
    /// <summary>Where this backend puts the answer prefix.</summary>
    PrefixPlacement PrefixPlacement { get; }
    Task<GenerationResult> GenerateAsync(GenerationRequest req, CancellationToken ct);
}
