using Sweep.Analysis.Concepts;
using Sweep.Analysis.Linear;
using Sweep.Jobs.Corpus;
using Sweep.Jobs.Spec;
using Sweep.Models;
using Sweep.Models.Checkpoints;

namespace Sweep.Integration.Tests.Concepts;

/// <summary>
/// A planted-circle model and corpus in a temporary folder, and everything the concept measures see of it short of a
/// job run: the labelled corpus loaded through a real job spec, captured per shard at the requested sites, each shard
/// an <see cref="ActivationBlock"/> folded into <see cref="LabelStatistics"/> and merged — what the wired map and merge
/// units will do.
/// </summary>
public sealed class PlantedCircle : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("sweep-circle-").FullName;
    public PlantedCircleModel Model { get; }
    public string CorpusPath => Path.Combine(Root, "prompts.jsonl");

    public PlantedCircle(int seed = 12, int perDay = 6)
    {
        Model = PlantedCircleModel.Write(Path.Combine(Root, "circle"), seed);
        PlantedCircleModel.WriteCorpus(CorpusPath, perDay, seed);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);

    /// <summary>The embedding rows of the seven day tokens as written in model.safetensors, Monday first.</summary>
    public DenseMatrix DayEmbeddingRows()
    {
        using var file = SafeTensors.Open(Path.Combine(Model.Directory, "model.safetensors"));
        var embed = file.ReadFloats("model.embed_tokens.weight");
        int d = PlantedCircleModel.Hidden;
        return DenseMatrix.FromFloats(embed.AsSpan(PlantedCircleModel.FirstDayToken * d, PlantedCircleModel.Days.Length * d), PlantedCircleModel.Days.Length, d);
    }

    /// <summary>The corpus tokenized and labelled as a run does it: a job with <c>corpus.labels</c> and no analyses.</summary>
    public TokenizedCorpus LoadCorpus()
    {
        var job = PlantedCircleModel.JobYaml("circle", "prompts.jsonl");
        job = job[..job.IndexOf("analyses:", StringComparison.Ordinal)] + job[job.IndexOf("execution:", StringComparison.Ordinal)..];
        return CorpusLoader.Load(JobLoader.Parse(job, "circle.yaml", Root));
    }

    /// <summary>The corpus's "label" field as the concept measures take it.</summary>
    public static LabelIndex Labels(TokenizedCorpus corpus)
    {
        var (names, bySequence) = corpus.Labels!.Index("label");
        return new LabelIndex(names, bySequence);
    }

    /// <summary>Per site, one block per corpus shard, captured by the model as a capture unit does.</summary>
    public IReadOnlyDictionary<string, List<ActivationBlock>> Capture(TokenizedCorpus corpus, IReadOnlyList<string> sites)
    {
        var blocks = sites.ToDictionary(s => s, _ => new List<ActivationBlock>());
        using var model = CausalLm.Load(Model.Directory);
        int first = 0;
        foreach (var shard in corpus.Shards)
        {
            var captured = model.Capture(shard.Sequences, sites, batchSize: 8);
            var (seq, pos, token) = RowIndex(shard.Sequences, first);
            foreach (var site in sites) blocks[site].Add(ActivationBlock.FromDense(seq, pos, token, captured[site].Values, captured[site].Width));
            first += shard.Sequences.Count;
        }
        return blocks;
    }

    /// <summary>Per site, the label statistics of every corpus shard captured and folded, merged into one.</summary>
    public IReadOnlyDictionary<string, LabelStatistics> Statistics(TokenizedCorpus corpus, IReadOnlyList<string> sites, ReductionOptions reduction)
    {
        var labels = Labels(corpus);
        return Capture(corpus, sites).ToDictionary(s => s.Key,
            s => s.Value.Select(b => LabelStatistics.FromBlock(b, labels, reduction)).Aggregate((a, b) => a.Merge(b)));
    }

    private static (int[] Seq, int[] Pos, int[] Token) RowIndex(IReadOnlyList<int[]> sequences, int first)
    {
        var rows = sequences.SelectMany((s, i) => s.Select((t, p) => (Seq: first + i, Pos: p, Token: t))).ToList();
        return ([.. rows.Select(r => r.Seq)], [.. rows.Select(r => r.Pos)], [.. rows.Select(r => r.Token)]);
    }

    /// <summary>
    /// Whether the points go round the circle in the given order: the angle from each point to the next (wrapped to
    /// (−π, π]) has the same sign for all seven steps, closing the loop, and the steps add up to one full turn.
    /// </summary>
    public static bool InCyclicOrder(IReadOnlyList<(double X, double Y)> points, out double[] steps)
    {
        var angles = points.Select(p => Math.Atan2(p.Y, p.X)).ToArray();
        steps = [.. Enumerable.Range(0, angles.Length).Select(k => Wrap(angles[(k + 1) % angles.Length] - angles[k]))];
        bool sameSign = steps.All(s => s > 0) || steps.All(s => s < 0);
        return sameSign && Math.Abs(Math.Abs(steps.Sum()) - 2 * Math.PI) < 1e-9;
    }

    private static double Wrap(double angle)
    {
        while (angle <= -Math.PI) angle += 2 * Math.PI;
        while (angle > Math.PI) angle -= 2 * Math.PI;
        return angle;
    }
}
