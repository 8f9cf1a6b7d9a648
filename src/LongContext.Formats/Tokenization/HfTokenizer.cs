using System.Text.Json;
using LongContext.Formats.ChatTemplates;

namespace LongContext.Formats.Tokenization;

/// <summary>
/// A HF `tokenizer.json` tokenizer (byte-level BPE as Llama-3, GPT-2 and Qwen2 use; sentencepiece-style BPE with
/// Metaspace or Prepend/Replace normalizers and byte_fallback) with encode/decode identical to HF `tokenizers`:
/// added tokens are cut out first, then normalizer → pre-tokenizer → BPE → post-processor. Thread-safe.
/// tokenizer.json `truncation` and `padding` are ignored: callers manage lengths.
/// </summary>
public sealed class HfTokenizer : ITextTokenizer
{
    private readonly AddedVocabulary _added;
    private readonly Normalizer? _normalizer;
    private readonly PreTokenizer? _preTokenizer;
    private readonly BpeModel _model;
    private readonly PostProcessor? _postProcessor;
    private readonly TokenDecoder? _decoder;
    private readonly Dictionary<string, string> _specialTokenStrings;

    private HfTokenizer(AddedVocabulary added, Normalizer? normalizer, PreTokenizer? preTokenizer, BpeModel model,
        PostProcessor? postProcessor, TokenDecoder? decoder, Dictionary<string, string> specialTokenStrings)
    {
        _added = added;
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        _model = model;
        _postProcessor = postProcessor;
        _decoder = decoder;
        _specialTokenStrings = specialTokenStrings;
        int maxId = Math.Max(model.MaxId, added.Tokens.Count == 0 ? -1 : added.Tokens.Max(t => t.Id));
        VocabSize = maxId + 1;
    }

    /// <summary>Highest token id + 1 (model vocabulary and added tokens), like len(tokenizer) in transformers.</summary>
    public int VocabSize { get; }
    public int? BosTokenId { get; private init; }
    public int? EosTokenId { get; private init; }
    public string? BosToken => _specialTokenStrings.GetValueOrDefault("bos_token");
    public string? EosToken => _specialTokenStrings.GetValueOrDefault("eos_token");
    /// <summary>Every id that ends generation: tokenizer_config eos_token, then generation_config eos_token_id(s).</summary>
    public IReadOnlyList<int> EosTokenIds { get; private init; } = [];
    /// <summary>
    /// The model's default chat template (chat_template.jinja, else tokenizer_config chat_template, or the entry named
    /// "default" when chat_template is a list of {name, template}), or null.
    /// </summary>
    public ChatTemplate? ChatTemplate { get; private init; }
    /// <summary>Every named template: "default" plus the other entries of a chat_template list (e.g. "tool_use", "rag") and additional_chat_templates/*.jinja.</summary>
    public IReadOnlyDictionary<string, ChatTemplate> ChatTemplates { get; private init; } = new Dictionary<string, ChatTemplate>();
    /// <summary>tokenizer_config clean_up_tokenization_spaces (Llama-3 sets it): Decode then tidies " ." → "." etc., as transformers' decode does.</summary>
    public bool CleanUpTokenizationSpaces { get; private init; }
    public IReadOnlyCollection<AddedToken> AddedTokens => _added.Tokens;

    /// <summary>Loads tokenizer.json (+ tokenizer_config.json, special_tokens_map.json, generation_config.json, chat_template.jinja) from a model folder.</summary>
    public static HfTokenizer Load(string modelDir)
    {
        string path = Path.Combine(modelDir, "tokenizer.json");
        if (!File.Exists(path))
            throw new TokenizerException($"{path} not found: the model folder needs a HF fast-tokenizer tokenizer.json (slow sentencepiece/tiktoken files are not supported)");
        var tokenizer = FromJson(File.ReadAllText(path), path, ReadJsonObject(Path.Combine(modelDir, "tokenizer_config.json")),
            ReadJsonObject(Path.Combine(modelDir, "special_tokens_map.json")), ReadJsonObject(Path.Combine(modelDir, "generation_config.json")),
            File.Exists(Path.Combine(modelDir, "chat_template.jinja")) ? File.ReadAllText(Path.Combine(modelDir, "chat_template.jinja")) : null,
            ReadAdditionalTemplates(Path.Combine(modelDir, "additional_chat_templates")));
        return tokenizer;
    }

