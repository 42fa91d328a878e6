"""Run by the SYSTEM python (/usr/bin/python3, Debian python3-qgis): loads layers through a QGIS
authentication configuration (method Basic), as a QGIS user who set one up would. Called by
test_access_qgis.py; prints one JSON line.

    qgis_auth_check.py SPEC.json   SPEC: {"user", "password", "layers": [{"name", "provider", "uri"}]}
    (each uri without authcfg: it is added here, with the id of the configuration made from user/password)
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsRasterLayer, QgsVectorLayer  # noqa: E402

app = QgsApplication([], False)
app.initQgis()
spec = json.load(open(sys.argv[1]))
auth = QgsApplication.authManager()
auth.setMasterPassword("master password of the test profile", True)
cfg = QgsAuthMethodConfig()
cfg.setName("geoportal node")
cfg.setMethod("Basic")
cfg.setConfig("username", spec["user"])
cfg.setConfig("password", spec["password"])
assert auth.storeAuthenticationConfig(cfg), "QGIS did not store the authentication configuration"
authcfg = cfg.id()

out = []
for layer_spec in spec["layers"]:
    provider = layer_spec["provider"]
    if provider == "wms":
        uri = "authcfg=%s&%s" % (authcfg, layer_spec["uri"])
        layer = QgsRasterLayer(uri, layer_spec["name"], provider)
    else:
        uri = "authcfg='%s' %s" % (authcfg, layer_spec["uri"])
        layer = QgsVectorLayer(uri, layer_spec["name"], provider)
    res = {"name": layer_spec["name"], "provider": provider, "valid": layer.isValid()}
    if layer.isValid() and isinstance(layer, QgsVectorLayer):
        res["count"] = layer.featureCount()
    out.append(res)
print(json.dumps(out, ensure_ascii=False), flush=True)
os._exit(0)  # QGIS 3.22 may crash tearing down network-backed layers; the results are printed already
