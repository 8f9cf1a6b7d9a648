using LongContext.Parallel.Distributed;
using LongContext.Parallel.Distributed.Rendezvous;

namespace LongContext.Tests.Parallel;

public class RendezvousInfoTests
{
    static RendezvousInfo? From(params (string, string)[] vars) => RendezvousInfo.FromVariables(vars.ToDictionary(v => v.Item1, v => v.Item2));

    [Fact]
    public void No_launcher_variables_mean_a_single_process_run_and_an_sbatch_script_without_srun_is_not_rank_0_of_n()
    {
        Assert.Null(From());
        Assert.Null(From(("SLURM_PROCID", "0"), ("SLURM_NTASKS", "8"), ("SLURM_JOB_NODELIST", "n[1-2]")));
    }

    [Fact]
    public void Torchrun_variables_are_read_and_the_agent_store_moves_ours_to_the_next_port()
    {
        var r = From(("RANK", "5"), ("WORLD_SIZE", "8"), ("LOCAL_RANK", "1"), ("LOCAL_WORLD_SIZE", "4"), ("GROUP_RANK", "1"),
            ("MASTER_ADDR", "node0"), ("MASTER_PORT", "29500"), ("TORCHELASTIC_RUN_ID", "x"), ("TORCHELASTIC_USE_AGENT_STORE", "True"))!;
        Assert.Equal(new RendezvousInfo(5, 8, 1, 4, 1, "node0", 29500, 29501, "torchrun"), r);
        Assert.Equal(29500, From(("RANK", "0"), ("WORLD_SIZE", "2"), ("MASTER_PORT", "29500"))!.StorePort);
        Assert.Equal(31000, From(("RANK", "0"), ("WORLD_SIZE", "2"), ("MASTER_PORT", "29500"), (RendezvousInfo.StorePortVariable, "31000"))!.StorePort);
    }

    [Fact]
    public void Bad_or_missing_torchrun_variables_name_the_variable()
    {
        Assert.Contains("RANK=(unset)", Assert.Throws<DistributedException>(() => From(("WORLD_SIZE", "2"))).Message);
        Assert.Contains("RANK=4 is not below WORLD_SIZE=4", Assert.Throws<DistributedException>(() => From(("RANK", "4"), ("WORLD_SIZE", "4"), ("MASTER_PORT", "1"))).Message);
        Assert.Contains("MASTER_PORT is not set", Assert.Throws<DistributedException>(() => From(("RANK", "0"), ("WORLD_SIZE", "2"))).Message);
        Assert.Contains("MASTER_ADDR is not set", Assert.Throws<DistributedException>(() =>
            From(("RANK", "0"), ("WORLD_SIZE", "8"), ("LOCAL_WORLD_SIZE", "4"), ("MASTER_PORT", "1"))).Message);
        Assert.Contains("WORLD_SIZE=two", Assert.Throws<DistributedException>(() => From(("RANK", "0"), ("WORLD_SIZE", "two"))).Message);
    }

    [Fact]
    public void Srun_variables_give_rank_local_rank_tasks_per_node_and_the_first_host_of_the_step()
    {
        var r = From(("SLURM_PROCID", "6"), ("SLURM_STEP_NUM_TASKS", "10"), ("SLURM_LOCALID", "2"), ("SLURM_NODEID", "2"),
            ("SLURM_STEP_TASKS_PER_NODE", "4(x2),2"), ("SLURM_STEP_NODELIST", "gpu[007-009]"), ("SLURM_JOB_NODELIST", "other1"), ("SLURM_JOB_ID", "123456"))!;
        Assert.Equal(new RendezvousInfo(6, 10, 2, 2, 2, "gpu007", 18456, 18456, "slurm"), r);
        var withAddr = From(("SLURM_PROCID", "0"), ("SLURM_STEP_NUM_TASKS", "2"), ("MASTER_ADDR", "10.0.0.1"), ("MASTER_PORT", "4000"))!;
        Assert.Equal(("10.0.0.1", 4000, 2), (withAddr.MasterAddr, withAddr.MasterPort, withAddr.LocalWorldSize));
        // torchrun inside srun: torchrun's variables describe the processes.
        Assert.Equal("environment", From(("SLURM_PROCID", "0"), ("SLURM_STEP_NUM_TASKS", "2"), ("RANK", "1"), ("WORLD_SIZE", "4"), ("MASTER_PORT", "1"))!.Source);
    }

    [Theory]
    [InlineData("node01", "node01")]
    [InlineData("node[01-04]", "node01,node02,node03,node04")]
    [InlineData("n[3,5-6]-ib,login2", "n3-ib,n5-ib,n6-ib,login2")]
    [InlineData("rack[1-2]-n[08-09]", "rack1-n08,rack1-n09,rack2-n08,rack2-n09")]
    [InlineData("a1, b[10-11]", "a1,b10,b11")]
    public void Slurm_node_lists_expand_in_order_keeping_zero_padding(string list, string hosts)
    {
        Assert.Equal(hosts.Split(','), SlurmNodeList.Expand(list));
        Assert.Equal(hosts.Split(',')[0], SlurmNodeList.FirstHost(list));
    }

    [Theory]
    [InlineData("node[01-04")]
    [InlineData("node[4-1]")]
    [InlineData("node[a-b]")]
    public void Malformed_node_lists_say_to_set_master_addr(string list) =>
        Assert.Contains("set MASTER_ADDR", Assert.Throws<DistributedException>(() => SlurmNodeList.Expand(list).ToList()).Message);

    [Fact]
    public void Cuda_device_is_0_with_one_visible_gpu_else_the_local_rank()
    {
        var r = new RendezvousInfo(3, 8, 3, 4, 0, "h", 1, 1, "environment");
        Assert.Equal(0, r.CudaDevice(1));
        Assert.Equal(3, r.CudaDevice(4));
        Assert.Contains("only 2 GPUs", Assert.Throws<DistributedException>(() => r.CudaDevice(2)).Message);
    }
}
