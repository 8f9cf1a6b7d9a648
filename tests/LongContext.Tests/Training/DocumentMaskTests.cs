using LongContext;
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.Data;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using LongContext.Training.Recipes;
using static TorchSharp.torch;
using static LongContext.Tests.Training.TinyTrainingModel;
using static LongContext.Tests.Training.TrainingTestKit;

namespace LongContext.Tests.Training;

/// <summary>Packed-document masking: a packed row trains each of its documents exactly as if it were alone.</summary>
public class DocumentMaskTests
{
    /// <summary>Documents of 5, 4 and 3 tokens in row 0 and of 7 and 5 in row 1 (rows of 12), ids in [1, 97).</summary>
    static readonly int[][] Documents = MakeDocuments([5, 4, 3, 7, 5]);

    static int[][] MakeDocuments(int[] lengths)
    {
        var rng = new Random(17);
        return lengths.Select(n => Enumerable.Range(0, n).Select(_ => rng.Next(1, 97)).ToArray()).ToArray();
    }

    /// <summary>One document alone: positions from 0, its next tokens as labels, nothing predicted after its end.</summary>
    static TrainingBatch Alone(int[] doc)
    {
        var ids = doc.Select(t => (long)t).ToArray();
        var labels = ids.Skip(1).Append(TrainingBatch.IgnoreIndex).ToArray();
        return new TrainingBatch(ids, labels, Enumerable.Range(0, doc.Length).Select(i => (long)i).ToArray(), 1, doc.Length);
    }

    /// <summary>Rows of whole documents, packed as the packer does with ResetPositionIds and MaskDocumentBoundaries.</summary>
    static TrainingBatch Packed(params int[][][] rows)
    {
        int length = rows[0].Sum(d => d.Length);
        var parts = rows.Select(r => r.Select(Alone).ToArray()).ToArray();
        var starts = rows.Select(r => r.Select((_, i) => r.Take(i).Sum(d => d.Length)).ToArray()).ToArray();
        return new TrainingBatch(parts.SelectMany(r => r.SelectMany(b => b.InputIds)).ToArray(), parts.SelectMany(r => r.SelectMany(b => b.Labels)).ToArray(),
            parts.SelectMany(r => r.SelectMany(b => b.PositionIds)).ToArray(), rows.Length, length) { DocumentStarts = starts };
    }

    static TrainingBatch PackedBatch() => Packed(Documents[..3], Documents[3..]);

    /// <summary>Loss sum of every document run on its own (plain forward, full logits), and the gradients of that sum.</summary>
    static (double Loss, Dictionary<string, Tensor> Grads) Separately(LlamaForCausalLM model, IAttentionBackend backend)
    {
        var loss = new CrossEntropyLoss();
        var sums = Documents.Select(d => loss.LossSum(model, DeviceBatch.Upload(Alone(d), CPU, backend))).ToList();
        var total = stack(sums).sum();
        total.backward();
        return (total.item<float>(), TakeGradients(model));
    }

    public static IEnumerable<object[]> Cases() =>
        from backend in new[] { "sdpa", "fused" }
        from loss in new[] { "plain", "recompute+chunked" }
        select new object[] { backend, loss };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_packed_batch_gives_the_loss_and_gradients_of_its_documents_run_separately(string backendName, string lossName)
    {
        using var scope = NewDisposeScope();
        IAttentionBackend backend = backendName == "sdpa" ? new SdpaAttentionBackend() : new FusedAttentionBackend();
        ILossComputer loss = lossName == "plain" ? new CrossEntropyLoss() : new LongSequenceLoss(chunkTokens: 5);
        var model = Create(tied: false, layers: 2);
        var (expectedLoss, expected) = Separately(model, backend);

        var packed = loss.LossSum(model, DeviceBatch.Upload(PackedBatch(), CPU, backend, documentMask: true));
        packed.backward();
        loss.AfterBackward();
        var actual = TakeGradients(model);
        Assert.Equal(expectedLoss, packed.item<float>(), 3);
        AssertSameGradients(expected, actual, 1e-5);

        // Without the mask the later documents see the earlier ones: another loss.
        var unmasked = loss.LossSum(model, DeviceBatch.Upload(PackedBatch(), CPU, backend));
        Assert.True(Math.Abs(unmasked.item<float>() - expectedLoss) > 1e-3, "the document mask changed nothing");
    }

    [Fact]
    public void The_trainer_with_document_mask_over_the_recipe_packing_trains_each_document_as_if_alone()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var corpus = new InMemoryTokenCorpus(Documents);
        var data = RecipeData.Pack(corpus, sequenceLength: 12, batchSize: 2, seed: 3, documentMask: true);
        var first = data.Next();
        Assert.Equal([[0, 5, 9], [0, 7]], first.DocumentStarts!.OrderByDescending(s => s.Length).ToArray());
        data.Seek(new DataCursor(0, 0));

        var model = Create(tied: true, layers: 2);
        var backend = new FusedAttentionBackend();
        var (expectedSum, expected) = Separately(model, backend);
        long predicted = Documents.Sum(d => d.Length - 1);
        using var trainer = new Trainer(model, data, backend, Options(dir.Path, maxSteps: 1) with { DocumentMask = true }, new LongSequenceLoss(chunkTokens: 7));
        var (loss, count) = trainer.AccumulateGradients([data.Next()]);
        Assert.Equal(predicted, count);
        Assert.Equal(expectedSum / predicted, loss, 5);
        var actual = TakeGradients(model);
        AssertSameGradients(expected.ToDictionary(kv => kv.Key, kv => kv.Value / predicted), actual, 1e-5);
        Assert.Equal("true", trainer.Options.TrajectoryFields()["document_mask"]);
    }

    [Fact]
    public void Document_mask_on_data_without_document_starts_is_a_clear_error()
    {
        using var dir = new TempDir();
        using var model = NewModel();
        using var trainer = new Trainer(model, new SyntheticDataSource(1, 8), new SdpaAttentionBackend(), Options(dir.Path, maxSteps: 1) with { DocumentMask = true });
        var e = Assert.Throws<LongContextException>(() => trainer.TrainStep());
        Assert.Contains("document_mask is on but the data source gives no document starts", e.Message);
    }
}
