using System.Text.Json;
using Npgsql;
using Sweep.Actors.Runs;
using Sweep.Analysis.Linear;
using Sweep.Analysis.Tests;
using Sweep.Jobs.Spec;
using Sweep.Models.Saes;
using Sweep.Models.Tokenizers;
using Sweep.Pipeline.Runs;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Integration.Tests.Concepts;

/// <summary>
/// Every concept measure through a real job — captured activations and SAE codes, map/merge/finalize units, result
/// files, the units' commits — equals tests/Sweep.Analysis.Tests/References/concepts.py (numpy, scipy's Welch t-test,
/// sklearn's PCA) computed from the shards the run stored, to 1e-6 relative; once planned as one unit per site and once
/// split into a map unit per corpus shard merged as a tree (<c>shards_per_unit: 1</c>), which also agree with each
/// other (and on the seeded sample's PCA) to 1e-9.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ConceptJobReferenceTests(ServerFixture server)
{
    private const double Relative = 1e-6;

    private static string Analyses(string split) => $"""
          - name: means
            kind: concept_means
            reduce: mean{split}
          - name: contrast
            kind: contrast
            reduce: marker
            marker: " on"
            baseline: neutral
            top_k: 6{split}
          - name: specialists
            kind: selectivity
            reduce: last
            top_k: 4{split}
          - name: geometry
            kind: pca
            reduce: every
            components: 3{split}
          - name: sample
            kind: pca
            source: sample
            reduce: every
            max_items: 50
            seed: 4
            components: 2{split}
          - name: code-contrast
            kind: contrast
            sites: sae
            reduce: last
            top_k: 6{split}
          - name: code-specialists
            kind: selectivity
            sites: sae
            reduce: mean
            top_k: 4{split}
          - name: decoder
            kind: pca
            sites: sae
            source: decoder
            components: 3{split}
        """;

    [Fact]
    public async Task Each_concept_measure_run_as_a_job_equals_the_numpy_scipy_reference_whether_split_per_shard_or_not()
    {
        using var workspace = new LabelledPromptsWorkspace();
        var connection = await server.CreateDatabaseAsync();
        var runs = new List<long>();
        await using (var database = await SweepDatabase.OpenAsync(connection))
            foreach (var split in new[] { "", "\n    shards_per_unit: 1" })
            {
                workspace.WriteJob(Analyses(split));
                var report = await LocalRunner.RunAsync(JobLoader.Load(workspace.JobPath), database, NoProgress.Instance, CancellationToken.None);
                runs.Add(report.RunId);
                var analysisUnits = (await database.GetUnitsAsync(report.RunId)).Where(u => u.Stage == "analysis").ToList();
                // 8 analyses over one site each; split, each is a map per shard (8 shards), merges and a finalize.
                Assert.Equal(split.Length == 0 ? 8 : 8 * (2 * 8 - 1), analysisUnits.Count);
            }

        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var results = await SweepDatabase.OpenAsync(connection);
        var data = await SiteData.ReadAsync(db, runs[0], workspace);
        var tokenizer = TokenizerLoader.Load(workspace.ModelPath);
        var marker = tokenizer.Encode(" on", addBos: false).ToArray();
        var names = workspace.Labels.ToArray();
        JsonElement Reference(DenseMatrix x, string reduction) =>
            PythonReference.Run("concepts.py", x, data.Index, new { labels = names, reduction, marker, bos = tokenizer.BosId, baseline = "neutral", components = 3 });

        foreach (long run in runs)
        {
            // concept_means: per label n, the mean and the unbiased variance of the prompts' mean vectors.
            var means = Reference(data.Dense, "mean");
            var meanRows = await Rows(db, run, "SELECT label, label_order, n, mean, variance FROM concept_means WHERE run_id = @run ORDER BY label_order",
                r => (Label: r.GetString(0), Order: r.GetInt32(1), N: r.GetInt64(2), Mean: r.GetFieldValue<double[]>(3), Variance: r.GetFieldValue<double[]>(4)));
            Assert.Equal(names, meanRows.Select(m => m.Label));
            Assert.Equal(means.GetProperty("counts").EnumerateArray().Select(c => c.GetInt64()), meanRows.Select(m => m.N));
            for (int l = 0; l < names.Length; l++)
            {
                Close(means.GetProperty("means")[l], meanRows[l].Mean, $"mean of {names[l]}");
                Close(means.GetProperty("variances")[l], meanRows[l].Variance, $"variance of {names[l]}");
            }

            // contrast (marker " on", against neutral) on dense activations, and against the rest on SAE codes.
            var contrasts = await results.GetContrastsAsync(run, 100);
            AssertContrast(Reference(data.Dense, "marker").GetProperty("contrast_baseline"), contrasts.Where(c => c.Analysis == "contrast").ToList(), names, "neutral", 6);
            AssertContrast(Reference(data.Codes, "last").GetProperty("contrast_rest"), contrasts.Where(c => c.Analysis == "code-contrast").ToList(), names, "rest", 6);

            // selectivity: d' on dense activations (last token), the ratio index on SAE codes (mean over tokens).
            var specialists = await results.GetSelectivityAsync(run, 100);
            AssertSpecialists(Reference(data.Dense, "last").GetProperty("selectivity"), "dprime", specialists.Where(s => s.Analysis == "specialists").ToList(), names, 4);
            AssertSpecialists(Reference(data.Codes, "mean").GetProperty("selectivity"), "ratio", specialists.Where(s => s.Analysis == "code-specialists").ToList(), names, 4);

            // PCA of the label means of every token (sklearn, with the largest loading of each component positive).
            AssertPca(Reference(data.Dense, "every").GetProperty("pca_means"), await Components(db, run, "geometry"), await LabelPoints(db, run, "geometry"), "geometry");

            // PCA of the SAE's decoder rows: every row an item (labelled a, b, c, d in turn only for the script's sake).
            var decoder = data.Decoder;
            var decoderIndex = new DenseMatrix(decoder.Rows, 4, [.. Enumerable.Range(0, decoder.Rows).SelectMany(i => new double[] { i, 0, 0, i % 4 })]);
            var decoderReference = PythonReference.Run("concepts.py", decoder, decoderIndex,
                new { labels = new[] { "a", "b", "c", "d" }, reduction = "last", baseline = "a", components = 3, marker = Array.Empty<int>() });
            var decoderPoints = await Rows(db, run, "SELECT item, component, value FROM pca_coordinates WHERE run_id = @run AND analysis = 'decoder' ORDER BY item, component",
                r => (Item: r.GetInt64(0), Component: r.GetInt32(1), Value: r.GetDouble(2)));
            AssertPca(decoderReference.GetProperty("pca_items"), await Components(db, run, "decoder"),
                [.. decoderPoints.GroupBy(p => p.Item).Select(g => g.Select(p => p.Value).ToArray())], "decoder");
        }

        // Split or not, the same rows; the seeded sample is the same sample.
        foreach (var query in new[]
        {
            "SELECT site, component, explained_variance_ratio AS v FROM pca_components WHERE run_id = @run AND analysis = 'sample' ORDER BY site, component",
            "SELECT coalesce(item, -1) || ':' || component, value AS v FROM pca_coordinates WHERE run_id = @run AND analysis = 'sample' ORDER BY item, label_order, component",
            "SELECT label || ':' || rank || ':' || feature, cohens_d AS v FROM contrasts WHERE run_id = @run ORDER BY analysis, label, rank",
            "SELECT preferred_label || ':' || rank || ':' || feature, selectivity AS v FROM selectivity WHERE run_id = @run ORDER BY analysis, preferred_label, rank",
            "SELECT measure || ':' || site_a, value AS v FROM metrics WHERE run_id = @run ORDER BY analysis, measure, site_a",
        })
        {
            var whole = await Rows(db, runs[0], query, r => (Key: r.GetString(0), Value: r.GetDouble(1)));
            var split = await Rows(db, runs[1], query, r => (Key: r.GetString(0), Value: r.GetDouble(1)));
            Assert.NotEmpty(whole);
            Assert.Equal(whole.Select(w => w.Key), split.Select(s => s.Key));
            foreach (var (w, s) in whole.Zip(split)) Assert.True(Math.Abs(w.Value - s.Value) <= 1e-9 * Math.Max(1, Math.Abs(w.Value)), $"{query}: {w.Key} {w.Value:R} whole, {s.Value:R} split");
        }
        // The marker reduction left out the prompts without " on", and said so.
        var items = await Rows(db, runs[1], "SELECT (params->>'without_marker')::int, (params->>'prompts')::int, value FROM metrics WHERE run_id = @run AND analysis = 'contrast' AND measure = 'concept_items'",
            r => (WithoutMarker: r.GetInt32(0), Prompts: r.GetInt32(1), Items: r.GetDouble(2)));
        Assert.True(items.Single().WithoutMarker > 0 && items.Single().Items == items.Single().Prompts - items.Single().WithoutMarker, $"{items.Single()}");
        Assert.Equal(50, (await Rows(db, runs[1], "SELECT DISTINCT item FROM pca_coordinates WHERE run_id = @run AND analysis = 'sample' AND item IS NOT NULL", r => r.GetInt64(0))).Count);

        // sweep export writes the concept tables (and the corpus labels) as Parquet that reads back as the database holds them.
        var outDir = Path.Combine(workspace.Root, "export");
        var export = await SweepProcess.RunAsync(workspace.Root, "export", $"{runs[0]}", "--db", connection, "--format", "parquet", "--out", outDir);
        Assert.True(export.ExitCode == 0, export.Stderr);
        foreach (var table in ResultTable.All.Where(t => ResultTable.ConceptTables.Contains(t.Name)))
        {
            var file = await ResultsJs.RunAsync("read-parquet.mjs", Path.Combine(outDir, table.Name + ".parquet"));
            var (columns, stored) = await FeaturePagesTests.DatabaseRowsAsync(connection, table, runs[0]);
            Assert.Equal(columns, file.GetProperty("columns").EnumerateArray().Select(c => c.GetString()));
            var read = file.GetProperty("rows").EnumerateArray().ToList();
            Assert.True(stored.Count > 0 && stored.Count == read.Count, $"{table.Name}: {stored.Count} rows stored, {read.Count} read");
            for (int r = 0; r < stored.Count; r++)
                for (int c = 0; c < columns.Count; c++)
                    FeaturePagesTests.AssertSame(stored[r][c], read[r][c], $"{table.Name} row {r} column {columns[c]}");
        }
    }

    /// <summary>The stored top-k of each label: exactly the reference's top-k by d (d &gt; 0, ties by lower feature), with its statistics.</summary>
    private static void AssertContrast(JsonElement reference, IReadOnlyList<ContrastRow> rows, string[] labels, string baseline, int topK)
    {
        foreach (var label in labels.Where(l => l != baseline))
        {
            var r = reference.GetProperty(label);
            var d = Values(r.GetProperty("d"));
            var expected = Enumerable.Range(0, d.Length).Where(j => d[j] is > 0).OrderByDescending(j => d[j]!.Value).ThenBy(j => j).Take(topK).ToList();
            var stored = rows.Where(c => c.Label == label).OrderBy(c => c.Rank).ToList();
            Assert.Equal(topK, expected.Count);
            Assert.Equal(expected, stored.Select(c => c.Feature));
            Assert.All(stored, c => Assert.Equal(baseline, c.Baseline));
            foreach (var c in stored)
            {
                int j = c.Feature;
                Close(Values(r.GetProperty("diff"))[j]!.Value, c.Difference, $"{label} difference {j}");
                Close(Values(r.GetProperty("t"))[j]!.Value, c.T!.Value, $"{label} t {j}");
                Close(Values(r.GetProperty("df"))[j]!.Value, c.Df!.Value, $"{label} df {j}");
                Close(Values(r.GetProperty("p"))[j]!.Value, c.P!.Value, $"{label} p {j}");
                Close(Values(r.GetProperty("q"))[j]!.Value, c.Q!.Value, $"{label} q {j}");
                Close(d[j]!.Value, c.CohensD!.Value, $"{label} d {j}");
            }
        }
    }

    /// <summary>The stored specialists of each label: the reference's features preferring it, by index, the first k, with the index.</summary>
    private static void AssertSpecialists(JsonElement reference, string index, IReadOnlyList<SelectivityRow> rows, string[] labels, int topK)
    {
        var preferred = reference.GetProperty("preferred").EnumerateArray().Select(p => p.GetInt32()).ToArray();
        var values = Values(reference.GetProperty(index));
        Assert.NotEmpty(rows);
        for (int l = 0; l < labels.Length; l++)
        {
            var expected = Enumerable.Range(0, preferred.Length).Where(j => preferred[j] == l && values[j] is not null)
                .OrderByDescending(j => values[j]!.Value).ThenBy(j => j).Take(topK).ToList();
            var stored = rows.Where(s => s.PreferredLabel == labels[l]).OrderBy(s => s.Rank).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, stored.Select(s => s.Feature));
            foreach (var s in stored)
            {
                Assert.Equal(index, s.IndexKind);
                Close(values[s.Feature]!.Value, s.Selectivity, $"{labels[l]} {index} of feature {s.Feature}");
            }
        }
    }

    private static void AssertPca(JsonElement reference, IReadOnlyList<(double Ratio, double Variance, double[] Loading)> components, IReadOnlyList<double[]> points, string what)
    {
        Assert.Equal(reference.GetProperty("ratio").GetArrayLength(), components.Count);
        for (int c = 0; c < components.Count; c++)
        {
            Close(reference.GetProperty("ratio")[c].GetDouble(), components[c].Ratio, $"{what} ratio {c}");
            Close(reference.GetProperty("explained_variance")[c].GetDouble(), components[c].Variance, $"{what} variance {c}");
            Close(reference.GetProperty("components")[c], components[c].Loading, $"{what} loading {c}");
        }
        var coordinates = reference.GetProperty("coordinates");
        Assert.Equal(coordinates.GetArrayLength(), points.Count);
        for (int i = 0; i < points.Count; i++) Close(coordinates[i], points[i], $"{what} point {i}");
    }

    private static async Task<List<(double Ratio, double Variance, double[] Loading)>> Components(NpgsqlConnection db, long run, string analysis) =>
        await Rows(db, run, $"SELECT explained_variance_ratio, explained_variance, loading FROM pca_components WHERE run_id = @run AND analysis = '{analysis}' ORDER BY component",
            r => (r.GetDouble(0), r.GetDouble(1), r.GetFieldValue<double[]>(2)));

    /// <summary>Each label's point (label order), its coordinates on every component.</summary>
    private static async Task<List<double[]>> LabelPoints(NpgsqlConnection db, long run, string analysis) =>
        [.. (await Rows(db, run, $"SELECT label_order, value FROM pca_coordinates WHERE run_id = @run AND analysis = '{analysis}' AND item IS NULL ORDER BY label_order, component",
            r => (Order: r.GetInt32(0), Value: r.GetDouble(1)))).GroupBy(p => p.Order).Select(g => g.Select(p => p.Value).ToArray())];

    private static async Task<List<T>> Rows<T>(NpgsqlConnection db, long run, string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var command = new NpgsqlCommand(sql, db);
        command.Parameters.AddWithValue("run", run);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync()) rows.Add(read(reader));
        return rows;
    }

    private static double?[] Values(JsonElement array) => [.. array.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? (double?)null : v.GetDouble())];

    private static void Close(JsonElement expected, double[] actual, string what)
    {
        var values = Values(expected);
        Assert.Equal(values.Length, actual.Length);
        double largest = values.Where(v => v is not null).Select(v => Math.Abs(v!.Value)).DefaultIfEmpty(0).Max();
        for (int i = 0; i < values.Length; i++) Close(values[i]!.Value, actual[i], $"{what}[{i}]", largest);
    }

    /// <summary>Within 1e-6 of the expected value (relative), or of the vector's largest magnitude times 1e-9 for values near zero.</summary>
    private static void Close(double expected, double actual, string what, double largest = 0) =>
        Assert.True(Math.Abs(expected - actual) <= Relative * Math.Abs(expected) + 1e-9 * largest + 1e-300, $"{what}: expected {expected:R}, got {actual:R}");

    /// <summary>What the run stored at the site, read back from its shard files: the dense activations, the SAE codes (densified), the token rows and labels.</summary>
    private sealed class SiteData
    {
        public required DenseMatrix Dense { get; init; }
        public required DenseMatrix Codes { get; init; }
        public required DenseMatrix Decoder { get; init; }
        /// <summary>Per row: seq, pos, token and the label index of its sequence.</summary>
        public required double[] LabelRows { get; init; }

        public DenseMatrix Index => new(LabelRows.Length / 4, 4, LabelRows);

        public static async Task<SiteData> ReadAsync(NpgsqlConnection db, long run, LabelledPromptsWorkspace workspace)
        {
            var shards = await Rows(db, run, "SELECT site, uri FROM shards WHERE run_id = @run ORDER BY site, shard_index", r => (Site: r.GetString(0), Uri: r.GetString(1)));
            var dense = shards.Where(s => s.Site == LabelledPromptsWorkspace.Site).Select(s => DenseShardFile.Read(s.Uri)).ToList();
            var sparse = shards.Where(s => s.Site == LabelledPromptsWorkspace.SaeSite).Select(s => SparseShardFile.Read(s.Uri)).ToList();
            Assert.True(dense.Count >= 8, $"the corpus should span at least 8 shards, has {dense.Count}");
            var labels = (await Rows(db, run, "SELECT seq, value FROM corpus_labels WHERE run_id = @run AND field = 'label' ORDER BY seq", r => (Seq: r.GetInt32(0), Value: r.GetString(1))))
                .ToDictionary(l => l.Seq, l => workspace.Labels.ToList().IndexOf(l.Value));
            var index = dense.SelectMany(s => Enumerable.Range(0, s.Rows).SelectMany(r => new double[] { s.Seq[r], s.Pos[r], s.Token[r], labels[s.Seq[r]] })).ToArray();
            int width = dense[0].Metadata.Width;
            var codes = sparse.SelectMany(s => new Sweep.Analysis.Correlation.SparseRows(LabelledPromptsWorkspace.DSae, s.Offsets, s.Indices, s.Values).ToDense()).ToArray();
            Assert.Equal(dense.SelectMany(s => s.Seq), sparse.SelectMany(s => s.Seq));
            using var sae = (SparseAutoencoder)SaeLoader.Load(SaeLoader.Describe(Path.Combine(workspace.Root, "sae")), "cpu");
            return new SiteData
            {
                Dense = DenseMatrix.FromFloats(dense.SelectMany(s => s.Act).ToArray(), index.Length / 4, width),
                Codes = DenseMatrix.FromFloats(codes, index.Length / 4, LabelledPromptsWorkspace.DSae),
                Decoder = DenseMatrix.FromFloats(sae.WDec, sae.Config.DSae, sae.Config.DIn),
                LabelRows = index,
            };
        }
    }
}
