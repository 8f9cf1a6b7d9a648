using LongContext.Core.Model;
using LongContext.Formats.Config;

namespace LongContext.Training.Recipes;

/// <summary>
/// Loads the model of an extension stage from <paramref name="modelDir"/>, building it with the folder's config
/// passed through <paramref name="stageConfig"/> (the stage's θ and length; same architecture, so every weight fits).
/// </summary>
public delegate LlamaForCausalLM StageModelLoader(string modelDir, Func<ModelConfig, ModelConfig> stageConfig);
