using Sweep.Analysis.Linear;
using Sweep.Analysis.Similarity;

namespace Sweep.Analysis.Matching;

/// <summary>
/// An observed similarity against a random baseline: mean and (population) std of the N baseline values, and the
/// permutation p-value p = (1 + #{baseline ≥ observed}) / (N + 1): the observed pairing counts as one of the draws
/// (Phipson and Smyth 2010, "Permutation p-values should never be zero"), so p is never 0 and its smallest value,
/// 1/(N + 1), says how many draws were made (N = 99 cannot show p &lt; 0.01; N = 999 reaches 0.001).
/// </summary>
public sealed record BaselineResult(double Observed, double Mean, double Std, double PValue, int Permutations, int Seed);

/// <summary>The space-similarity measures compared on paired decoder rows.</summary>
public enum PairedMeasure { Svcca, Rsa }

/// <summary>
/// Lan et al.'s space similarity of paired features: rows of the decoder matrices (one row per feature,
/// columns the model's residual dimensions; the rows are the items) are taken for the matched pairs — row
/// A[aₖ] beside row B[bₖ] — and compared with SVCCA or RSA. Baselines, seeded:
/// <list type="bullet">
/// <item><b>shuffled pairings</b>: the same A rows against a random permutation of the same B rows;</item>
/// <item><b>random subsets</b>: as many A and B features drawn uniformly without replacement from all features.</item>
/// </list>
/// </summary>
public static class PairedSimilarity
{
    /// <summary>The measure's number; an undefined one (a constant set of decoder rows) throws <see cref="UndefinedMeasureException"/>: a baseline needs numbers.</summary>
    public static double Measure(DenseMatrix x, DenseMatrix y, PairedMeasure measure, double keepVariance = Svcca.DefaultKeepVariance,
        InnerDissimilarity inner = InnerDissimilarity.Correlation, OuterCorrelation outer = OuterCorrelation.Spearman) => measure switch
    {
        PairedMeasure.Svcca => Svcca.Compute(x, y, keepVariance).Number,
        _ => Rsa.Compute(x, y, inner, outer).Number,
    };

    public static (BaselineResult Shuffled, BaselineResult Subsets) Compare(DenseMatrix decoderA, DenseMatrix decoderB,
        IReadOnlyList<FeaturePair> pairs, Func<DenseMatrix, DenseMatrix, double> measure, int permutations = 100, int seed = 0)
    {
        var a = decoderA.SelectRows(pairs.Select(p => p.A).ToList());
        var bRows = pairs.Select(p => p.B).ToList();
        double observed = measure(a, decoderB.SelectRows(bRows));

        // Every draw is made first, in one seeded sequence (all shufflings, then all subsets), so the baselines do not
        // depend on how the evaluations below are spread over threads.
        var rng = new Random(seed);
        var pairings = new int[permutations][];
        for (int k = 0; k < permutations; k++)
        {
            pairings[k] = bRows.ToArray();
            rng.Shuffle(pairings[k]);
        }
        var draws = new (int[] A, int[] B)[permutations];
        for (int k = 0; k < permutations; k++) draws[k] = (Draw(rng, decoderA.Rows, pairs.Count), Draw(rng, decoderB.Rows, pairs.Count));

        var shuffled = new double[permutations];
        var subsets = new double[permutations];
        try
        {
            Parallel.For(0, 2 * permutations, i =>
            {
                if (i < permutations) shuffled[i] = measure(a, decoderB.SelectRows(pairings[i]));
                else subsets[i - permutations] = measure(decoderA.SelectRows(draws[i - permutations].A), decoderB.SelectRows(draws[i - permutations].B));
            });
        }
        catch (AggregateException e)
        {
            // The caller sees the measure's own exception (an undefined measure, a linear-algebra failure), as before.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return (Summarise(observed, shuffled, seed), Summarise(observed, subsets, seed));
    }

    public static BaselineResult Summarise(double observed, double[] baseline, int seed)
    {
        double mean = baseline.Average();
        double std = Math.Sqrt(baseline.Sum(v => (v - mean) * (v - mean)) / baseline.Length);
        double p = (1.0 + baseline.Count(v => v >= observed)) / (baseline.Length + 1);
        return new BaselineResult(observed, mean, std, p, baseline.Length, seed);
    }

    private static int[] Draw(Random rng, int population, int count)
    {
        var all = Enumerable.Range(0, population).ToArray();
        rng.Shuffle(all);
        return all[..count];
    }
}
