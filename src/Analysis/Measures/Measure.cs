namespace Sweep.Analysis.Measures;

/// <summary>What a measure reads at a site: dense activations or sparse (SAE) codes.</summary>
public enum SiteData { Dense, Sparse }

/// <summary>What one result of a measure is about: one site (statistics inside it) or a pair of sites (a comparison).</summary>
public enum Arity { Site, Pair }

/// <summary>The fixed facts of one analysis target: its sites' widths (<see cref="WidthB"/> null for a one-site measure) and what they hold.</summary>
public sealed record MeasureShape(int WidthA, int? WidthB, SiteData Data)
{
    public int RequireWidthB => WidthB ?? throw new ArgumentException("this measure compares two sites");
}

/// <summary>
/// A measure's mergeable partial statistics over some of the corpus. Opaque to everything but its measure, which
/// folds, merges, writes, reads and finishes it.
/// </summary>
public interface IPartial { }

/// <summary>
/// One analysis kind, owning its whole life: its parameters (the YAML keys a job may set, their defaults, checks and
/// canonical text), how it folds a range of aligned blocks into a partial, how two partials merge, how a partial is
/// written and read, and how the final partial becomes result rows. Everything is pure: blocks, side inputs and
/// partial streams come from the caller (Sweep.Pipeline), so no measure touches a file.
/// <para>
/// Contract. <see cref="Merge"/> is associative and commutative (up to float64 rounding of additions) and may consume
/// its inputs. A partial is made of <see cref="Pieces"/> independent pieces (e.g. column tiles of a correlation
/// matrix, so that no piece outgrows a memory budget): <see cref="Fold"/> makes one piece, <see cref="Merge"/> merges
/// the same piece of two partials, <see cref="Finish"/> consumes the final pieces in order, one at a time.
/// Result rows are built in <see cref="Finish"/> only.
/// </para>
/// </summary>
public abstract class Measure
{
    /// <summary>The YAML <c>kind</c>, e.g. <c>cka</c>. Two measures may share a kind if they read different <see cref="Data"/>.</summary>
    public abstract string Kind { get; }
    public abstract SiteData Data { get; }
    public abstract Arity Arity { get; }

    /// <summary>Every parameter at its default.</summary>
    public abstract MeasureParameters Defaults { get; }

    /// <summary>The YAML keys of the parameters, in canonical order (job digests and unit keys list them in it).</summary>
    public abstract IReadOnlyList<ParameterKey> Keys { get; }

    /// <summary>A problem with a combination of parameters (each key alone was valid), or null.</summary>
    public virtual ParameterProblem? Check(MeasureParameters parameters) => null;

    /// <summary>Texts the measure needs as token ids of the corpus tokenizer (the pipeline supplies them in <see cref="SideInputs.TokenIds"/>), or null.</summary>
    public virtual TokenTextsRequest? TokenTexts(MeasureParameters parameters) => null;

    /// <summary>Whether <see cref="Finish"/> needs the SAEs' decoder rows (<see cref="SideInputs.Decoders"/>, or <see cref="SideInputs.SiteDecoder"/> for a one-site measure).</summary>
    public virtual bool NeedsDecoders(MeasureParameters parameters) => false;

    /// <summary>
    /// Whether the measure is correct on sparse codes that may be negative (a temporal SAE's <c>pred</c> output,
    /// <see cref="Correlation.SparseRows.Signed"/>). A job that gives such a site to a measure that is not is refused at
    /// validation, naming the site; so a sparse measure says so only once its math holds for signed codes. Dense
    /// activations are signed anyway: this concerns <see cref="SiteData.Sparse"/> measures only.
    /// </summary>
    public virtual bool TakesSignedCodes => false;

