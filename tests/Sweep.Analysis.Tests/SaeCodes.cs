using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Tests;

/// <summary>
/// Seeded SAE-like codes of two models on the same tokens: each token activates a few shared concepts
/// (concept c is feature MapA[c] of A and MapB[c] of B, with independent magnitudes) plus a few
/// unrelated features on each side. Non-negative; features outside the maps fire only as noise or never (dead).
/// </summary>
public sealed record SaeCodes(SparseRows A, SparseRows B, int[] MapA, int[] MapB)
{
    public static SaeCodes Generate(int tokens, int widthA, int widthB, int concepts, int conceptsPerToken, int noisePerToken, int seed)
    {
        var rng = new Random(seed);
        var mapA = Enumerable.Range(0, widthA).OrderBy(_ => rng.Next()).Take(concepts).ToArray();
        var mapB = Enumerable.Range(0, widthB).OrderBy(_ => rng.Next()).Take(concepts).ToArray();
        var a = new Builder(widthA);
        var b = new Builder(widthB);
        for (int t = 0; t < tokens; t++)
        {
            for (int k = 0; k < conceptsPerToken; k++)
            {
                // Zipf-like concept frequencies: low indices fire more often.
                int c = (int)(concepts * Math.Pow(rng.NextDouble(), 2));
                float strength = (float)(0.2 + 3 * rng.NextDouble());
                a.Add(mapA[c], strength * (float)(0.5 + rng.NextDouble()));
                b.Add(mapB[c], strength * (float)(0.5 + rng.NextDouble()));
            }
            for (int k = 0; k < noisePerToken; k++)
            {
                a.Add(rng.Next(widthA / 2), (float)rng.NextDouble());   // the upper halves stay quiet unless mapped
                b.Add(rng.Next(widthB / 2), (float)rng.NextDouble());
            }
            a.EndToken(); b.EndToken();
        }
        return new SaeCodes(a.Build(), b.Build(), mapA, mapB);
    }

    private sealed class Builder(int width)
    {
        private readonly List<int> _offsets = [0], _indices = [];
        private readonly List<float> _values = [];
        private readonly SortedDictionary<int, float> _token = [];

        public void Add(int feature, float value) => _token[feature] = _token.GetValueOrDefault(feature) + value;

        public void EndToken()
        {
            foreach (var (f, v) in _token) { _indices.Add(f); _values.Add(v); }
            _token.Clear();
            _offsets.Add(_indices.Count);
        }

        public SparseRows Build() => new(width, _offsets.ToArray(), _indices.ToArray(), _values.ToArray());
    }
}
