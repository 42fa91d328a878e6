"""Run by the SYSTEM python (/usr/bin/python3, Debian python3-qgis): loads layers in PyQGIS as a QGIS user
would and prints one JSON line per layer. Called as a subprocess by test_qgis.py.

    qgis_check.py SPEC.json   where SPEC is a list of {"name", "provider", "uri", "render": bool}
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsRasterLayer,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

app = QgsApplication([], False)
app.initQgis()


def render(layer, path):
    ms = QgsMapSettings()
    ms.setLayers([layer])
    ms.setExtent(layer.extent())
    ms.setOutputSize(QSize(300, 300))
    ms.setBackgroundColor(QColor(255, 255, 255, 0))
    job = QgsMapRendererParallelJob(ms)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    img.save(path)
    colours = set()
    for x in range(0, img.width(), 3):
        for y in range(0, img.height(), 3):
            c = img.pixel(x, y)
            if (c >> 24) & 0xFF:
                colours.add(c)
    return len(colours)


out = []
for spec in json.load(open(sys.argv[1])):
    if spec["provider"] in ("wms", "gdal"):
        layer = QgsRasterLayer(spec["uri"], spec["name"], spec["provider"])
    else:
        layer = QgsVectorLayer(spec["uri"], spec["name"], spec["provider"])
    res = {"name": spec["name"], "provider": spec["provider"], "valid": layer.isValid()}
    if layer.isValid() and isinstance(layer, QgsVectorLayer):
        res["count"] = layer.featureCount()
        res["renderer"] = layer.renderer().type() if layer.renderer() else None
        res["labels"] = bool(layer.labelsEnabled())
        res["fields"] = [f.name() for f in layer.fields()]
        res["aliases"] = {f.name(): layer.attributeAlias(i) for i, f in enumerate(layer.fields())}
    if layer.isValid() and spec.get("render"):
        res["colours"] = render(layer, spec.get("png", "/tmp/qgis-%s.png" % spec["name"]))
    out.append(res)
print(json.dumps(out, ensure_ascii=False), flush=True)
# QGIS 3.22 may crash while tearing down network-backed layers at exit; the results are printed already
os._exit(0)
