using Sweep.Analysis.Linear;
using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Concepts;

/// <summary>
/// What one concept analysis gives at one site: the kind's results (one of <see cref="Means"/>, <see cref="Contrast"/>,
/// <see cref="Selectivity"/>, <see cref="Pca"/>), and what the reduction did (prompts without the marker, empty
/// prompts, items outside the analysis's labels), to report beside them.
/// </summary>
public sealed record ConceptOutcome(ConceptKind Kind, ReductionCounts Reduction, long Unlabelled,
    IReadOnlyList<ConceptMean>? Means = null, ContrastResult? Contrast = null, SelectivityResult? Selectivity = null, ConceptPcaResult? Pca = null);

/// <summary>
/// One concept analysis at one site as a measure object, in the shape the map/merge/finalize pipeline runs every measure:
/// <see cref="Fold"/> reduces a range of shards' blocks to a partial (its state as <see cref="NamedArrays"/>, for a partial
/// file), <see cref="Merge"/> combines two partials (associative and commutative), <see cref="Finish"/> turns the last
/// partial into results. The partial is a <see cref="LabelStatistics"/> for every kind but a PCA of sampled prompts,
/// whose partial is a <see cref="PromptSample"/>; a PCA of decoder rows reads no activations (<see cref="FinishDecoder"/>).
/// </summary>
public sealed class ConceptMeasure
{
    public ConceptKind Kind { get; }
    public ConceptParameters Parameters { get; }
    /// <summary>The corpus's labels, restricted to <see cref="ConceptParameters.Order"/> when it is given.</summary>
    public LabelIndex Labels { get; }
    public ReductionOptions Reduction { get; }
    /// <summary>Whether the site holds SAE codes (the selectivity index defaults to ratio there, dprime on dense sites).</summary>
    public bool SparseSite { get; }

    /// <param name="labels">The corpus's labels for <see cref="ConceptParameters.LabelField"/>, in order of first appearance.</param>
    /// <param name="bosId">The tokenizer's BOS id when the corpus adds BOS.</param>
    /// <param name="markerIds">The marker text's token ids (for <c>reduce: marker</c>).</param>
    public ConceptMeasure(ConceptKind kind, ConceptParameters parameters, LabelIndex labels, bool sparseSite, int? bosId = null, IReadOnlyList<int>? markerIds = null)
    {
        if (parameters.Validate(kind) is { } problem) throw new ArgumentException(problem);
        Kind = kind;
        Parameters = parameters;
        Labels = parameters.Order is { } order ? labels.Restrict(order) : labels;
        SparseSite = sparseSite;
        Reduction = parameters.ToReductionOptions(bosId, markerIds);
        Reduction.Validate();
    }

    private bool Samples => Kind == ConceptKind.Pca && Parameters.Source == PcaSource.Sample;

    /// <summary>The partial of a range of blocks (at least one).</summary>
    public NamedArrays Fold(IEnumerable<ActivationBlock> blocks)
    {
        if (Kind == ConceptKind.Pca && Parameters.Source == PcaSource.Decoder) throw new InvalidOperationException("a PCA of decoder rows folds no activations");
        NamedArrays? partial = null;
        foreach (var block in blocks)
        {
            var part = Samples
                ? PromptSample.FromBlock(block, Labels, Reduction, Parameters.MaxItems, Parameters.Seed).ToArrays()
                : LabelStatistics.FromBlock(block, Labels, Reduction).ToArrays();
            partial = partial is null ? part : Merge(partial, part);
        }
        return partial ?? throw new ArgumentException("no blocks to fold");
    }

    public NamedArrays Merge(NamedArrays a, NamedArrays b) => Samples
        ? PromptSample.FromArrays(a).Merge(PromptSample.FromArrays(b)).ToArrays()
        : LabelStatistics.FromArrays(a).Merge(LabelStatistics.FromArrays(b)).ToArrays();

    public ConceptOutcome Finish(NamedArrays partial)
    {
        if (Samples)
        {
            var sample = PromptSample.FromArrays(partial);
            return new ConceptOutcome(Kind, ReductionCounts.None, 0, Pca: ConceptPca.OfSample(sample, Parameters.Components));
        }
        var stats = LabelStatistics.FromArrays(partial);
        var outcome = new ConceptOutcome(Kind, stats.Reduction, stats.Unlabelled);
        return Kind switch
        {
            ConceptKind.ConceptMeans => outcome with { Means = ConceptMeans.Finish(stats) },
            ConceptKind.Contrast => outcome with
            {
                Contrast = Concepts.Contrast.Finish(stats, new ContrastOptions(Parameters.Baseline, Parameters.TopK, Parameters.RankBy, Parameters.Direction)),
            },
            ConceptKind.Selectivity => outcome with
            {
                Selectivity = Concepts.Selectivity.Finish(stats, new SelectivityOptions(
                    Parameters.Index ?? (SparseSite ? SelectivityIndex.Ratio : SelectivityIndex.DPrime), Parameters.TopK, Parameters.Exclude)),
            },
            _ => outcome with { Pca = ConceptPca.OfLabelMeans(stats, Parameters.Components) },
        };
    }

    /// <summary>A PCA of an SAE's decoder rows (<c>source: decoder</c>), one item per feature.</summary>
    public ConceptOutcome FinishDecoder(DenseMatrix decoderRows) =>
        Kind == ConceptKind.Pca && Parameters.Source == PcaSource.Decoder
            ? new ConceptOutcome(Kind, ReductionCounts.None, 0, Pca: ConceptPca.OfDecoder(decoderRows, Parameters.Components))
            : throw new InvalidOperationException("only a PCA with source: decoder decomposes decoder rows");
}
