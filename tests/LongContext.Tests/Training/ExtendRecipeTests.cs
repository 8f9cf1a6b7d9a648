using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Formats.Config;
using LongContext.Training.Recipes;
using static TorchSharp.torch;
using static LongContext.Tests.Training.TrainingFixtures;

namespace LongContext.Tests.Training;

public class ExtendRecipeTests
{
    [Fact]
    public async Task Each_stage_model_is_loaded_once_with_its_stage_config_and_is_the_model_trained()
    {
        var modelDir = ModelDir();
        var outDir = TempDir("extend-once");
        var loads = new List<(string Dir, ModelConfig Config, int[] Forwards)>();
        StageModelLoader loader = (dir, stageConfig) =>
        {
            var model = ModelLoader.Load(dir, CPU, ScalarType.Float32, configure: stageConfig);
            var forwards = new int[1];
            model.model.embed_tokens.register_forward_hook((_, _, output) => { forwards[0]++; return output; });
            loads.Add((dir, model.Config, forwards));
            return model;
        };
        var recipe = new ExtendRecipe(CPU, ScalarType.Float32, new SdpaAttentionBackend(), loader);
        var result = await recipe.RunAsync(new ExtendOptions
        {
            ModelDir = modelDir, DataPath = Corpus(), Stages = [128, 256], OutDir = outDir, StepsPerStage = 1, NiahDepths = 0, LearningRate = 1e-3,
        });

        // One model per stage, built straight with the stage's θ and length (no copy into a second model).
        Assert.Equal([Path.GetFullPath(modelDir), Path.Combine(outDir, ExtendRecipe.StageFolder(128), ExtendRecipe.FinalFolder)], loads.Select(l => l.Dir));
        foreach (var (load, stage) in loads.Zip(result.Stages))
        {
            Assert.Equal(stage.RopeTheta, load.Config.Rope.RopeTheta);
            Assert.Equal(stage.Length, load.Config.MaxPositionEmbeddings);
            Assert.True(load.Forwards[0] > 0, $"stage {stage.Length}: the loaded model never ran a forward, so another one was trained");
        }
    }
}