    /// <summary>
    /// The parameter that makes the measure read each row's token id (<see cref="TokenRows.Token"/>), with why, or null
    /// when it does not. Rows of a prompt-level analysis are prompts, which have no one token, so such settings are
    /// refused there at validation.
    /// </summary>
    public virtual ParameterProblem? ReadsTokens(MeasureParameters parameters) => null;

    /// <summary>
    /// The parameters of a prompt-level analysis: token-level settings the job did not write (<paramref name="written"/>
    /// says which keys it wrote) are turned off, so the defaults work at prompt level; written ones stay and
    /// <see cref="ReadsTokens"/> refuses them.
    /// </summary>
    public virtual MeasureParameters AtPromptLevel(MeasureParameters parameters, Func<string, bool> written) => parameters;

    /// <summary>
    /// The corpus label field (<c>corpus.labels</c>) whose values the blocks' <see cref="MeasureBlock.Labels"/> must carry, or
    /// null for a measure that reads no labels. Its results depend on the labels, so its unit keys hold the labels' digest.
    /// </summary>
    public virtual string? LabelField(MeasureParameters parameters) => null;

    /// <summary>
    /// What is wrong with the parameters given the corpus (<paramref name="corpus"/>: its label fields and tokenizer,
    /// and once it is read the values of each label field), each problem at the key (or list item, <c>order[2]</c>)
    /// to point at; empty when nothing is.
    /// </summary>
    public virtual IReadOnlyList<ParameterProblem> CheckCorpus(MeasureParameters parameters, CorpusFacts corpus) => [];

    /// <summary>
    /// The parameters completed with what only the corpus tokenizer knows (a marker text's token ids, the BOS id), before
    /// anything is folded. What it adds is no YAML key: unit keys cover it through the tokenizer digest of the captures.
    /// </summary>
    public virtual MeasureParameters ForCorpus(MeasureParameters parameters, CorpusTokenizer tokenizer) => parameters;

    /// <summary>How many independent pieces a partial of this shape has (1 unless the partial is tiled).</summary>
    public virtual int Pieces(MeasureParameters parameters, MeasureShape shape) => 1;

    /// <summary>About how many bytes a whole partial of this shape takes (planners size ranges by it).</summary>
    public abstract long PartialBytes(MeasureParameters parameters, MeasureShape shape);

    /// <summary>Piece <paramref name="piece"/> of the partial of a range of blocks; <paramref name="blocks"/> may be enumerated several times.</summary>
    public abstract IPartial Fold(MeasureParameters parameters, MeasureShape shape, int piece, Func<IEnumerable<MeasureBlock>> blocks);

    /// <summary>The same piece of two partials of disjoint token sets, merged. May consume both.</summary>
    public abstract IPartial Merge(MeasureParameters parameters, IPartial a, IPartial b);

    public abstract void Write(IPartial partial, PartialWriter writer);

    public abstract IPartial Read(MeasureParameters parameters, MeasureShape shape, int piece, PartialReader reader);

    /// <summary>The result rows from the final partial's pieces (in piece order, each consumed once).</summary>
    public abstract MeasureResult Finish(MeasureParameters parameters, MeasureShape shape, IEnumerable<IPartial> pieces, SideInputs side);

    /// <summary>The parameters as "key=value" pairs in <see cref="Keys"/> order.</summary>
    public IReadOnlyList<(string Key, string Value)> Canonical(MeasureParameters parameters) =>
        Keys.Select(k => (k.Name, k.CanonicalOf(parameters))).ToList();

    public override string ToString() => $"{Kind} ({Data.ToString().ToLowerInvariant()})";
}

/// <summary>A measure with typed parameters and partials: implement this, and register the instance in <see cref="MeasureRegistry"/>.</summary>
public abstract class Measure<TParameters, TPartial> : Measure where TParameters : MeasureParameters where TPartial : class, IPartial
{
    public abstract TParameters DefaultParameters { get; }
    public sealed override MeasureParameters Defaults => DefaultParameters;

