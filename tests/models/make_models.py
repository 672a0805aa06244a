"""Generates the small ONNX models the tests use: detection heads with known outputs.

Each model ignores its input's content (it multiplies the input's mean by zero, so the
output still depends on the batch size) and outputs a constant tensor, so a test knows
exactly which boxes anylabel must find after NMS and after mapping back from the
letterbox. They are written by us, for testing; run with the `onnx` package installed:

    python3 tests/models/make_models.py tests/models
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def constant_head(name, rows, height="height", width="width", batch="batch", names=None, extra_meta=None):
    rows = np.asarray(rows, dtype=np.float32)[None]  # [1, N, K] or [1, K, N]
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, height, width])
    y = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [batch, rows.shape[1], rows.shape[2]])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["zeros"]),
        helper.make_node("Unsqueeze", ["zeros", "axes12"], ["zeros3"]),
        helper.make_node("Add", ["zeros3", "rows"], ["output0"]),
    ]
    inits = [
        numpy_helper.from_array(np.zeros((), np.float32), "zero"),
        numpy_helper.from_array(np.array([1, 2], np.int64), "axes12"),
        numpy_helper.from_array(rows, "rows"),
    ]
    graph = helper.make_graph(nodes, name, [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="anylabel tests")
    model.ir_version = 8
    meta = dict(extra_meta or {})
    if names:
        meta["names"] = repr(dict(enumerate(names)))
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    return model


def main(out):
    # YOLOv5: [B, N, 5 + 3], rows of cx, cy, w, h, objectness, 3 class scores, in pixels of
    # a 640×640 input. For a 640×480 image the letterbox adds 80 rows on top.
    v5 = [
        [150, 230, 100, 100, 0.90, 0.90, 0.05, 0.05],  # 0.81 cat -> [100, 100, 200, 200]
        [155, 235, 100, 100, 0.80, 0.90, 0.10, 0.00],  # 0.72 cat, IoU 0.82 with the first: dropped
        [155, 235, 100, 100, 0.80, 0.10, 0.90, 0.00],  # 0.72 dog: kept unless --agnostic
        [400, 300, 50, 60, 0.50, 0.10, 0.10, 0.60],  # 0.30 bird -> [375, 190, 425, 250]
        [500, 500, 20, 20, 0.20, 1.00, 0.00, 0.00],  # objectness below 0.25: dropped
        [630, 90, 40, 40, 0.95, 0.00, 0.00, 0.95],  # 0.9025 bird, clipped -> [610, 0, 640, 30]
    ]
    onnx.save(constant_head("yolov5_head", v5, names=["cat", "dog", "bird"]), f"{out}/yolov5_head.onnx")

    # NMS-free (YOLOv10/26): [B, N, 6], rows of x1, y1, x2, y2, score, class, for a fixed
    # 320×320 input. A 640×480 image is scaled by 0.5, with 40 rows of padding on top.
    v10 = [
        [50, 90, 100, 140, 0.90, 1],  # b -> [100, 100, 200, 200]
        [50, 90, 100, 140, 0.20, 0],  # below 0.25: dropped
        [10, 50, 20, 60, 0.50, 2],  # c -> [20, 20, 40, 40]
        [0, 0, 0, 0, 0.0, 0],
        [0, 0, 0, 0, 0.0, 0],
    ]
    onnx.save(
        constant_head("yolov10_head", v10, height=320, width=320, names=["a", "b", "c"]),
        f"{out}/yolov10_head.onnx",
    )

    # An output that is no detection head: [B, 7].
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    y = helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 7])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], axes=[2, 3], keepdims=0),
        helper.make_node("Slice", ["m", "s0", "s1", "s2"], ["m1"]),
        helper.make_node("Concat", ["m", "m", "m1"], ["output0"], axis=1),
    ]
    inits = [
        numpy_helper.from_array(np.array([0], np.int64), "s0"),
        numpy_helper.from_array(np.array([1], np.int64), "s1"),
        numpy_helper.from_array(np.array([1], np.int64), "s2"),
    ]
    graph = helper.make_graph(nodes, "not_a_head", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, f"{out}/classifier_output.onnx")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
