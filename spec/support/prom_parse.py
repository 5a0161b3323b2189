"""Parses Prometheus text (stdin) with the official client's parser and prints the families
as JSON: {"name": {"type": ..., "help": ..., "samples": [[sample_name, {labels}, value]]}}.
A text the parser refuses exits with status 1 and the parser's message."""
import importlib.util
import json
import math
import sys
import types

# The package's __init__ imports the whole client (http.server, the registry, ...), which
# takes most of this script's time, and the metrics specs run it once per scrape: the parser
# module is loaded on its own, from the package's folder (the same code, only fewer imports).
_spec = importlib.util.find_spec("prometheus_client")
if _spec is not None and _spec.submodule_search_locations:
    _pkg = types.ModuleType("prometheus_client")
    _pkg.__path__ = list(_spec.submodule_search_locations)
    sys.modules["prometheus_client"] = _pkg
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

try:
    out = {}
    for fam in text_string_to_metric_families(sys.stdin.read()):
        samples = []
        for s in fam.samples:
            v = s.value
            samples.append([s.name, s.labels, "+Inf" if v == math.inf else v])
        out[fam.name] = {"type": fam.type, "help": fam.documentation, "samples": samples}
except Exception as e:  # the parser's own error, for the spec to show
    print("unparsable: %s" % e, file=sys.stderr)
    sys.exit(1)
print(json.dumps(out))
