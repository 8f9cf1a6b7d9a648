namespace LongContext.Formats.Config;

/// <summary>Which config.json keys we read, may ignore, or must refuse, per model_type.</summary>
internal static class ConfigKeys
{
    public static readonly IReadOnlyList<string> SupportedModelTypes = ["llama", "mistral", "qwen2"];

    /// <summary>Keys every supported model_type reads (rope keys are read by <see cref="RopeConfigReader"/>).</summary>
    public static readonly IReadOnlySet<string> Common = new HashSet<string>
    {
        "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "head_dim", "hidden_act", "max_position_embeddings", "rms_norm_eps",
        "tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id", "torch_dtype", "dtype", "layer_types",
    };

    public static readonly IReadOnlyDictionary<string, IReadOnlySet<string>> ByModelType = new Dictionary<string, IReadOnlySet<string>>
    {
        ["llama"] = new HashSet<string> { "attention_bias", "mlp_bias", "pretraining_tp" },
        ["mistral"] = new HashSet<string> { "sliding_window" },
        ["qwen2"] = new HashSet<string> { "use_sliding_window", "sliding_window", "max_window_layers" },
    };

    /// <summary>Keys with no effect on the forward pass of a checkpoint: accepted silently.</summary>
    public static readonly IReadOnlySet<string> Ignorable = new HashSet<string>
    {
        "architectures", "transformers_version", "initializer_range", "use_cache", "attention_dropout",
        "_name_or_path", "auto_map", "output_attentions", "output_hidden_states", "return_dict", "use_return_dict",
        "torchscript", "use_bfloat16", "tf_legacy_loss", "pruned_heads", "chunk_size_feed_forward",
        "is_encoder_decoder", "is_decoder", "add_cross_attention", "tie_encoder_decoder",
        "cross_attention_hidden_size", "finetuning_task", "id2label", "label2id", "num_labels", "problem_type",
        "tokenizer_class", "prefix", "sep_token_id", "decoder_start_token_id", "task_specific_params",
        "_attn_implementation", "attn_implementation", "_attn_implementation_autoset", "_from_model_config",
        "_commit_hash", "keys_to_ignore_at_inference",
        // Generation defaults that old configs carry (generation_config.json holds them now).
        "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups", "diversity_penalty",
        "temperature", "top_k", "top_p", "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
        "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences", "output_scores",
        "return_dict_in_generate", "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values",
        "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens",
    };

    /// <summary>
    /// Keys of other architectures that change the math (soft-capping, qk-norm, MoE, quantisation, scaled residuals,
    /// multimodal RoPE). Refused unless their value is inert (null, false, 0, empty).
    /// </summary>
    public static readonly IReadOnlySet<string> UnsupportedMath = new HashSet<string>
    {
        "attn_logit_softcapping", "final_logit_softcapping", "query_pre_attn_scalar", "use_qk_norm", "qk_layernorm",
        "qk_norm", "num_experts", "num_local_experts", "num_experts_per_tok", "n_routed_experts", "n_shared_experts",
        "moe_intermediate_size", "shared_expert_intermediate_size", "decoder_sparse_step", "mlp_only_layers",
        "quantization_config", "embedding_multiplier", "logits_scaling", "residual_multiplier",
        "attention_multiplier", "use_parallel_residual", "parallel_attn", "no_rope_layers", "attention_chunk_size",
        "kv_lora_rank", "q_lora_rank", "use_mrope", "mrope_section", "logit_scale", "scale_emb", "dim_model_base",
        "scale_depth", "sandwich_norm", "use_post_attention_norm", "clip_qkv", "alibi", "position_embedding_type",
    };

    /// <summary>`hidden_act` values whose MLP is SwiGLU with SiLU (HF maps "swish" to SiLU too).</summary>
    public static readonly IReadOnlySet<string> SupportedActivations = new HashSet<string> { "silu", "swish" };

    public static readonly IReadOnlySet<string> KnownDtypes = new HashSet<string> { "float32", "float16", "bfloat16", "float64" };

    public static string ArchitectureOf(string modelType) => modelType switch
    {
        "llama" => "LlamaForCausalLM",
        "mistral" => "MistralForCausalLM",
        "qwen2" => "Qwen2ForCausalLM",
        _ => throw new ArgumentOutOfRangeException(nameof(modelType), modelType, null),
    };
}
