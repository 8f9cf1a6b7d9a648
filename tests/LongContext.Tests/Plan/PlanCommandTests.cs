using System.Text.Json;
using LongContext.Cli;

namespace LongContext.Tests.Plan;

[Collection(CliCollection.Name)]
public class PlanCommandTests
{
    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => CliRun.Capture(args);

    private static JsonElement LastJsonLine(string output) => CliRun.LastJson(output);

    [Fact]
    public async Task Json_output_has_model_gpus_layout_stages_and_totals()
    {
        var (code, output, _) = await Run("plan", "--preset", "llama-3-8b", "--target", "1M", "--gpus", "512xL40S", "--json");
        Assert.Equal(0, code);
        var json = LastJsonLine(output);
        Assert.Equal(["model", "gpus", "layout", "stages", "totals", "warnings", "notes"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(8_030_261_248L, json.GetProperty("model").GetProperty("parameters").GetInt64());
        Assert.Equal((512, "L40S"), (json.GetProperty("gpus").GetProperty("count").GetInt32(), json.GetProperty("gpus").GetProperty("type").GetString()));
        Assert.Equal("scaling-law", json.GetProperty("layout").GetProperty("theta_rule").GetString());
        var stages = json.GetProperty("stages").EnumerateArray().ToArray();
        Assert.Equal([65536L, 262144L, 524288L, 1048576L], stages.Select(s => s.GetProperty("length").GetInt64()));
        Assert.Equal(3_580_165_449d, stages[^1].GetProperty("theta").GetDouble());
        var memory = stages[0].GetProperty("memory");
        foreach (var key in new[] { "weights", "gradients", "optimizer", "communication_buffers", "checkpoints", "layer_working_set", "ring_buffers", "lm_head_chunk", "reserve", "total" })
            Assert.True(memory.GetProperty(key).GetInt64() >= 0, key);
        Assert.Equal(1_421_869_056L, json.GetProperty("totals").GetProperty("tokens").GetInt64());
    }

    [Fact]
    public async Task Model_folder_is_read_from_its_config_json()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "plan", "llama-3.2-1b");
        var (code, output, err) = await Run("plan", "--model", dir, "--target", "1M", "--gpus", "8xH100", "--theta", "fixed:3.58e9", "--json");
        Assert.True(code == 0, err);
        var json = LastJsonLine(output);
        Assert.Equal(1_235_814_400L, json.GetProperty("model").GetProperty("parameters").GetInt64());
        var stage = Assert.Single(json.GetProperty("stages").EnumerateArray());
        Assert.Equal((1_048_576L, 3.58e9), (stage.GetProperty("length").GetInt64(), stage.GetProperty("theta").GetDouble()));
    }

    [Fact]
    public async Task Table_output_names_each_stage()
    {
        var console = new Spectre.Console.Testing.TestConsole();
        console.Profile.Width = 200;
        var previous = CliCommon.Console;
        CliCommon.Console = console;
        try
        {
            var (code, _, _) = await Run("plan", "--preset", "tiny", "--stages", "1K,4K", "--gpus", "2xH100");
            Assert.Equal(0, code);
        }
        finally { CliCommon.Console = previous; }
        Assert.Contains("4K", console.Output);
        Assert.Contains("Memory per GPU", console.Output);
        Assert.Contains("9,805,975", console.Output); // scaling-law θ of tiny at 4K
    }

    [Theory]
    [InlineData("plan --preset nope --target 1M", "Unknown model preset")]
    [InlineData("plan --target 1M", "exactly one of --model")]
    [InlineData("plan --preset tiny --target 1X", "--target")]
    [InlineData("plan --preset tiny --target 1.3K", "1331.2 tokens")] // the same rule as eval --lengths
    [InlineData("plan --preset tiny --target 1K --gpus 4xH100 --ring 3", "--ring 3")]
    public async Task User_errors_exit_1_with_one_line(string args, string message)
    {
        var (code, _, err) = await Run(args.Split(' '));
        Assert.Equal(1, code);
        Assert.Contains(message, err);
    }
}
