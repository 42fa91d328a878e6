"""Run by the SYSTEM python (/usr/bin/python3, Debian python3-qgis): loads layers in PyQGIS as a QGIS user
would and prints one JSON line per layer. Called as a subprocess by test_qgis.py.

    qgis_check.py SPEC.json   where SPEC is a list of {"name", "provider", "uri", "render": bool}

A spec with ``"basic": [user, password]`` loads the layer through a QGIS authentication configuration (the
Basic method, stored in the authentication database of QGIS_AUTH_DB_DIR_PATH), as a user would set it up.
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
    QgsSettings,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

app = QgsApplication([], False)
app.initQgis()
# the default network timeout (60 s) is shorter than what a test machine under load can take for WFS's
# capabilities + DescribeFeatureType + GetFeature while other nodes are being built
QgsSettings().setValue("qgis/networkAndProxy/networkTimeout", 240000)


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


_AUTH = {}


def authcfg(user, password):
    """The id of a Basic authentication configuration for ``user`` (made once)."""
    from qgis.core import QgsAuthMethodConfig

    if user not in _AUTH:
        am = QgsApplication.authManager()
        if not am.masterPasswordIsSet():
            am.setMasterPassword("master-password-of-the-test", True)
        cfg = QgsAuthMethodConfig()
        cfg.setName("geoportal-" + user)
        cfg.setMethod("Basic")
        cfg.setConfig("username", user)
        cfg.setConfig("password", password)
        stored = am.storeAuthenticationConfig(cfg)
        if isinstance(stored, tuple):  # QGIS >= 3.30 returns (ok, config)
            cfg = stored[1]
        _AUTH[user] = cfg.id()
    return _AUTH[user]


# the messages of QGIS's log panel (QgsError.summary() crashes QGIS 3.22 on an invalid WFS layer)
LOG = []
QgsApplication.messageLog().messageReceived.connect(lambda msg, tag, level: LOG.append("%s: %s" % (tag, msg)))

out = []
for spec in json.load(open(sys.argv[1])):
    seen = len(LOG)
    if spec.get("basic"):
        cid = authcfg(*spec["basic"])
        spec["uri"] += ("&authcfg=" + cid) if spec["provider"] == "wms" else (" authcfg='%s'" % cid)
    if spec["provider"] in ("wms", "gdal"):
        layer = QgsRasterLayer(spec["uri"], spec["name"], spec["provider"])
    else:
        layer = QgsVectorLayer(spec["uri"], spec["name"], spec["provider"])
    res = {"name": spec["name"], "provider": spec["provider"], "valid": layer.isValid()}
    if not layer.isValid():  # what QGIS's log panel tells its user, so that a failing test says why
        res["log"] = LOG[seen:]
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
