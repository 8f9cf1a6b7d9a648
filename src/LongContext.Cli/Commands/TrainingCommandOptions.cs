using System.CommandLine;
using LongContext.Parallel.DataParallel;
using LongContext.Training.Checkpoints;
using static TorchSharp.torch;

namespace LongContext.Cli.Commands;

/// <summary>Options shared by the training commands (pretrain, extend, bench train).</summary>
public static class TrainingCommandOptions
{
    public static Option<bool> DocumentMask() => new("--document-mask")
    {
        Description = "Packed-document masking: no attention across document boundaries, positions restart at 0 in each document, "
            + "and no document's first token is predicted from the previous one (as Llama-3 and ProLong train on packed rows)",
    };

    public static Option<DamagedCheckpointPolicy> DamagedCheckpoint() => new("--damaged-checkpoint")
    {
        Description = "When the newest checkpoint's files do not match their content hashes on resume: skip (resume the previous one, naming the damaged file), fail, or use it anyway",
        DefaultValueFactory = _ => DamagedCheckpointPolicy.Skip,
    };

    /// <summary>The data-parallel options (used when the command runs under `longctx launch`, torchrun or srun).</summary>
    public sealed record Distributed(Option<int> Zero, Option<double> BucketMb, Option<bool> NoOverlap)
    {
        public IEnumerable<Option> All => [Zero, BucketMb, NoOverlap];

        public DataParallelOptions Read(ParseResult parse) =>
            new DataParallelOptions(parse.GetValue(Zero), parse.GetValue(BucketMb), !parse.GetValue(NoOverlap)).Validate();

        /// <summary>Joins the launched group (or runs alone without launcher variables); the device becomes this rank's GPU.</summary>
        public DistributedTraining Start(ParseResult parse, Device device) => DistributedTraining.Start(device, Read(parse));
    }

    public static Distributed DataParallel() => new(
        new Option<int>("--zero")
        {
            Description = "Under `longctx launch` (data parallel): 0 replicates AdamW on every rank; 1 shards fp32 masters and moments over the ranks "
                + "(12 bytes/parameter ÷ ranks); 2 also reduce-scatters gradients so each rank keeps only its shard",
            DefaultValueFactory = _ => 0,
        },
        new Option<double>("--grad-bucket-mb")
        {
            Description = "Data parallel: MiB per gradient bucket (reduced as soon as the backward finishes its layers)",
            DefaultValueFactory = _ => 25,
        },
        new Option<bool>("--no-grad-overlap") { Description = "Data parallel: reduce gradients only after the backward instead of while it runs" });
}
