using System.Buffers.Binary;
using System.Collections;
using System.IO.Compression;
using System.Text;
using Razorvine.Pickle;
using Razorvine.Pickle.Objects;

namespace Sweep.Models.Checkpoints;

/// <summary>
/// Reads the tensors of a PyTorch checkpoint as <c>torch.save</c> writes it (the zip format, PyTorch 1.6 and later):
/// a zip archive <c>{prefix}/data.pkl</c> (the pickled object: a dict of tensors, usually an OrderedDict state dict),
/// <c>{prefix}/data/{key}</c> (the raw bytes of each storage, little-endian) and <c>{prefix}/byteorder</c>.
/// In the pickle a tensor is <c>torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
/// backward_hooks[, metadata])</c> and its storage a persistent id <c>('storage', torch.FloatStorage, key, location,
/// numel)</c>; tensors that are views (a transpose, a slice of a larger storage) share a storage and are read through
/// their offset and strides.
///
/// Unpickling uses Razorvine.Pickle, which never runs Python code: classes other than the ones registered here become
/// plain dictionaries. TorchSharp.PyBridge (which wraps the same library) was evaluated first and not used: it reads
/// views wrongly (a transposed tensor fails, a slice of a larger storage crashes in libtorch) and builds libtorch
/// tensors where Sweep wants managed arrays.
/// </summary>
public static class PyTorchCheckpoint
{
    static PyTorchCheckpoint()
    {
        // Registered process-wide (Razorvine keeps one table); these names only ever mean PyTorch's own functions.
        Unpickler.registerConstructor("torch._utils", "_rebuild_tensor", new RebuildTensor());
        Unpickler.registerConstructor("torch._utils", "_rebuild_tensor_v2", new RebuildTensor());
        Unpickler.registerConstructor("torch._utils", "_rebuild_parameter", new RebuildParameter());
        Unpickler.registerConstructor("torch._utils", "_rebuild_parameter_with_state", new RebuildParameter());
        Unpickler.registerConstructor("collections", "OrderedDict", new OrderedDictConstructor());
    }

    /// <summary>
    /// The pickled object of the checkpoint at <paramref name="path"/>: dictionaries become <see cref="IDictionary"/>,
    /// with <paramref name="values"/> float32, float16 and bfloat16 tensors <see cref="HostTensor"/>, otherwise (and
    /// tensors of other dtypes always) <see cref="TensorInfo"/> (dtype and shape only, no storage read); other values
    /// what Razorvine makes of them.
    /// </summary>
    public static object Read(string path, bool values = true)
    {
        using var stream = File.OpenRead(path);
        var magic = new byte[4];
        if (stream.Read(magic) < 4 || magic[0] != 0x50 || magic[1] != 0x4b || magic[2] != 0x03 || magic[3] != 0x04)
            throw new ModelLoadException($"{path}: not a zip-format PyTorch checkpoint (written by torch.save before PyTorch 1.6, or not by torch.save at all), expected torch.save(state_dict, path) from PyTorch 1.6 or later");
        stream.Position = 0;
        ZipArchive archive;
        try { archive = new ZipArchive(stream, ZipArchiveMode.Read); }
        catch (InvalidDataException e) { throw new ModelLoadException($"{path}: not a readable zip archive ({e.Message})", e); }
        using (archive)
        {
            var pickle = archive.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                ?? throw new ModelLoadException($"{path}: no {{name}}/data.pkl in the archive, expected a torch.save checkpoint");
            var prefix = pickle.FullName[..^"data.pkl".Length];
            if (archive.GetEntry(prefix + "byteorder") is { } order)
            {
                using var reader = new StreamReader(order.Open(), Encoding.ASCII);
                var text = reader.ReadToEnd().Trim();
                if (text != "little") throw new ModelLoadException($"{path}: byteorder '{text}', expected little");
            }
            using var unpickler = new TorchUnpickler(archive, prefix, path, values);
            using var data = pickle.Open();
            try { return unpickler.load(data); }
            catch (PickleException e) { throw new ModelLoadException($"{path}: unreadable pickle ({e.Message})", e); }
            catch (Exception e) when (e is InvalidCastException or IndexOutOfRangeException or ArgumentException)
            {
                throw new ModelLoadException($"{path}: the pickle is not a PyTorch checkpoint Sweep can read ({e.Message})", e);
            }
        }
    }

    /// <summary>A storage as found in the archive: its element type (PyTorch storage class name) and raw bytes (null when not read).</summary>
    private sealed record Storage(string Type, string Key, byte[]? Bytes, string File);

