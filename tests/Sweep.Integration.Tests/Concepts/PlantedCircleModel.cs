using System.Text;
using Sweep.Models.Checkpoints;
using Sweep.Models.Demo;

namespace Sweep.Integration.Tests.Concepts;

/// <summary>
/// A small Llama checkpoint with planted structure for the day-of-week study: the embedding rows of the seven day
/// tokens (ids <see cref="FirstDayToken"/>…+6, Monday first) lie on a circle of radius <see cref="Radius"/> around a
/// random centre, in a random 2-D subspace (<see cref="Basis"/>, two orthonormal columns), at angles 2πk/7 in week
/// order, plus Gaussian noise of <see cref="Noise"/> per dimension. Every other weight is TinyLlamaCheckpoint's seeded
/// random init. Captured at <c>hook_embed</c> with the last-token reduction, prompts ending in a day token give exactly
/// those rows, so the PCA of the seven day means must find the circle (angles in week order, the first two components
/// explaining ≥ 0.9 of the variance: noise adds about Hidden·Noise² = 0.026 to the circle's ≈ 1.17).
/// <para>Also writes a labelled, pre-tokenized corpus (<see cref="WriteCorpus"/>; no tokenizer files needed) and the job
/// the wiring will run (<see cref="JobYaml"/>).</para>
/// </summary>
public sealed class PlantedCircleModel
{
    public static readonly string[] Days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    public const int FirstDayToken = 10, FirstFillerToken = 30, Fillers = 30, NeutralToken = 25, Vocab = 64, Hidden = 64, Bos = 1;
    public const double Radius = 1.0, Noise = 0.02;

    public required string Directory { get; init; }
    /// <summary>The plane of the circle: Hidden × 2, row-major, orthonormal columns.</summary>
    public required double[] Basis { get; init; }
    public required double[] Centre { get; init; }

    /// <summary>The planted angle of day k: 2πk/7.</summary>
    public static double Angle(int day) => 2 * Math.PI * day / Days.Length;

    public static PlantedCircleModel Write(string directory, int seed)
    {
        TinyLlamaCheckpoint.Write(directory, new TinyLlamaShape { VocabSize = Vocab, HiddenSize = Hidden, IntermediateSize = 96, NumLayers = 2 }, (ulong)seed);
        var rng = new Random(seed);
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

        // Two orthonormal directions (Gram–Schmidt of two Gaussian vectors) and a centre away from the origin.
        var u = Enumerable.Range(0, Hidden).Select(_ => Gaussian()).ToArray();
        var v = Enumerable.Range(0, Hidden).Select(_ => Gaussian()).ToArray();
        Normalize(u);
        double dot = u.Zip(v).Sum(p => p.First * p.Second);
        for (int j = 0; j < Hidden; j++) v[j] -= dot * u[j];
        Normalize(v);
        var centre = Enumerable.Range(0, Hidden).Select(_ => 0.5 * Gaussian()).ToArray();

        var path = Path.Combine(directory, "model.safetensors");
        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>();
        Dictionary<string, string> metadata;
        using (var file = SafeTensors.Open(path))
        {
            foreach (var (name, entry) in file.Entries) tensors[name] = (file.ReadFloats(name), entry.Shape);
            metadata = new Dictionary<string, string>(file.Metadata) { ["sweep_planted_circle_seed"] = seed.ToString() };
        }
        var embed = tensors["model.embed_tokens.weight"].Data;
        for (int k = 0; k < Days.Length; k++)
        {
            double c = Math.Cos(Angle(k)), s = Math.Sin(Angle(k));
            for (int j = 0; j < Hidden; j++)
                embed[(FirstDayToken + k) * Hidden + j] = (float)(centre[j] + Radius * (c * u[j] + s * v[j]) + Noise * Gaussian());
        }
        SafeTensors.Write(path, tensors, SafeTensorDtype.F32, metadata);
        var basis = new double[Hidden * 2];
        for (int j = 0; j < Hidden; j++) { basis[j * 2] = u[j]; basis[j * 2 + 1] = v[j]; }
        return new PlantedCircleModel { Directory = directory, Basis = basis, Centre = centre };
    }

    /// <summary>
    /// <paramref name="perDay"/> prompts per day — BOS, two to five filler tokens, the day token last — labelled with the day,
    /// and as many neutral ones ending in <see cref="NeutralToken"/>, shuffled, as jsonl of ids.
    /// </summary>
    public static void WriteCorpus(string path, int perDay, int seed)
    {
        var rng = new Random(seed);
        var prompts = Days.Select((day, k) => (Label: day, Last: FirstDayToken + k)).Append((Label: "neutral", Last: NeutralToken))
            .SelectMany(d => Enumerable.Repeat(d, perDay))
            .Select(d => (d.Label, Ids: new[] { Bos }.Concat(Enumerable.Range(0, 2 + rng.Next(4)).Select(_ => FirstFillerToken + rng.Next(Fillers))).Append(d.Last).ToArray()))
            .OrderBy(_ => rng.Next())
            .ToList();
        var text = new StringBuilder();
        foreach (var (label, ids) in prompts) text.Append($"{{\"ids\": [{string.Join(", ", ids)}], \"label\": \"{label}\"}}\n");
        File.WriteAllText(path, text.ToString());
    }

    /// <summary>
    /// The day-of-week job over this model (docs/jobs.md, "Concept analyses"): <c>hook_embed</c> and the residual stream
    /// after both blocks, the PCA of the seven day means (cyclic), the label means, every day against neutral, the days'
    /// specialists, and a PCA of a seeded sample of every token at one layer. <paramref name="extra"/> is appended to the
    /// analyses.
    /// </summary>
    public static string JobYaml(string modelPath, string corpusPath, string extra = "") => $$"""
        version: 1
        name: planted-circle
        corpus:
          path: {{corpusPath}}
          labels: [label]
          max_tokens: 8
          sequences_per_shard: 16
        models:
          - name: circle
            path: {{modelPath}}
        captures:
          - model: circle
            sites: [hook_embed, blocks.0.hook_resid_post, blocks.1.hook_resid_post]
        analyses:
          - name: days
            kind: pca
            reduce: last
            order: [{{string.Join(", ", Days)}}]
            cyclic: true
          - name: day-means
            kind: concept_means
            reduce: last
          - name: day-contrast
            kind: contrast
            reduce: last
            baseline: neutral
            top_k: 5
          - name: specialists
            kind: selectivity
            reduce: last
            exclude: [neutral]
            top_k: 3
          - name: tokens
            kind: pca
            reduce: every
            source: sample
            sites: [blocks.0.hook_resid_post]
            max_items: 150
            components: 5
        {{extra}}
        execution:
          device: cpu
        output:
          store: store
        """;

    private static void Normalize(double[] x)
    {
        double norm = Math.Sqrt(x.Sum(v => v * v));
        for (int i = 0; i < x.Length; i++) x[i] /= norm;
    }
}
