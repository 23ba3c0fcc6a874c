# Reads an .npz written by `rhil export --format npz` with Python's standard library only
# (zipfile + struct), as a user without numpy would. Usage: python3 load_npz.py FILE.npz
# Prints {"stored": bool, "crc_ok": bool, "entries": {name: {"descr", "shape", "values"}}};
# non-finite floats as the strings "NaN", "Infinity", "-Infinity" (JSON has none).
import ast, json, math, struct, sys, zipfile

def read_npy(data):
    assert data[:6] == b'\x93NUMPY', 'not an .npy file'
    assert (data[6], data[7]) == (1, 0), 'not .npy version 1.0'
    hlen = struct.unpack('<H', data[8:10])[0]
    header = ast.literal_eval(data[10:10 + hlen].decode('latin1'))
    assert (10 + hlen) % 64 == 0, 'data not 64-byte aligned'
    assert header['fortran_order'] is False
    shape = header['shape']
    n = 1
    for d in shape:
        n *= d
    code = {'<f4': 'f', '<f8': 'd', '<i8': 'q'}[header['descr']]
    body = data[10 + hlen:]
    assert len(body) == n * struct.calcsize(code), (len(body), shape)
    values = list(struct.unpack('<%d%s' % (n, code), body))
    return header['descr'], list(shape), values

def jsonable(x):
    if isinstance(x, float) and not math.isfinite(x):
        return 'NaN' if math.isnan(x) else ('Infinity' if x > 0 else '-Infinity')
    return x

with zipfile.ZipFile(sys.argv[1]) as z:
    infos = z.infolist()
    out = {
        'stored': all(i.compress_type == zipfile.ZIP_STORED for i in infos),
        'crc_ok': z.testzip() is None,
        'names': [i.filename for i in infos],
        'entries': {},
    }
    for i in infos:
        descr, shape, values = read_npy(z.read(i))
        out['entries'][i.filename[:-4]] = {'descr': descr, 'shape': shape, 'values': [jsonable(v) for v in values]}
print(json.dumps(out))