    private sealed class TorchUnpickler(ZipArchive archive, string prefix, string file, bool values) : Unpickler
    {
        private readonly Dictionary<string, Storage> _storages = new(StringComparer.Ordinal);

        protected override object persistentLoad(object pid)
        {
            // ('storage', storage_type, key, location, numel)
            if (pid is not object[] { Length: >= 5 } id || id[0] as string != "storage")
                throw new ModelLoadException($"{file}: unknown persistent id in the pickle, expected PyTorch storages");
            var type = id[1] is ClassDictConstructor c ? c.name : id[1]?.ToString() ?? "?";
            var key = Convert.ToString(id[2], System.Globalization.CultureInfo.InvariantCulture)!;
            if (_storages.TryGetValue(key, out var known)) return known;
            var entry = archive.GetEntry($"{prefix}data/{key}")
                ?? throw new ModelLoadException($"{file}: storage {key} is missing from the archive ({prefix}data/{key})");
            if (!values) return _storages[key] = new Storage(type, key, null, file);
            if (entry.Length > Array.MaxLength)
                throw new ModelLoadException($"{file}: storage {key} holds {entry.Length} bytes, more than one array holds");
            var bytes = new byte[entry.Length];
            using (var s = entry.Open()) s.ReadExactly(bytes);
            return _storages[key] = new Storage(type, key, bytes, file);
        }
    }

    /// <summary><c>_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, ...)</c>.</summary>
    private sealed class RebuildTensor : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length < 4 || args[0] is not Storage storage)
                throw new PickleException("a tensor without a storage, expected torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)");
            long offset = Convert.ToInt64(args[1], System.Globalization.CultureInfo.InvariantCulture);
            long[] shape = Longs(args[2]), strides = Longs(args[3]);
            if (shape.Length != strides.Length) throw new PickleException($"a tensor of {shape.Length} dimensions with {strides.Length} strides");
            var what = $"{storage.File}: storage {storage.Key}";
            string dtype = TypeName(storage.Type);
            if (storage.Bytes is not { } bytes || dtype is not ("float32" or "float16" or "bfloat16")) return new TensorInfo(dtype, shape);
            var elements = Floats(bytes, dtype switch { "float32" => 4, "float16" => 2, _ => 3 });
            return new HostTensor(dtype, shape, HostTensor.Gather(elements, offset, shape, strides, what));
        }

        private static long[] Longs(object value) => value is object[] items
            ? items.Select(i => Convert.ToInt64(i, System.Globalization.CultureInfo.InvariantCulture)).ToArray()
            : throw new PickleException("a tensor size or stride that is not a tuple");

        /// <summary>Element bytes to float32: 4 = float32, 2 = float16, 3 = bfloat16 (2 bytes, the high half of a float32).</summary>
        private static float[] Floats(byte[] bytes, int kind)
        {
            int size = kind == 4 ? 4 : 2;
            var values = new float[bytes.Length / size];
            for (int i = 0; i < values.Length; i++)
                values[i] = kind switch
                {
                    4 => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4)),
                    2 => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(i * 2)),
                    _ => SafeTensors.Bf16ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i * 2))),
                };
            return values;
        }

        private static string TypeName(string storage) => storage.Replace("Storage", "", StringComparison.Ordinal) switch
        {
            "Float" => "float32",
            "Half" => "float16",
            "BFloat16" => "bfloat16",
            "Double" => "float64",
            "Long" => "int64",
            "Int" => "int32",
            "Short" => "int16",
            "Char" => "int8",
            "Byte" => "uint8",
            "Bool" => "bool",
            var t => t,
        };
    }

    /// <summary>An <c>nn.Parameter</c> saved directly (not through state_dict()): its data tensor.</summary>
    private sealed class RebuildParameter : IObjectConstructor
    {
        public object construct(object[] args) => args.Length > 0 && args[0] is HostTensor or TensorInfo ? args[0]
            : throw new PickleException("an nn.Parameter without a tensor");
    }

    private sealed class OrderedDictConstructor : IObjectConstructor
    {
        public object construct(object[] args) => new OrderedDict();
    }

    /// <summary>collections.OrderedDict: its items arrive through SETITEMS; its attributes (a state dict's <c>_metadata</c>) are not needed.</summary>
    private sealed class OrderedDict : Hashtable
    {
        // Called by Razorvine's BUILD opcode by name.
#pragma warning disable IDE1006, CA1822
        public void __setstate__(Hashtable state) { }
#pragma warning restore IDE1006, CA1822
    }
}
