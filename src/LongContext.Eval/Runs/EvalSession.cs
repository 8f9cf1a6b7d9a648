using LongContext.Eval.Backends;

namespace LongContext.Eval.Runs;

/// <summary>What every suite needs: the backend, how prompts are measured, and names for the manifest.</summary>
public sealed record EvalSession(IGenerationBackend Backend, PromptMeasurer Measurer, string TokenizerId)
{
    public string Placement => EvalRunner.Placement(Backend.PrefixPlacement);

    /// <summary>Adds what identifies the model side of a run to a suite's config (hashed): backend, placement, tokenizer, chat template.</summary>
    public System.Text.Json.Nodes.JsonObject WithModel(System.Text.Json.Nodes.JsonObject config)
    {
        config["backend"] = Backend.Describe;
        config["prefix_placement"] = Placement;
        config["tokenizer"] = TokenizerId;
        config["chat_template"] = Measurer.Template.Name;
        return config;
    }
}
