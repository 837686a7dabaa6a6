using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models;

/// <summary>
/// Scalars that live as long as the process, and <see cref="Plus(Tensor, Tensor)"/>, the addition that uses one.
/// <para>
/// Why: TorchSharp 0.107 hands a Scalar's native pointer to libtorch without keeping the managed Scalar reachable
/// during the call, and frees the c10::Scalar only from the finalizer. A Scalar made by an implicit conversion
/// (<c>t.pow(2)</c>, <c>t * 0.5</c>, <c>masked_fill(mask, double.NegativeInfinity)</c>, <c>torch.arange(n)</c>,
/// and the alpha of 1 that TorchSharp adds inside <c>a + b</c>, <c>a.add(b)</c> and <c>a.add_(b)</c>) can therefore
/// be collected and freed by a GC that another thread triggers while the op is still reading it: libtorch then
/// fails in <c>Scalar::toFloat</c> ("Expected false to be true"), or reads a wrong value.
/// </para>
/// <para>
/// So code under src/Models passes libtorch only held Scalars: one of these constants; a value fixed by a model's
/// config (an eps, an attention scale, a soft-cap) as a Scalar the model creates once and disposes with itself; or,
/// rarely, a Scalar held by a <c>using</c> until the call has returned. Additions are written <c>a.Plus(b)</c>.
/// Ops that take no Scalar stay as they are: <c>a - b</c>, <c>a * b</c> and <c>a / b</c> of two tensors,
/// <c>-a</c>, <c>a * s</c> and <c>a / s</c> with a held Scalar <c>s</c>, relu, gelu, silu, softmax, matmul,
/// <c>norm(dim)</c>.
/// </para>
/// </summary>
public static class HeldScalars
{
    public static readonly Scalar Zero = 0, One = 1, Two = 2, NegativeInfinity = double.NegativeInfinity;

    /// <summary><c>a + b</c> with the alpha of 1 held (the operator converts it implicitly).</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a + b</c> for a held Scalar <paramref name="b"/>, with the alpha of 1 held.</summary>
    public static Tensor Plus(this Tensor a, Scalar b) => a.add(b, One);
}
