using System.CommandLine;
using LongContext.Formats.Tokenization;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>`longctx tokenize --model DIR (--text T | --text-file F) [--no-special] [--json]`: ids (and tokens) of a text.</summary>
public static class TokenizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder with tokenizer.json (and tokenizer_config.json)", Required = true };
        var text = new Option<string?>("--text") { Description = "Text to tokenize" };
        var textFile = new Option<string?>("--text-file") { Description = "UTF-8 file whose whole content is tokenized" };
        var noSpecial = new Option<bool>("--no-special") { Description = "Do not add the post-processor's special tokens (Llama-3's BOS)" };
        var command = new Command("tokenize", "Encode text with a model's HF tokenizer and print the token ids");
        command.Options.Add(model);
        command.Options.Add(text);
        command.Options.Add(textFile);
        command.Options.Add(noSpecial);
        command.SetHandler((parse, _) =>
        {
            string input = ReadInput(parse.GetValue(text), parse.GetValue(textFile));
            var tokenizer = HfTokenizer.Load(parse.GetValue(model)!);
            var ids = tokenizer.Encode(input, addSpecialTokens: !parse.GetValue(noSpecial));
            if (parse.GetValue(CliCommon.Json))
            {
                CliCommon.WriteJson(new { Ids = ids, Count = ids.Count });
                return 0;
            }
            var table = new Table().AddColumn("#").AddColumn("id").AddColumn("token").AddColumn("text");
            for (int i = 0; i < ids.Count; i++)
            {
                table.AddRow(i.ToString(), ids[i].ToString(), Markup.Escape(tokenizer.IdToToken(ids[i])),
                    Markup.Escape(Visible(tokenizer.Decode([ids[i]]))));
            }
            CliCommon.Console.Write(table);
            CliCommon.Console.MarkupLine($"{ids.Count} tokens");
            return 0;
        });
        return command;
    }

    private static string ReadInput(string? text, string? textFile)
    {
        if ((text is null) == (textFile is null)) throw new LongContextException("tokenize: give exactly one of --text or --text-file");
        if (textFile is null) return text!;
        if (!File.Exists(textFile)) throw new LongContextException($"tokenize: --text-file {textFile} does not exist");
        return File.ReadAllText(textFile);
    }

    private static string Visible(string s) => s.Replace("\n", "\\n").Replace("\t", "\\t").Replace("\r", "\\r");
}
