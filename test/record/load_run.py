# Load one recorded run with Python's standard library only (sqlite3, struct, json).
# Usage: python3 load_run.py RUNS.sqlite RUN_ID  -> prints a JSON summary (read by python.test).
import json, sqlite3, struct, sys

con = sqlite3.connect(sys.argv[1])
run_id = int(sys.argv[2])
kind, status, config, seed = con.execute(
    "SELECT kind, status, config, seed FROM runs WHERE id = ?", (run_id,)).fetchone()

def f32(blob, shape):
    n = 1
    for d in shape:
        n *= d
    assert len(blob) == 4 * n, (len(blob), shape)
    return list(struct.unpack('<%df' % n, blob))  # little-endian float32, row-major

batches = []
for seq, ishape, inp, oshape, out in con.execute(
        "SELECT seq, input_shape, input, output_shape, output FROM batches WHERE run_id = ? ORDER BY seq", (run_id,)):
    ishape, oshape = json.loads(ishape), json.loads(oshape)
    batches.append((seq, ishape, f32(inp, ishape), oshape, f32(out, oshape)))
metrics = con.execute("SELECT name, step, value FROM metrics WHERE run_id = ? ORDER BY name, step", (run_id,)).fetchall()

print(json.dumps({
    "kind": kind, "status": status, "config": json.loads(config), "seed": seed,
    "seqs": [b[0] for b in batches],
    "input_shapes": [b[1] for b in batches], "output_shapes": [b[3] for b in batches],
    "first_input": batches[0][2], "first_output": batches[0][4],
    "output_sum": sum(sum(b[4]) for b in batches),
    "metrics": metrics,
}))
