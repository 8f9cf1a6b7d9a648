using LongContext.Core.Model;
using LongContext.Training.Plan;

namespace LongContext.Training.ActivationCheckpointing;

/// <summary>
/// Auto activation checkpointing: decides, from measured device memory, how many layers the next micro-batches
/// recompute. Micro-batch 0 runs with every layer recomputed and its peak is measured; before micro-batch 1 the plan
/// leaves as many layers plain as <see cref="ActivationCheckpointPlan"/> estimates fit; before micro-batch 2 it
/// re-plans from the memory a plain layer was measured to take; from then on the layout stays fixed. Off the GPU
/// (no <see cref="DeviceMemoryProbe"/>) every layer stays recomputed. Each plan goes through <see cref="Agree"/>, so
/// every process of a distributed run uses the same layout.
/// </summary>
/// <param name="memory">Where memory is read (default: the model's CUDA device, found on the first call).</param>
public sealed class ActivationCheckpointPlanner(DeviceMemoryProbe? memory = null)
{
    int calls;
    long peakAllRecomputed;

    /// <summary>Makes each plan the one every process uses (<see cref="Topology.ITrainingTopology.AgreeRecomputedLayers"/>); identity by default.</summary>
    public Func<int, int> Agree { get; set; } = layers => layers;

    /// <summary>The layout is final: no more measurements.</summary>
    public bool Done { get; private set; }

    /// <summary>Micro-batches spent before the layout is final (the all-recomputed one and the first plan's).</summary>
    public const int PlanningMicroBatches = 2;

    /// <summary>
    /// Called before each micro-batch until <see cref="Done"/>: the layers to recompute for it, from the layout
    /// <paramref name="current"/> the previous micro-batch ran (null: all). <paramref name="sequenceLength"/> is the
    /// micro-batch's token count (rows × length), which the per-layer memory estimate scales with.
    /// </summary>
    public int? Next(LlamaForCausalLM model, long sequenceLength, int? current)
    {
        if (Done) return current;
        memory ??= DeviceMemoryProbe.ForDevice(model.Device);
        if (memory is null)
        {
            Done = true;   // off the GPU: every layer stays recomputed
            return current;
        }
        int layers = model.Config.NumHiddenLayers;
        switch (calls++)
        {
            case 0:
                // The first measurement must see this micro-batch's peak alone, not model loading or an earlier stage's.
                memory.ResetPeak();
                return current;
            case 1:
            {
                if (memory.PeakAllocated() is not long peak || memory.Total() is not long total)
                {
                    Done = true;
                    return current;
                }
                peakAllRecomputed = peak;
                int plan = Agree(ActivationCheckpointPlan.LayersToCheckpoint(model.Config, sequenceLength, peak, total));
                Done = plan == layers;   // nothing plain: nothing to measure
                memory.ResetPeak();
                return plan;
            }
            default:
                Done = true;
                if (memory.PeakAllocated() is long second && memory.Total() is long deviceTotal && current is int inPlan)
                {
                    int refined = Agree(ActivationCheckpointPlan.Refine(model.Config, sequenceLength, peakAllRecomputed, inPlan, second, deviceTotal));
                    memory.ResetPeak();
                    return refined;
                }
                return current;
        }
    }
}
