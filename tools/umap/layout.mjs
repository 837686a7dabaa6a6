// A seeded 2-D UMAP layout for `sweep report` (src/Cli/Reports/UmapLayout.cs runs it with node).
// stdin: {"points": [[...], ...], "seed": 0, "neighbors": 15, "minDist": 0.1}; stdout: [[x, y], ...], one per point.
// umap-js draws every random number from the function it is given: a seeded mulberry32 makes the layout the same on
// every run of the same node version (V8's Math functions are its own, not the platform's).
import umapjs from 'umap-js';

const { UMAP } = umapjs;

function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const points = input.points;
if (!Array.isArray(points) || points.length < 3) {
  process.stderr.write('expected at least 3 points\n');
  process.exit(2);
}
const umap = new UMAP({
  nComponents: 2,
  nNeighbors: Math.max(2, Math.min(input.neighbors ?? 15, points.length - 1)),
  minDist: input.minDist ?? 0.1,
  random: mulberry32(input.seed ?? 0),
});
process.stdout.write(JSON.stringify(umap.fit(points)));
