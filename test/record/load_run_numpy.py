# Load one recorded run with sqlite3 and numpy.
# Usage: python3 load_run_numpy.py RUNS.sqlite RUN_ID  -> prints a JSON summary (read by python.test).
import json, sqlite3, sys
import numpy as np

con = sqlite3.connect(sys.argv[1])
run_id = int(sys.argv[2])
rows = con.execute(
    "SELECT seq, input_shape, input, output_shape, output FROM batches WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()
inputs = [np.frombuffer(inp, '<f4').reshape(json.loads(s)) for _, s, inp, _, _ in rows]
outputs = [np.frombuffer(out, '<f4').reshape(json.loads(s)) for _, _, _, s, out in rows]
X, Y = np.concatenate(inputs), np.concatenate(outputs)  # (samples, in channels), (samples, out channels)

print(json.dumps({
    "seqs": [r[0] for r in rows],
    "X_shape": list(X.shape), "Y_shape": list(Y.shape), "dtype": str(Y.dtype),
    "first_input": inputs[0].ravel().tolist(), "first_output": outputs[0].ravel().tolist(),
    "output_sum": float(Y.astype(np.float64).sum()),
}))
