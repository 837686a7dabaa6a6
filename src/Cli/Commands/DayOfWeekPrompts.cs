using System.Text;
using System.Text.Json;
using Sweep.Models;

namespace Sweep.Cli.Commands;

/// <summary>
/// The day-of-week study's inputs (Engels et al., arXiv 2405.14860): templated prompts that end in a day name (7
/// labels), a month name (12 labels) or a neutral word (label <c>neutral</c>), as a labelled jsonl corpus with fields
/// <c>label</c> and <c>group</c> (day | month | neutral), and a job over any Hugging Face model directory that asks for
/// the label means, the PCA of the day means and of the month means (cyclic), contrasts against neutral and the
/// specialists of each label. The concept word is the prompt's last word, so the last-token reduction reads the model
/// right after it; a marker reduction (<c>reduce: marker</c>) serves prompts where it sits mid-sentence.
/// </summary>
public static class DayOfWeekPrompts
{
    public static readonly string[] Days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    public static readonly string[] Months =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    private static readonly string[] DayTemplates =
    [
        "Let's meet on {0}", "The shop is closed on {0}", "My favourite day of the week is {0}", "The parcel will arrive on {0}",
        "We always go swimming on {0}", "The concert was moved to {0}", "She was born on a {0}", "The deadline is next {0}",
        "I will call you on {0}", "The market is open every {0}",
    ];

    private static readonly string[] MonthTemplates =
    [
        "The festival takes place in {0}", "She was born in {0}", "We moved house in {0}", "The season starts in {0}",
        "The exams are held every {0}", "Our trip is planned for {0}", "The report is due in {0}", "It always rains in {0}",
    ];

    /// <summary>Day-template sentences that end in an ordinary word instead: the neutral baseline.</summary>
    private static readonly string[] Neutral =
    [
        "Let's meet at the station", "The shop is closed for repairs", "My favourite thing in the kitchen is the kettle",
        "The parcel will arrive by post", "We always go swimming in the lake", "The concert was moved to the park",
        "She was born in a small village", "The deadline is written on the board", "I will call you from the office",
        "The market is open to everyone", "The festival takes place in the square", "We moved house with a van",
        "The season starts with a party", "The exams are held in the hall", "Our trip is planned by the school",
        "The report is due on the desk", "It always rains on the coast", "The book is on the shelf",
        "The dog is asleep in the garden", "The tea is ready in the pot",
    ];

    /// <summary>The prompts, one JSON object per line: <c>{"text": ..., "label": ..., "group": ...}</c>, days, then months, then neutral.</summary>
    public static string Corpus()
    {
        var lines = new StringBuilder();
        void Add(string text, string label, string group) =>
            lines.Append(JsonSerializer.Serialize(new { text, label, group })).Append('\n');
        foreach (var day in Days) foreach (var t in DayTemplates) Add(string.Format(t, day), day.ToLowerInvariant(), "day");
        foreach (var month in Months) foreach (var t in MonthTemplates) Add(string.Format(t, month), month.ToLowerInvariant(), "month");
        foreach (var sentence in Neutral) Add(sentence, "neutral", "neutral");
        return lines.ToString();
    }

    /// <summary>
    /// The job, with <paramref name="modelPath"/> as written and its sites: <c>hook_embed</c> and the residual stream after
    /// four evenly spaced blocks of a model of <paramref name="layers"/> layers (12 when the model is not known).
    /// </summary>
    public static string Job(string modelPath, int layers)
    {
        var blocks = new[] { layers / 4, layers / 2, 3 * layers / 4, layers - 1 }.Distinct().Order();
        var sites = string.Join(", ", new[] { "hook_embed" }.Concat(blocks.Select(l => $"blocks.{l}.hook_resid_post")));
        string Lower(IEnumerable<string> names) => string.Join(", ", names.Select(n => n.ToLowerInvariant()));
        return $$"""
            # The day-of-week study (Engels et al., arXiv 2405.14860), written by `sweep demo prompts`.
            # The concept analysis kinds (concept_means, contrast, selectivity, pca) are what the wiring of issue 12 will
            # accept (docs/jobs.md, "Concept analyses"); until it lands, `sweep validate` refuses them.
            version: 1
            name: days-of-week
            corpus:
              path: prompts.jsonl
              labels: [label, group]
              max_tokens: 32
            models:
              - name: model
                path: {{modelPath}}
            captures:
              - model: model
                sites: [{{sites}}]
            analyses:
              - name: label-means
                kind: concept_means
                reduce: last
              - name: day-circle
                kind: pca
                reduce: last
                order: [{{Lower(Days)}}]
                cyclic: true
                components: 3
              - name: month-circle
                kind: pca
                reduce: last
                order: [{{Lower(Months)}}]
                cyclic: true
              - name: against-neutral
                kind: contrast
                reduce: last
                baseline: neutral
                top_k: 20
              - name: specialists
                kind: selectivity
                reduce: last
                exclude: [neutral]
                top_k: 10
            execution:
              device: auto
              batch_size: 16
            output:
              store: .sweep/store
            """;
    }

    /// <summary>Writes <c>prompts.jsonl</c> and <c>days.yaml</c> into <paramref name="directory"/>; the model's config.json gives its layers.</summary>
    public static IReadOnlyList<string> Write(string directory, string? modelDirectory)
    {
        Directory.CreateDirectory(directory);
        int layers = 12;
        string modelPath = "path/to/hf-model";
        if (modelDirectory is not null)
        {
            layers = ModelDescriptor.Read(modelDirectory).Config.NumLayers;
            modelPath = Path.GetRelativePath(Path.GetFullPath(directory), Path.GetFullPath(modelDirectory)).Replace('\\', '/');
        }
        var corpus = Path.Combine(directory, "prompts.jsonl");
        var job = Path.Combine(directory, "days.yaml");
        File.WriteAllText(corpus, Corpus());
        File.WriteAllText(job, Job(modelPath, layers));
        return [corpus, job];
    }
}
