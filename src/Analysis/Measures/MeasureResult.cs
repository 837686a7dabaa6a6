using Sweep.Analysis.Correlation;
using Sweep.Analysis.Features;
using Sweep.Analysis.Linear;

namespace Sweep.Analysis.Measures;

/// <summary>
/// One finished value — a number, or undefined with its reason (<see cref="Measurement"/>; stored as NULL with the
/// reason) — with the parameters that produced it (stored as the metric's params).
/// </summary>
public sealed record MeasureValue(string Measure, Measurement Result, long Count, IReadOnlyDictionary<string, object> Parameters)
{
    /// <summary>The number; null when undefined.</summary>
    public double? Value => Result.Value;
    public string? UndefinedReason => Result.UndefinedReason;
}

/// <summary>
/// One feature's k-th partner on the other side (the <c>feature_matches</c> table without the analysis and sites):
/// direction <see cref="AToB"/> or <see cref="BToA"/>; <paramref name="Match"/> null for a dead feature.
/// </summary>
public sealed record MatchRow(string Direction, int Feature, int Rank, int? Match, double Correlation, bool Mutual, bool Dead)
{
    public const string AToB = "a_to_b";
    public const string BToA = "b_to_a";

    /// <summary>Rank-1 rows for every feature in both directions, plus ranks 2..k of A → B when top-k asked for them.</summary>
    public static List<MatchRow> From(BestMatches m)
    {
        var rows = new List<MatchRow>(m.WidthA + m.WidthB);
        MatchRow Row(string direction, int feature, int rank, Match match, bool mutual, bool dead) =>
            new(direction, feature, rank, match.Index >= 0 ? match.Index : null, match.Correlation, mutual, dead);
        for (int a = 0; a < m.WidthA; a++)
        {
            var best = m.AToB[a];
            rows.Add(Row(AToB, a, 1, best, best.Index >= 0 && m.BToA[best.Index].Index == a, m.DeadA[a]));
            if (m.TopKAToB.Length > 0)
                for (int r = 1; r < m.TopKAToB[a].Length; r++) rows.Add(Row(AToB, a, r + 1, m.TopKAToB[a][r], false, false));
        }
        for (int b = 0; b < m.WidthB; b++)
        {
            var best = m.BToA[b];
            rows.Add(Row(BToA, b, 1, best, best.Index >= 0 && m.AToB[best.Index].Index == b, m.DeadB[b]));
        }
        return rows;
    }
}

/// <summary>What a measure's <see cref="Measure.Finish"/> produces: metric values and (for feature measures) match rows.</summary>
public sealed record MeasureResult(IReadOnlyList<MeasureValue> Values, IReadOnlyList<MatchRow> Matches)
{
    public MeasureResult(IReadOnlyList<MeasureValue> values) : this(values, []) { }

    /// <summary>What the <c>features</c> analysis found about its site (stored in the feature tables), or null.</summary>
    public FeatureOutcome? Features { get; init; }
    /// <summary>A concept measure's per-label results (the concept tables' rows, less analysis and site); null for every other measure.</summary>
    public Sweep.Analysis.Concepts.ConceptResult? Concepts { get; init; }
}

/// <summary>
/// Inputs a measure's finish needs besides activations, handed in as plain data by the pipeline (which does the I/O):
/// the two SAEs' decoder rows (d_sae x d_in, loaded only when asked for), and the token ids of
/// <see cref="Measure.TokenTexts"/>' texts.
/// </summary>
public sealed record SideInputs(Func<(DenseMatrix A, DenseMatrix B)>? Decoders = null, IReadOnlySet<int>? TokenIds = null)
{
    public static readonly SideInputs None = new();

    /// <summary>
    /// For a one-site measure on an SAE code site of a model with an unembedding: the SAE's decoder rows and the model's
    /// unembedding and final-norm gain, read when called (null otherwise).
    /// </summary>
    public Func<LogitWeights>? Logits { get; init; }
    /// <summary>A one-site measure's SAE decoder rows (d_sae x d_in), loaded only when asked for.</summary>
    public Func<DenseMatrix>? SiteDecoder { get; init; }
}

/// <summary>
/// Texts a measure needs as ids of the corpus tokenizer (each text that encodes to exactly one token counts), plus the
/// tokenizer's special tokens (BOS, EOS, PAD) when <see cref="WithSpecialTokens"/>. For the error a corpus without a
/// tokenizer gets: <see cref="Key"/> is the parameter that set the texts, <see cref="Purpose"/> what they serve
/// ("the non-concept filter") and <see cref="Off"/> what an empty list means ("filter off").
/// </summary>
public sealed record TokenTextsRequest(string Key, IReadOnlyList<string> Texts, string Purpose, string Off, bool WithSpecialTokens);
