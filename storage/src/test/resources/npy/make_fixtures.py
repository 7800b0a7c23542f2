# Makes the .npy fixtures of NpyHeaderTest / NpyFileTest with numpy itself, so the Java side is checked
# against what numpy really writes. Run from this directory:  python3 make_fixtures.py
# (made with numpy 2.4.6; np.save's header layout has been stable since numpy 1.x).
import io
import numpy as np
import numpy.lib._format_impl as fmt

np.save("f32_2x3x4.npy", np.arange(24, dtype="<f4").reshape(2, 3, 4))
np.save("f16_5.npy", np.arange(5, dtype="<f2") / np.float16(4))          # 0, .25, .5, .75, 1
np.save("f32_7x1.npy", (np.arange(7, dtype="<f4") - 3).reshape(7, 1))
np.save("f32_0x3.npy", np.zeros((0, 3), dtype="<f4"))
np.save("f32_scalar.npy", np.float32(7.5))                                 # 0-d: shape ()
with open("f32_v2.npy", "wb") as f:
    fmt.write_array(f, np.arange(6, dtype="<f4").reshape(3, 2), version=(2, 0))
with open("f32_v3.npy", "wb") as f:
    fmt.write_array(f, np.arange(6, dtype="<f4").reshape(3, 2), version=(3, 0))
# error cases
np.save("f32_big_endian.npy", np.arange(6, dtype=">f4").reshape(2, 3))
np.save("f32_fortran.npy", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
np.save("f64_3.npy", np.arange(3, dtype="<f8"))
np.save("i32_3.npy", np.arange(3, dtype="<i4"))

# Header bytes alone, for shapes too big to save: one line per header, "descr|shape|version|hex".
# version "guess" is what np.save picks; "2.0"/"3.0" are forced as by write_array(version=...).
cases = [
    ("<f4", (3, 4), None), ("<f4", (5,), None), ("<f2", (), None), ("<f4", (0,), None),
    ("<f4", (2**31 + 10, 1), None), ("<f2", (600_000_000, 1024), None),
    ("<f4", (9223372036854775807 // 8,), None), ("<f4", (1,) * 32, None), ("<f4", (10**9, 7, 3, 1, 1), None),
    ("<f4", (3, 4), (2, 0)), ("<f2", (5,), (3, 0)), ("<f4", (), (2, 0)),
]
with open("headers.txt", "w") as out:
    for descr, shape, version in cases:
        buf = io.BytesIO()
        fmt._write_array_header(buf, {"descr": descr, "fortran_order": False, "shape": shape}, version)
        v = "guess" if version is None else "%d.%d" % version
        out.write("%s|%s|%s|%s\n" % (descr, ",".join(map(str, shape)), v, buf.getvalue().hex()))
