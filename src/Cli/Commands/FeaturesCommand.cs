using System.CommandLine;
using Sweep.Actors.Hosting;
using Sweep.Cli.Features;
using Sweep.Storage.Database;

namespace Sweep.Cli.Commands;

/// <summary><c>sweep features [RUN] --sae NAME --feature N</c>: one feature's card from the database, in the terminal.</summary>
internal static class FeaturesCommand
{
    public static Command Create()
    {
        var run = RunSelection.Argument();
        var sae = new Option<string?>("--sae") { Description = "the SAE's name in the job (its code site {hook}/sae/NAME)" };
        var site = new Option<string?>("--site") { Description = "the site instead of an SAE name (a dense site, or to pick one of several code sites)" };
        var feature = new Option<int>("--feature") { Description = "the feature number", Required = true };
        var analysis = new Option<string?>("--analysis") { Description = "the features analysis, when several describe the site" };
        var database = CommonOptions.Database();
        var home = CommonOptions.Home();
        var command = new Command("features", "Print one feature's card: statistics, histogram, top contexts, co-active partners, logit effects, Neuronpedia link")
        {
            run, sae, site, feature, analysis, database, home,
        };
        command.SetAction((parse, ct) => Failures.ReportAsync(async () =>
        {
            await using var session = await DatabaseSession.OpenAsync(
                DatabaseSession.ChooseConnection(parse.GetValue(database), null), parse.GetValue(home)!, ct);
            var record = await RunSelection.FindAsync(session, parse.GetValue(run), ct);
            var chosen = Choose(await session.Database.GetFeatureSitesAsync(record.RunId, ct), record.RunId,
                parse.GetValue(sae), parse.GetValue(site), parse.GetValue(analysis));
            int n = parse.GetValue(feature);
            if (n < 0 || n >= chosen.Width)
                throw new ArgumentException($"--feature {n} is outside 0..{chosen.Width - 1} ({chosen.Model} {chosen.Site} has {chosen.Width} features)");
            Console.Write(FeatureCardText.Render(await session.Database.GetFeatureCardAsync(record.RunId, chosen, n, ct), n));
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>The one feature site the options name; none or several is a one-line error listing what there is.</summary>
    private static FeatureSiteRow Choose(IReadOnlyList<FeatureSiteRow> sites, long runId, string? sae, string? site, string? analysis)
    {
        if (sae is null && site is null) throw new ArgumentException("name the SAE (--sae NAME) or the site (--site SITE)");
        var matching = sites.Where(s => (sae is null || s.Sae == sae) && (site is null || s.Site == site) && (analysis is null || s.Analysis == analysis)).ToList();
        string Known() => sites.Count == 0 ? "run " + runId + " has no features analysis results"
            : "it has: " + string.Join(", ", sites.Select(s => $"{s.Sae ?? "-"} ({s.Model} {s.Site}, analysis {s.Analysis})"));
        return matching.Count switch
        {
            1 => matching[0],
            0 => throw new KeyNotFoundException($"no feature statistics for {(sae is null ? $"site {site}" : $"SAE {sae}")} in run {runId}; {Known()}"),
            _ => throw new ArgumentException($"{matching.Count} feature sites match, add --site or --analysis; {Known()}"),
        };
    }
}