    /// <summary>Builds a tokenizer from tokenizer.json text and optional config objects (tests, in-memory models).</summary>
    public static HfTokenizer FromJson(string tokenizerJson, string sourceName = "tokenizer.json", JsonElement? tokenizerConfig = null,
        JsonElement? specialTokensMap = null, JsonElement? generationConfig = null, string? chatTemplateFile = null,
        IReadOnlyDictionary<string, string>? additionalChatTemplates = null)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(tokenizerJson, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new TokenizerException($"{sourceName}: not valid JSON ({e.Message})");
        }
        using (doc)
        {
            var root = doc.RootElement;
            var added = new AddedVocabulary(ReadAddedTokens(root));
            var normalizer = root.TryGetProperty("normalizer", out var n) ? Normalizer.FromJson(n, "tokenizer.json normalizer") : null;
            var preTokenizer = root.TryGetProperty("pre_tokenizer", out var p) ? PreTokenizer.FromJson(p, "tokenizer.json pre_tokenizer") : null;
            var model = ReadModel(root);
            var postProcessor = root.TryGetProperty("post_processor", out var pp) ? PostProcessor.FromJson(pp, "tokenizer.json post_processor") : null;
            var decoder = root.TryGetProperty("decoder", out var d) ? TokenDecoder.FromJson(d, "tokenizer.json decoder") : null;

            var specials = new Dictionary<string, string>();
            foreach (var source in new[] { specialTokensMap, tokenizerConfig })
            {
                if (source is not { ValueKind: JsonValueKind.Object } obj) continue;
                foreach (var key in new[] { "bos_token", "eos_token", "unk_token", "pad_token" })
                    if (obj.TryGetProperty(key, out var v) && TokenString(v) is string s) specials[key] = s;
            }
            postProcessor = ApplyLlamaTokenizerFlags(postProcessor, tokenizerConfig, specials, added, model);

            int? Lookup(string key) => specials.TryGetValue(key, out var s) ? added.ByContent(s)?.Id ?? model.TokenToId(s) : null;
            var eos = new List<int>();
            if (Lookup("eos_token") is int e) eos.Add(e);
            if (generationConfig is { ValueKind: JsonValueKind.Object } gen && gen.TryGetProperty("eos_token_id", out var g))
            {
                if (g.ValueKind == JsonValueKind.Number) eos.Add(g.GetInt32());
                else if (g.ValueKind == JsonValueKind.Array) eos.AddRange(g.EnumerateArray().Select(x => x.GetInt32()));
            }
            var templates = ReadChatTemplates(tokenizerConfig);
            if (chatTemplateFile is not null) templates[DefaultTemplate] = chatTemplateFile;
            if (additionalChatTemplates is not null)
                foreach (var (name, source) in additionalChatTemplates) templates.TryAdd(name, source);
            var parsed = templates.ToDictionary(kv => kv.Key, kv => ParseTemplate(kv.Value, kv.Key), StringComparer.Ordinal);
            return new HfTokenizer(added, normalizer, preTokenizer, model, postProcessor, decoder, specials)
            {
                BosTokenId = Lookup("bos_token"),
                EosTokenId = Lookup("eos_token") ?? (eos.Count > 0 ? eos[0] : null),
                EosTokenIds = eos.Distinct().ToArray(),
                ChatTemplate = parsed.GetValueOrDefault(DefaultTemplate),
                ChatTemplates = parsed,
                CleanUpTokenizationSpaces = tokenizerConfig is { ValueKind: JsonValueKind.Object } tc
                    && tc.TryGetProperty("clean_up_tokenization_spaces", out var cu) && cu.ValueKind == JsonValueKind.True,
            };
        }
    }

    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        Walk(text, ids.Add, word => _model.Tokenize(word, ids));
        if (addSpecialTokens && _postProcessor is not null) ids = _postProcessor.Process(ids);
        return ids;
    }

    /// <summary>
    /// The pre-tokens BPE encodes for <paramref name="text"/>, in order: added tokens cut out (and not listed), then
    /// normalizer and pre-tokenizer, exactly as <see cref="Encode"/> runs them. This is what a BPE trainer counts.
    /// </summary>
    public List<string> PreTokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new List<string>();
        Walk(text, _ => { }, words.Add);
        return words;
    }

    /// <summary>Added-token ids and pre-tokens (words) of the text, in order.</summary>
    private void Walk(string text, Action<int> addedToken, Action<string> word)
    {
        var raw = new List<AddedVocabulary.Segment>();
        _added.SplitRaw(text, raw);
        var normalized = new List<AddedVocabulary.Segment>();
        var words = new List<string>(1);
        bool first = true;
        foreach (var segment in raw)
        {
            if (segment.Id is int rawId)
            {
                addedToken(rawId);
                first = false;
                continue;
            }
            string norm = _normalizer?.Normalize(segment.Text) ?? segment.Text;
            normalized.Clear();
            if (_added.HasNormalizedTokens) _added.SplitNormalized(norm, normalized);
            else normalized.Add(new AddedVocabulary.Segment(norm, null));
            foreach (var piece in normalized)
            {
                if (piece.Id is int id)
                {
                    addedToken(id);
                    first = false;
                    continue;
                }
                if (piece.Text.Length == 0) continue;
                words.Clear();
                words.Add(piece.Text);
                var preTokens = _preTokenizer is null ? words : _preTokenizer.PreTokenize(words, first);
                first = false;
                foreach (var w in preTokens) word(w);
            }
        }
    }

    /// <summary>
    /// transformers' tokenizer.decode(ids, skip_special_tokens): tokenizers' decode, then clean_up_tokenization when
    /// tokenizer_config sets clean_up_tokenization_spaces.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false) =>
        Decode(ids, skipSpecialTokens, CleanUpTokenizationSpaces);

    /// <summary>Decode with an explicit clean-up choice (false = HF tokenizers' own decode, as streaming needs: the clean-up is not prefix-stable).</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens, bool cleanUpTokenizationSpaces)
    {
        string text = DecodeTokens(ids, skipSpecialTokens);
        return cleanUpTokenizationSpaces ? CleanUpTokenization(text) : text;
    }

    /// <summary>transformers' clean_up_tokenization: drops the space the word-level tokenizers of old put before punctuation and English contractions.</summary>
    public static string CleanUpTokenization(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal)
        .Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal)
        .Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal)
        .Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);

    private string DecodeTokens(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        var tokens = new List<string>();
        foreach (int id in ids)
        {
            var added = _added.ById(id);
            if (added is not null)
            {
                if (!(skipSpecialTokens && added.Special)) tokens.Add(added.Content);
                continue;
            }
            if (_model.IdToToken(id) is string token)
            {
                if (skipSpecialTokens && _added.ByContent(token) is { Special: true }) continue;
                tokens.Add(token);
            }
        }
        return _decoder is null ? string.Join(" ", tokens) : _decoder.Decode(tokens);
    }

    public int? TokenToId(string token) => _added.ByContent(token)?.Id ?? _model.TokenToId(token);

    /// <summary>The token string of an id (added token content, or the model's byte-level string such as "Ġthe").</summary>
    public string IdToToken(int id) => _added.ById(id)?.Content ?? _model.IdToToken(id)
        ?? throw new TokenizerException($"token id {id} is not in the tokenizer (vocabulary size {VocabSize})");

    /// <summary>True for added tokens marked special (skipped by Decode with skipSpecialTokens).</summary>
    public bool IsSpecial(int id) => _added.ById(id) is { Special: true };

    /// <summary>A detokenizer for streaming generation (one per stream).</summary>
    public StreamDecoder CreateStreamDecoder(bool skipSpecialTokens = true) => new(this, skipSpecialTokens);

    /// <summary>Number of tokens of text without special tokens.</summary>
    public int CountTokens(string text) => Encode(text, addSpecialTokens: false).Count;

    /// <summary>
    /// Renders the chat template as transformers' apply_chat_template(tokenize=False) does: bos_token, eos_token,
    /// unk_token, pad_token from the config, tools/documents none unless extraVariables sets them.
    /// </summary>
    public string ApplyChatTemplate(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt,
        IReadOnlyDictionary<string, object?>? extraVariables = null) =>
        SelectChatTemplate(HasTools(extraVariables)).Render(messages, addGenerationPrompt, TemplateVariables(extraVariables));

    /// <summary>
    /// apply_chat_template(messages, tools=tools, add_generation_prompt=..., **kwargs): with tools (even an empty
    /// list) a model's "tool_use" template is chosen over "default", as transformers does; kwargs reach the template
    /// as variables (enable_thinking, date_string, ...).
    /// </summary>
    public string ApplyChatTemplate(IReadOnlyList<ChatMessage> messages, IReadOnlyList<JsonElement>? tools, bool addGenerationPrompt,
        IReadOnlyDictionary<string, object?>? kwargs = null) =>
        SelectChatTemplate(tools is not null).Render(messages, tools, addGenerationPrompt, TemplateVariables(kwargs));

    /// <summary>As above for messages as dictionaries / JsonElement (tool_calls, tool results, multi-part content).</summary>
    public string ApplyChatTemplate(IReadOnlyList<object?> messages, bool addGenerationPrompt,
        IReadOnlyDictionary<string, object?>? extraVariables = null) =>
        SelectChatTemplate(HasTools(extraVariables)).Render(messages, addGenerationPrompt, TemplateVariables(extraVariables));

    /// <summary>
    /// transformers' get_chat_template: "tool_use" when tools are given and the model names one, else "default";
    /// a model with named templates but no default cannot render a conversation without tools.
    /// </summary>
    public ChatTemplate SelectChatTemplate(bool hasTools)
    {
        if (hasTools && ChatTemplates.TryGetValue(ToolUseTemplate, out var toolUse)) return toolUse;
        if (ChatTemplate is not null) return ChatTemplate;
        throw new TokenizerException(ChatTemplates.Count == 0
            ? "this model has no chat template (tokenizer_config.json chat_template or chat_template.jinja); use raw prompts"
            : $"this model's chat templates ({string.Join(", ", ChatTemplates.Keys)}) include none named '{DefaultTemplate}'"
              + (ChatTemplates.ContainsKey(ToolUseTemplate) ? "; pass tools to use 'tool_use'" : ""));
    }

    private const string DefaultTemplate = "default", ToolUseTemplate = "tool_use";

    private static bool HasTools(IReadOnlyDictionary<string, object?>? variables) =>
        variables is not null && variables.TryGetValue("tools", out var tools) && tools is not null
        && !(tools is JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined });

    private Dictionary<string, object?> TemplateVariables(IReadOnlyDictionary<string, object?>? extraVariables)
    {
        var variables = new Dictionary<string, object?>();
        foreach (var (key, value) in _specialTokenStrings) variables[key] = value;
        if (extraVariables is not null)
            foreach (var (key, value) in extraVariables) variables[key] = value;
        return variables;
    }

    /// <summary>Chat template rendered then encoded without adding special tokens (the template writes BOS itself), as transformers does.</summary>
    public IReadOnlyList<int> EncodeChat(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt,
        IReadOnlyDictionary<string, object?>? extraVariables = null) =>
        Encode(ApplyChatTemplate(messages, addGenerationPrompt, extraVariables), addSpecialTokens: false);

    /// <summary>As above with tools and template kwargs.</summary>
    public IReadOnlyList<int> EncodeChat(IReadOnlyList<ChatMessage> messages, IReadOnlyList<JsonElement>? tools, bool addGenerationPrompt,
        IReadOnlyDictionary<string, object?>? kwargs = null) =>
        Encode(ApplyChatTemplate(messages, tools, addGenerationPrompt, kwargs), addSpecialTokens: false);

    private static JsonElement? ReadJsonObject(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new TokenizerException($"{path}: not valid JSON ({e.Message})");
        }
    }

    private static string? TokenString(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
        _ => null,
    };

    /// <summary>tokenizer_config chat_template: one template (named "default"), or a list of {name, template} entries.</summary>
    private static Dictionary<string, string> ReadChatTemplates(JsonElement? config)
    {
        var templates = new Dictionary<string, string>(StringComparer.Ordinal);
        if (config is not { ValueKind: JsonValueKind.Object } c || !c.TryGetProperty("chat_template", out var t)) return templates;
        if (t.ValueKind == JsonValueKind.String) templates[DefaultTemplate] = t.GetString()!;
        else if (t.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var entry in t.EnumerateArray())
            {
                string path = $"tokenizer_config.json chat_template[{i++}]";
                if (entry.ValueKind != JsonValueKind.Object)
                    throw new TokenizerException($"{path}: expected {{\"name\": ..., \"template\": ...}}");
                templates[TokenizerJson.RequiredString(entry, "name", path)] = TokenizerJson.RequiredString(entry, "template", path);
            }
        }
        else if (t.ValueKind != JsonValueKind.Null)
            throw new TokenizerException("tokenizer_config.json chat_template: expected a string or a list of {name, template}");
        return templates;
    }

    /// <summary>transformers' additional_chat_templates/NAME.jinja (saved beside chat_template.jinja since transformers 4.5x).</summary>
    private static Dictionary<string, string>? ReadAdditionalTemplates(string dir) =>
        Directory.Exists(dir)
            ? Directory.GetFiles(dir, "*.jinja").Order(StringComparer.Ordinal).ToDictionary(f => Path.GetFileNameWithoutExtension(f), File.ReadAllText)
            : null;

    private static ChatTemplate ParseTemplate(string source, string name)
    {
        try
        {
            return ChatTemplate.Parse(source);
        }
        catch (TokenizerException e) when (name != DefaultTemplate)
        {
            throw new TokenizerException($"chat template '{name}': {e.Message}");
        }
    }

    private static IEnumerable<AddedToken> ReadAddedTokens(JsonElement root)
    {
        if (!root.TryGetProperty("added_tokens", out var arr) || arr.ValueKind != JsonValueKind.Array) yield break;
        int i = 0;
        foreach (var t in arr.EnumerateArray())
        {
            string path = $"tokenizer.json added_tokens[{i++}]";
            if (!t.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number)
                throw new TokenizerException($"{path}.id: expected a number");
            bool special = TokenizerJson.Bool(t, "special", false);
            yield return new AddedToken(id.GetInt32(), TokenizerJson.RequiredString(t, "content", path), special,
                TokenizerJson.Bool(t, "single_word", false), TokenizerJson.Bool(t, "lstrip", false),
                TokenizerJson.Bool(t, "rstrip", false), TokenizerJson.Bool(t, "normalized", !special));
        }
    }

    private static BpeModel ReadModel(JsonElement root)
    {
        const string path = "tokenizer.json model";
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new TokenizerException($"{path}: missing");
        string type = TokenizerJson.OptionalString(model, "type") ?? "BPE";
        if (type != "BPE")
            throw new TokenizerException($"{path}.type: '{type}' is not supported; supported: BPE (WordPiece, Unigram and WordLevel are not)");
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw new TokenizerException($"{path}.dropout: BPE dropout is not supported (inference needs it null or 0)");
        if (!model.TryGetProperty("vocab", out var vocabJson) || vocabJson.ValueKind != JsonValueKind.Object)
            throw new TokenizerException($"{path}.vocab: expected an object of token → id");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in vocabJson.EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();
        var merges = new List<(string, string)>();
        if (model.TryGetProperty("merges", out var mergesJson) && mergesJson.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var m in mergesJson.EnumerateArray())
            {
                if (m.ValueKind == JsonValueKind.String)
                {
                    string s = m.GetString()!;
                    int space = s.IndexOf(' ');
                    if (space <= 0 || space != s.LastIndexOf(' ') || space == s.Length - 1)
                        throw new TokenizerException($"{path}.merges[{i}]: '{s}' is not \"a b\"");
                    merges.Add((s[..space], s[(space + 1)..]));
                }
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
                {
                    merges.Add((m[0].GetString()!, m[1].GetString()!));
                }
                else
                {
                    throw new TokenizerException($"{path}.merges[{i}]: expected \"a b\" or [\"a\", \"b\"]");
                }
                i++;
            }
        }
        return new BpeModel(vocab, merges, TokenizerJson.OptionalString(model, "unk_token"), TokenizerJson.Bool(model, "fuse_unk", false),
            TokenizerJson.Bool(model, "byte_fallback", false), TokenizerJson.Bool(model, "ignore_merges", false),
            TokenizerJson.OptionalString(model, "continuing_subword_prefix"), TokenizerJson.OptionalString(model, "end_of_word_suffix"));
    }

    /// <summary>
    /// transformers' LlamaTokenizerFast (and Gemma/CodeLlama) rebuilds the post-processor from tokenizer_config
    /// add_bos_token / add_eos_token; other tokenizer classes use tokenizer.json's post_processor as is.
    /// </summary>
    private static PostProcessor? ApplyLlamaTokenizerFlags(PostProcessor? current, JsonElement? config, Dictionary<string, string> specials,
        AddedVocabulary added, BpeModel model)
    {
        if (config is not { ValueKind: JsonValueKind.Object } c) return current;
        string? cls = TokenizerJson.OptionalString(c, "tokenizer_class");
        if (cls is null || !(cls.StartsWith("LlamaTokenizer", StringComparison.Ordinal) || cls.StartsWith("CodeLlamaTokenizer", StringComparison.Ordinal)
                             || cls.StartsWith("GemmaTokenizer", StringComparison.Ordinal)))
            return current;
        bool addBos = TokenizerJson.Bool(c, "add_bos_token", true), addEos = TokenizerJson.Bool(c, "add_eos_token", false);
        int? Id(string key) => specials.TryGetValue(key, out var s) ? added.ByContent(s)?.Id ?? model.TokenToId(s) : null;
        var before = addBos && Id("bos_token") is int b ? new[] { b } : [];
        var after = addEos && Id("eos_token") is int e ? new[] { e } : [];
        return new PostProcessor.Template(before, after);
    }
}