    public virtual ParameterProblem? Check(TParameters parameters) => null;
    public virtual TokenTextsRequest? TokenTexts(TParameters parameters) => null;
    public virtual bool NeedsDecoders(TParameters parameters) => false;
    public virtual ParameterProblem? ReadsTokens(TParameters parameters) => null;
    public virtual TParameters AtPromptLevel(TParameters parameters, Func<string, bool> written) => parameters;
    public virtual string? LabelField(TParameters parameters) => null;
    public virtual IReadOnlyList<ParameterProblem> CheckCorpus(TParameters parameters, CorpusFacts corpus) => [];
    public virtual TParameters ForCorpus(TParameters parameters, CorpusTokenizer tokenizer) => parameters;
    public virtual int Pieces(TParameters parameters, MeasureShape shape) => 1;
    public abstract long PartialBytes(TParameters parameters, MeasureShape shape);
    public abstract TPartial Fold(TParameters parameters, MeasureShape shape, int piece, Func<IEnumerable<MeasureBlock>> blocks);
    public abstract TPartial Merge(TParameters parameters, TPartial a, TPartial b);
    public abstract void Write(TPartial partial, PartialWriter writer);
    public abstract TPartial Read(TParameters parameters, MeasureShape shape, int piece, PartialReader reader);
    public abstract MeasureResult Finish(TParameters parameters, MeasureShape shape, IEnumerable<TPartial> pieces, SideInputs side);

    public sealed override ParameterProblem? Check(MeasureParameters parameters) => Check(Typed(parameters));
    public sealed override TokenTextsRequest? TokenTexts(MeasureParameters parameters) => TokenTexts(Typed(parameters));
    public sealed override bool NeedsDecoders(MeasureParameters parameters) => NeedsDecoders(Typed(parameters));
    public sealed override ParameterProblem? ReadsTokens(MeasureParameters parameters) => ReadsTokens(Typed(parameters));
    public sealed override MeasureParameters AtPromptLevel(MeasureParameters parameters, Func<string, bool> written) => AtPromptLevel(Typed(parameters), written);
    public sealed override string? LabelField(MeasureParameters parameters) => LabelField(Typed(parameters));
    public sealed override IReadOnlyList<ParameterProblem> CheckCorpus(MeasureParameters parameters, CorpusFacts corpus) => CheckCorpus(Typed(parameters), corpus);
    public sealed override MeasureParameters ForCorpus(MeasureParameters parameters, CorpusTokenizer tokenizer) => ForCorpus(Typed(parameters), tokenizer);
    public sealed override int Pieces(MeasureParameters parameters, MeasureShape shape) => Pieces(Typed(parameters), shape);
    public sealed override long PartialBytes(MeasureParameters parameters, MeasureShape shape) => PartialBytes(Typed(parameters), shape);
    public sealed override IPartial Fold(MeasureParameters parameters, MeasureShape shape, int piece, Func<IEnumerable<MeasureBlock>> blocks) =>
        Fold(Typed(parameters), shape, piece, blocks);
    public sealed override IPartial Merge(MeasureParameters parameters, IPartial a, IPartial b) => Merge(Typed(parameters), (TPartial)a, (TPartial)b);
    public sealed override void Write(IPartial partial, PartialWriter writer) => Write((TPartial)partial, writer);
    public sealed override IPartial Read(MeasureParameters parameters, MeasureShape shape, int piece, PartialReader reader) =>
        Read(Typed(parameters), shape, piece, reader);
    public sealed override MeasureResult Finish(MeasureParameters parameters, MeasureShape shape, IEnumerable<IPartial> pieces, SideInputs side) =>
        Finish(Typed(parameters), shape, new TypedPieces<TPartial>(pieces), side);

    private TParameters Typed(MeasureParameters parameters) => parameters as TParameters
        ?? throw new ArgumentException($"measure {Kind} takes {typeof(TParameters).Name}, not {parameters.GetType().Name}");
}
