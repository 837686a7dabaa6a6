using System.Text.Json;
using Sweep.Analysis.Concepts;

namespace Sweep.Analysis.Measures;

/// <summary>
/// A concept measure's partial over some prompts: per-label statistics (<see cref="LabelStatistics"/>) for every kind
/// but a PCA of sampled prompts, which keeps a <see cref="PromptSample"/>; neither for a PCA of decoder rows, which reads
/// no activations.
/// </summary>
public sealed class ConceptPartial(LabelStatistics? statistics, PromptSample? sample) : IPartial
{
    public static readonly ConceptPartial Nothing = new(null, null);

    public LabelStatistics? Statistics { get; } = statistics;
    public PromptSample? Sample { get; } = sample;

    public LabelStatistics RequireStatistics => Statistics ?? throw new InvalidDataException("a concept partial without label statistics");
}

/// <summary>
/// What the four concept measures (<c>concept_means</c>, <c>contrast</c>, <c>selectivity</c>, <c>pca</c>) share. They look
/// inside one site (<see cref="Arity.Site"/>), on dense activations or SAE codes (one registered object each), over a
/// labelled corpus. Conventions (docs/analyses.md, "Inside one model"):
/// <list type="bullet">
/// <item>A prompt is one sequence; it is reduced to items (<see cref="PromptReduction"/>: its <c>last</c> token, the
/// <c>mean</c> over its tokens without BOS, <c>every</c> token, or the last token of the first <c>marker</c> occurrence).
/// The marker's token ids and the BOS id come from the corpus tokenizer (<see cref="ForCorpus"/>).</item>
/// <item>Each item belongs to its sequence's value of <c>label_field</c> (the blocks' <see cref="MeasureBlock.Labels"/>,
/// which list the corpus's values in order of first appearance); <c>order</c> keeps only the labels it names, in its
/// order, and items of other labels are counted apart.</item>
/// <item>The partial is per-label n, Σx, Σx² in float64 (<see cref="LabelStatistics"/>), or a seeded bottom-k sample of
/// items (<see cref="PromptSample"/>); both merge associatively and commutatively, so sharding and merge order do not
/// change the result.</item>
/// <item>Rows: the kind's per-label rows in <see cref="MeasureResult.Concepts"/> (the concept tables), and the metric
/// <c>concept_items</c> (items in the analysis's labels; params: what the reduction did).</item>
/// </list>
/// </summary>
public abstract class ConceptMeasure(SiteData data) : Measure<ConceptParameters, ConceptPartial>
{
    public sealed override SiteData Data { get; } = data;
    public sealed override Arity Arity => Arity.Site;
    public sealed override ConceptParameters DefaultParameters { get; } = new();

    /// <summary>Which of the four this is.</summary>
    public abstract ConceptKind ConceptKind { get; }

    /// <summary>The keys every concept kind has, first in each kind's <see cref="Measure.Keys"/>.</summary>
    protected static IReadOnlyList<ParameterKey> CommonKeys { get; } =
    [
        ParameterKeys<ConceptParameters>.Choice("reduce", p => p.Reduce, (p, v) => p with { Reduce = v }),
        ParameterKeys<ConceptParameters>.Text("marker", "the marker text, e.g. \" Monday\"", p => p.Marker, (p, v) => p with { Marker = v }),
        ParameterKeys<ConceptParameters>.Text("label_field", "a label field of the corpus (one of corpus.labels)", p => p.LabelField, (p, v) => p with { LabelField = v }),
        ParameterKeys<ConceptParameters>.TextList("order", "a list of labels", p => p.Order ?? [], (p, v) => p with { Order = v.Count == 0 ? null : v }),
    ];

    protected static ParameterKey TopKKey { get; } =
        ParameterKeys<ConceptParameters>.Integer("top_k", 1, "an integer of at least 1", p => p.TopK, (p, v) => p with { TopK = v });

    public override ParameterProblem? Check(ConceptParameters p) => p.Problems(ConceptKind, Data).FirstOrDefault();

    public override string? LabelField(ConceptParameters p) => p.ReadsLabels(ConceptKind) ? p.LabelField : null;

    public override IReadOnlyList<ParameterProblem> CheckCorpus(ConceptParameters p, CorpusFacts corpus) => [.. p.CorpusProblems(ConceptKind, corpus)];

    /// <summary>The BOS id of the corpus (left out of <c>mean</c> and <c>every</c>), and the marker's ids.</summary>
    public override ConceptParameters ForCorpus(ConceptParameters p, CorpusTokenizer tokenizer)
    {
        if (!p.ReadsLabels(ConceptKind)) return p;
        if (p.Reduce != Reduction.Marker) return p with { BosId = tokenizer.BosId };
        if (tokenizer.Encode is not { } encode)
            throw new ArgumentException($"marker {JsonSerializer.Serialize(p.Marker)}: the marker reduction needs the corpus tokenizer, and the corpus has none");
        var ids = encode(p.Marker!);
        if (ids.Count == 0) throw new ArgumentException($"marker {JsonSerializer.Serialize(p.Marker)} encodes to no token with the corpus tokenizer");
        return p with { BosId = tokenizer.BosId, MarkerIds = ids };
    }

