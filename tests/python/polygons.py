"""Areas, IoU and containment of polygon pairs with Shapely (GEOS), the reference for
src/polygon.rs. Reads {"pairs": [[a, b], ...], "points": [[poly, [x, y]], ...]} as JSON
on stdin and writes {"pairs": [[area_a, area_b, iou], ...], "points": [bool, ...]}."""
import json
import sys

from shapely.geometry import Point, Polygon

data = json.load(sys.stdin)
pairs = []
for a, b in data["pairs"]:
    pa, pb = Polygon(a), Polygon(b)
    inter = pa.intersection(pb).area
    union = pa.area + pb.area - inter
    pairs.append([pa.area, pb.area, inter / union if union > 0 else 0.0])
points = [Polygon(p).covers(Point(q)) for p, q in data["points"]]
json.dump({"pairs": pairs, "points": points}, sys.stdout)
