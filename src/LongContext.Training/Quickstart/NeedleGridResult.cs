namespace LongContext.Training.Quickstart;

/// <summary>Accuracy in percent per (depth, length) cell of a <see cref="NeedleGrid"/>: <c>Accuracy[d, l]</c>.</summary>
public sealed record NeedleGridResult(IReadOnlyList<int> Lengths, IReadOnlyList<double> DepthPercents, double[,] Accuracy, int SamplesPerCell)
{
    /// <summary>Mean accuracy over depths at each length, in percent.</summary>
    public double[] ByLength() =>
        Enumerable.Range(0, Lengths.Count).Select(l => Enumerable.Range(0, DepthPercents.Count).Average(d => Accuracy[d, l])).ToArray();

    /// <summary>Mean accuracy over depths at <paramref name="length"/> (which must be one of <see cref="Lengths"/>).</summary>
    public double AtLength(int length)
    {
        var i = Lengths.ToList().IndexOf(length);
        if (i < 0) throw new ArgumentException($"length {length} is not in the grid ({string.Join(", ", Lengths)}).", nameof(length));
        return ByLength()[i];
    }
}
