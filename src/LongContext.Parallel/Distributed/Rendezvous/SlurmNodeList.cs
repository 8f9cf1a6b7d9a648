using System.Text;

namespace LongContext.Parallel.Distributed.Rendezvous;

/// <summary>
/// SLURM's compressed host lists ("node[01-04,07],gpu-a3", "rack[1-2]-n[01-02]"): expanded in SLURM's order,
/// zero padding kept. <see cref="FirstHost"/> is where rank 0 runs, hence MASTER_ADDR under srun.
/// </summary>
public static class SlurmNodeList
{
    public static string FirstHost(string list) => Expand(list).FirstOrDefault()
        ?? throw new DistributedException($"SLURM node list '{list}' names no host; set MASTER_ADDR to rank 0's host.");

    public static IEnumerable<string> Expand(string list)
    {
        foreach (var token in SplitTopLevel(list))
            foreach (var host in ExpandToken(token)) yield return host;
    }

    static IEnumerable<string> SplitTopLevel(string list)
    {
        int depth = 0, start = 0;
        for (int i = 0; i <= list.Length; i++)
        {
            if (i == list.Length || (list[i] == ',' && depth == 0))
            {
                var t = list[start..i].Trim();
                if (t.Length > 0) yield return t;
                start = i + 1;
            }
            else if (list[i] == '[') depth++;
            else if (list[i] == ']') depth = depth > 0 ? depth - 1 : throw Bad(list);
        }
        if (depth != 0) throw Bad(list);
    }

    static IEnumerable<string> ExpandToken(string token)
    {
        int open = token.IndexOf('[');
        if (open < 0)
        {
            yield return token;
            yield break;
        }
        int close = token.IndexOf(']', open);
        if (close < 0) throw Bad(token);
        string prefix = token[..open], rest = token[(close + 1)..];
        foreach (var item in token[(open + 1)..close].Split(','))
        {
            var bounds = item.Split('-');
            if (bounds.Length is < 1 or > 2 || !bounds.All(b => b.Length > 0 && b.All(char.IsAsciiDigit))) throw Bad(token);
            long lo = long.Parse(bounds[0], System.Globalization.CultureInfo.InvariantCulture);
            long hi = bounds.Length == 2 ? long.Parse(bounds[1], System.Globalization.CultureInfo.InvariantCulture) : lo;
            if (hi < lo) throw Bad(token);
            int width = bounds[0].Length;
            for (long v = lo; v <= hi; v++)
                foreach (var tail in ExpandToken(rest))
                    yield return new StringBuilder(prefix).Append(v.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(width, '0')).Append(tail).ToString();
        }
    }

    static DistributedException Bad(string list) =>
        new($"cannot parse the SLURM node list '{list}' (expected forms like node[01-04,07],other); set MASTER_ADDR explicitly.");
}
