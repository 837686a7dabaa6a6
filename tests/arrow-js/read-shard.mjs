// Opens an Arrow IPC file with the JavaScript apache-arrow package and prints what it read as JSON:
//   { format, batches, rows, metadata, fields: [{ name, type, nullable, metadata, children }], columns: { name: values } }
// float32 values are printed as their IEEE-754 bit patterns (unsigned 32-bit integers) and float16
// values as theirs (unsigned 16-bit integers), because JSON has no NaN, infinities or -0 and the check is
// bit for bit; uint16 (bfloat16 bits in Sweep shards) is printed as is. List columns give one array per row.
// Usage: node read-shard.mjs FILE
import { readFileSync } from "node:fs";
import { RecordBatchReader, Table, Type, Precision } from "apache-arrow";

const path = process.argv[2];
if (!path) {
  console.error("usage: node read-shard.mjs FILE");
  process.exit(2);
}

function describe(field) {
  return {
    name: field.name,
    type: String(field.type),
    nullable: field.nullable,
    metadata: Object.fromEntries(field.metadata),
    children: (field.type.children ?? []).map(describe),
  };
}

function values(vector) {
  const type = vector.type;
  if (type.typeId === Type.Float && type.precision === Precision.SINGLE) {
    const floats = vector.toArray();
    return Array.from(new Uint32Array(floats.buffer, floats.byteOffset, floats.length));
  }
  if (type.typeId === Type.Float && type.precision === Precision.HALF) {
    // apache-arrow hands float16 out as its raw bits; insist, so a reader that decoded them fails loudly.
    const halves = vector.toArray();
    if (!(halves instanceof Uint16Array)) throw new Error(`float16 values came back as ${halves.constructor.name}, expected raw Uint16Array bits`);
    return Array.from(halves);
  }
  if (type.typeId === Type.Int && type.bitWidth <= 32) return Array.from(vector.toArray());
  if (type.typeId === Type.List || type.typeId === Type.FixedSizeList)
    return Array.from({ length: vector.length }, (_, row) => values(vector.get(row)));
  throw new Error(`column type ${type} is not one a Sweep shard uses`);
}

try {
  const reader = RecordBatchReader.from(readFileSync(path));
  reader.open();
  const batches = [...reader];
  const table = new Table(reader.schema, batches);
  const fields = table.schema.fields;
  console.log(JSON.stringify({
    format: reader.isFile() ? "file" : "stream",
    batches: batches.length,
    rows: table.numRows,
    metadata: Object.fromEntries(table.schema.metadata),
    fields: fields.map(describe),
    columns: Object.fromEntries(fields.map(f => [f.name, values(table.getChild(f.name))])),
  }));
} catch (error) {
  console.error(`${path}: apache-arrow could not read it: ${error.message}`);
  process.exit(1);
}
