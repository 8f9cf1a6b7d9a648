using LongContext.Eval.Reports;
using SkiaSharp;

namespace LongContext.Tests.Eval;

public class PlotTests
{
    [Fact]
    public void Heatmap_renders_depth_zero_at_the_top_and_the_first_length_on_the_left_in_red_for_a_miss()
    {
        var scores = new double[4, 3];
        for (var d = 0; d < 4; d++) for (var l = 0; l < 3; l++) scores[d, l] = 100;
        scores[0, 0] = 0;   // depth 0%, first length: a miss
        var dir = EvalFixtures.TempDir("plot");
        var (png, svg) = Plots.NiahHeatmap(scores, [0, 33.3, 66.7, 100], [1024, 2048, 4096], "t", Path.Combine(dir, "hm"));
        Assert.True(File.Exists(svg));
        using var bmp = SKBitmap.Decode(png);
        Assert.NotNull(bmp);
        // Find the red (#F0496E) and green (#0CD79F) pixels' centres of mass.
        long rx = 0, ry = 0, rn = 0, gx = 0, gy = 0, gn = 0;
        for (var y = 0; y < bmp.Height; y += 2)
            for (var x = 0; x < bmp.Width; x += 2)
            {
                var c = bmp.GetPixel(x, y);
                if (c.Red > 220 && c.Green < 100 && c.Blue > 90 && c.Blue < 130) { rx += x; ry += y; rn++; }
                if (c.Red < 40 && c.Green > 190 && c.Blue > 140 && c.Blue < 175) { gx += x; gy += y; gn++; }
            }
        // One cell of twelve is red: its area is 1/11 of the green area when cells align with the grid.
        Assert.InRange(rn / (double)gn, 1 / 11.0 * 0.85, 1 / 11.0 * 1.15);
        Assert.True(rx / rn < gx / gn, "the miss is left of the plot's centre");
        Assert.True(ry / rn < gy / gn, "the miss is above the plot's centre (depth 0 at the top)");
    }
}

public class PlotEdgeCaseTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(3, 1)]
    public void Heatmap_with_a_single_row_or_column_fills_the_plot(int rows, int cols)
    {
        var scores = new double[rows, cols];
        var dir = EvalFixtures.TempDir("plot1");
        var (png, _) = Plots.NiahHeatmap(scores, Enumerable.Range(0, rows).Select(i => i * 10.0).ToList(), Enumerable.Range(1, cols).Select(i => i * 1024).ToList(), "t", Path.Combine(dir, "hm"));
        using var bmp = SkiaSharp.SKBitmap.Decode(png);
        long red = 0;
        for (var y = 0; y < bmp.Height; y += 2)
            for (var x = 0; x < bmp.Width; x += 2)
            {
                var c = bmp.GetPixel(x, y);
                if (c.Red > 220 && c.Green < 100 && c.Blue > 90 && c.Blue < 130) red++;
            }
        // The plot area is roughly 530 × 360 px at this size; all of it is one red score of 0 (sampled every 2 px).
        Assert.True(red > 530 * 360 / 4 * 0.8, $"red samples {red}");
    }
}
