"""ONNX Runtime's own INT8 calibrator, against anylabel's calibration table.

    python calib_reference.py --model M.onnx --tensors T.f32 --shape 1 3 H W --table TABLE

T.f32 holds the letterboxed images anylabel calibrated on (float32, one [1, 3, H, W]
tensor after another). onnxruntime.quantization's MinMax calibrator (create_calibrator,
collect_data, compute_data: what write_calibration_table writes from) runs the model on the
same tensors; TABLE, anylabel's FlatBuffers table, is read with ONNX Runtime's own reader
(onnxruntime.quantization.CalTableFlatBuffers). Prints JSON: the number of tensors each
side has, the reference's tensors missing from the table, and those whose range differs
from max(|lowest|, |highest|).
"""
import argparse
import json
import os
import tempfile

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, create_calibrator
from onnxruntime.quantization.CalTableFlatBuffers import TrtTable


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--tensors", required=True)
    ap.add_argument("--shape", type=int, nargs=4, required=True)
    ap.add_argument("--table", required=True)
    a = ap.parse_args()

    data = np.fromfile(a.tensors, dtype=np.float32).reshape(-1, *a.shape[1:])

    with tempfile.TemporaryDirectory() as tmp:
        cal = create_calibrator(
            a.model,
            augmented_model_path=os.path.join(tmp, "augmented.onnx"),
            calibrate_method=CalibrationMethod.MinMax,
            providers=["CPUExecutionProvider"],
        )
        name = cal.infer_session.get_inputs()[0].name

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.i = 0

            def get_next(self):
                if self.i >= len(data):
                    return None
                self.i += 1
                return {name: data[self.i - 1 : self.i]}

        cal.collect_data(Reader())
        ranges = cal.compute_data()

    reference = {}
    for key in ranges:
        lo, hi = ranges[key].range_value
        reference[key] = float(max(abs(float(np.asarray(lo).max())), abs(float(np.asarray(hi).max()))))

    buf = open(a.table, "rb").read()
    table = TrtTable.TrtTable.GetRootAsTrtTable(buf, 0)
    ours = {}
    for i in range(table.DictLength()):
        kv = table.Dict(i)
        ours[kv.Key().decode()] = float(kv.Value().decode())

    missing = sorted(k for k in reference if k not in ours)
    mismatched = sorted(
        (k, ours[k], reference[k])
        for k in reference
        if k in ours and np.float32(ours[k]) != np.float32(reference[k])
    )
    print(
        json.dumps(
            {
                "images": int(len(data)),
                "reference_tensors": len(reference),
                "table_tensors": len(ours),
                "missing": missing,
                "mismatched": mismatched[:20],
                "mismatched_count": len(mismatched),
                "only_in_table": len(set(ours) - set(reference)),
            }
        )
    )


if __name__ == "__main__":
    main()
