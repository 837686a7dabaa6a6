// Reads a Parquet file with hyparquet (an implementation independent of the writer) and prints JSON:
//   { columns: [name...], rows: [[value...]...] }
// bigint values are printed as strings (JSON has no 64-bit integers), timestamps as ISO strings, lists as arrays.
// Usage: node read-parquet.mjs FILE
import { readFileSync } from "node:fs";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";

const path = process.argv[2];
if (!path) {
  console.error("usage: node read-parquet.mjs FILE");
  process.exit(2);
}

function plain(value) {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value, plain);
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value;
}

try {
  const bytes = readFileSync(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const metadata = parquetMetadata(file);
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  const objects = await parquetReadObjects({ file });
  console.log(JSON.stringify({ columns, rows: objects.map((o) => columns.map((c) => plain(o[c]))) }));
} catch (error) {
  console.error(`${path}: hyparquet could not read it: ${error.message}`);
  process.exit(1);
}
