namespace Sweep.Analysis.Concepts;

/// <summary>
/// What one concept analysis gives at one site, as the concept tables store it (less the analysis, model and site): the
/// kind's results (one of <see cref="Means"/>, <see cref="Contrast"/>, <see cref="Selectivity"/>, <see cref="Pca"/>),
/// the reduction that made the items, what it did (<see cref="Counts"/>: prompts, items, prompts without the marker,
/// empty prompts) and how many items fell outside the analysis's labels (<see cref="Unlabelled"/>), and whether the
/// label order is a cycle (the report closes the loop of a PCA's points).
/// </summary>
public sealed record ConceptResult(ConceptKind Kind, Reduction Reduce, ReductionCounts Counts, long Unlabelled, bool Cyclic,
    IReadOnlyList<ConceptMean>? Means = null, ContrastResult? Contrast = null, SelectivityResult? Selectivity = null, ConceptPcaResult? Pca = null);