    private bool Samples(ConceptParameters p) => ConceptKind == ConceptKind.Pca && p.Source == PcaSource.Sample;

    public override long PartialBytes(ConceptParameters p, MeasureShape shape) =>
        !p.ReadsLabels(ConceptKind) ? 64
        : Samples(p) ? 8L * p.MaxItems * (Data == SiteData.Sparse ? Math.Min(shape.WidthA, 256) : shape.WidthA)
        : 16L * (p.Order?.Count ?? 32) * shape.WidthA;

    public override ConceptPartial Fold(ConceptParameters p, MeasureShape shape, int piece, Func<IEnumerable<MeasureBlock>> blocks)
    {
        if (!p.ReadsLabels(ConceptKind)) return ConceptPartial.Nothing;   // a PCA of decoder rows reads no activations
        var reduction = p.ToReductionOptions();
        ConceptPartial? folded = null;
        foreach (var block in blocks())
        {
            var activations = ToActivations(block);
            var labels = LabelsOf(block, p);
            var part = Samples(p)
                ? new ConceptPartial(null, PromptSample.FromBlock(activations, labels, reduction, p.MaxItems, p.Seed))
                : new ConceptPartial(LabelStatistics.FromBlock(activations, labels, reduction), null);
            folded = folded is null ? part : Merge(p, folded, part);
        }
        return folded ?? throw new ArgumentException("no blocks to fold");
    }

    public override ConceptPartial Merge(ConceptParameters p, ConceptPartial a, ConceptPartial b) =>
        a.Statistics is { } s ? new(s.Merge(b.RequireStatistics), null)
        : a.Sample is { } sample ? new(null, sample.Merge(b.Sample ?? throw new InvalidDataException("a concept partial without a prompt sample")))
        : ConceptPartial.Nothing;

    /// <summary>Sections: <c>holds</c> (0 label statistics, 1 a prompt sample, 2 nothing), then the statistic's own.</summary>
    public override void Write(ConceptPartial partial, PartialWriter w)
    {
        w.Write("holds", partial.Statistics is not null ? 0L : partial.Sample is not null ? 1L : 2L);
        partial.Statistics?.Write(w);
        partial.Sample?.Write(w);
    }

    public override ConceptPartial Read(ConceptParameters p, MeasureShape shape, int piece, PartialReader r) => r.ReadInt64("holds") switch
    {
        0 => new(LabelStatistics.Read(r), null),
        1 => new(null, PromptSample.Read(r)),
        2 => ConceptPartial.Nothing,
        var holds => throw new InvalidDataException($"a concept partial holding '{holds}', expected 0, 1 or 2"),
    };

    public sealed override MeasureResult Finish(ConceptParameters p, MeasureShape shape, IEnumerable<ConceptPartial> pieces, SideInputs side)
    {
        var partial = pieces.Single();
        var result = Finish(p, partial, side);
        var values = new List<MeasureValue>();
        if (partial.Statistics is { } stats)
        {
            long items = stats.TotalCount;
            values.Add(new MeasureValue("concept_items", (double)items, items, new Dictionary<string, object>
            {
                ["reduce"] = ConceptParameters.Name(p.Reduce), ["label_field"] = p.LabelField, ["labels"] = stats.Labels.Count,
                ["prompts"] = stats.Reduction.Prompts, ["items"] = stats.Reduction.Items, ["without_marker"] = stats.Reduction.WithoutMarker,
                ["empty"] = stats.Reduction.Empty, ["unlabelled"] = stats.Unlabelled,
            }));
        }
        values.AddRange(Values(p, result));
        return new MeasureResult(values) { Concepts = result };
    }

    /// <summary>The kind's results from the final partial.</summary>
    protected abstract ConceptResult Finish(ConceptParameters p, ConceptPartial partial, SideInputs side);

    /// <summary>Metric values the kind adds to <c>concept_items</c> (none unless overridden).</summary>
    protected virtual IEnumerable<MeasureValue> Values(ConceptParameters p, ConceptResult result) => [];

    /// <summary>The result with what every kind records: its kind, reduction, the reduction's counts, items outside the labels.</summary>
    protected ConceptResult Result(ConceptParameters p, LabelStatistics? stats) =>
        new(ConceptKind, p.Reduce, stats?.Reduction ?? ReductionCounts.None, stats?.Unlabelled ?? 0, p.Cyclic);

    private static ActivationBlock ToActivations(MeasureBlock block) => block.A.Dense is { } dense
        ? ActivationBlock.FromDense(block.Tokens.Seq, block.Tokens.Pos, block.Tokens.Token, dense, block.A.Width)
        : ActivationBlock.FromSparse(block.Tokens.Seq, block.Tokens.Pos, block.Tokens.Token, block.A.SparseCodes);

    /// <summary>The block's sequences' labels, restricted to <c>order</c> when it is given.</summary>
    private static LabelIndex LabelsOf(MeasureBlock block, ConceptParameters p)
    {
        var rows = block.Labels ?? throw new ArgumentException($"a concept measure needs the rows' labels (label field '{p.LabelField}'), and the block has none");
        var labels = LabelIndex.FromRows(rows.Values, block.Tokens.Seq, rows.Index);
        return p.Order is { } order ? labels.Restrict(order) : labels;
    }
}
