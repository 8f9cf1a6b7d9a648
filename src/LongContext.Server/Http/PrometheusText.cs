using System.Globalization;
using System.Text;

namespace LongContext.Server.Http;

/// <summary>Writer for the Prometheus text exposition format 0.0.4 (HELP/TYPE lines, escaped label values).</summary>
internal sealed class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";
    readonly StringBuilder sb = new();

    public PrometheusText Metric(string name, string type, string help, double value) => Metric(name, type, help, [([], value)]);

    public PrometheusText Metric(string name, string type, string help, IEnumerable<(IReadOnlyList<(string Label, string Value)> Labels, double Value)> samples)
    {
        sb.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", "\\\\").Replace("\n", "\\n")).Append('\n');
        sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        foreach (var (labels, value) in samples)
        {
            sb.Append(name);
            if (labels.Count > 0)
            {
                sb.Append('{');
                for (int i = 0; i < labels.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    sb.Append(labels[i].Label).Append("=\"").Append(Escape(labels[i].Value)).Append('"');
                }
                sb.Append('}');
            }
            sb.Append(' ').Append(Format(value)).Append('\n');
        }
        return this;
    }

    public override string ToString() => sb.ToString();

    static string Escape(string v) => v.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    static string Format(double v) =>
        double.IsNaN(v) ? "NaN" : double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : v.ToString("R", CultureInfo.InvariantCulture);
}
